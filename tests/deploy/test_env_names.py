"""Every <SERVICE>_* variable that compose or the Helm chart sets is one the service reads.

The settings classes ignore unknown variables (extra="ignore"), so a misspelt or dropped
setting would otherwise be silently without effect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from auth_svc.config import AuthSettings
from billing_svc.config import BillingSettings
from email_svc.config import EmailSettings
from gateway.config import GatewaySettings

from .test_helm import TEST_VALUES, render

REPO = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[BaseSettings]] = {
    "AUTH_": AuthSettings,
    "BILLING_": BillingSettings,
    "EMAIL_": EmailSettings,
    "GATEWAY_": GatewaySettings,
}


def _unknown(variables: dict[str, Any]) -> list[str]:
    unknown = []
    for name in variables:
        for prefix, settings in SETTINGS.items():
            if name.startswith(prefix):
                field = name.removeprefix(prefix).lower()
                if field not in settings.model_fields:
                    unknown.append(name)
    return sorted(unknown)


def _compose_environments() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    found = {}
    for name, service in compose["services"].items():
        if "TOLLGATE_REGISTRY" not in service.get("image", "TOLLGATE_REGISTRY"):
            continue  # another project's image (PgBouncer's AUTH_TYPE is none of auth-svc's)
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        found[name] = environment
    return found


@pytest.mark.parametrize("service", sorted(_compose_environments()))
def test_compose_sets_only_variables_the_services_read(service: str) -> None:
    assert _unknown(_compose_environments()[service]) == []


def test_helm_sets_only_variables_the_services_read() -> None:
    for doc in render(TEST_VALUES):
        if doc["kind"] == "ConfigMap":
            assert _unknown(doc.get("data") or {}) == [], doc["metadata"]["name"]


def test_the_check_catches_a_misspelt_variable() -> None:
    assert _unknown({"GATEWAY_SHUTDOWN_GRACE": "1", "BILLING_MAX_AMOUNT": "5"}) == [
        "GATEWAY_SHUTDOWN_GRACE"
    ]
