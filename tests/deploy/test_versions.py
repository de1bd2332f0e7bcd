"""What the tests check with is what runs: promtool and amtool against the Prometheus and
Alertmanager images compose runs, the Helm CLI in CI against the Helm SDK the chart tests
use, and the PostgreSQL of CI against compose's."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    return loaded


def image_version(compose: dict[str, Any], service: str) -> str:
    image = compose["services"][service]["image"]
    match = re.fullmatch(r"[^:@]+:v?(\d+\.\d+\.\d+)", image)
    assert match, f"{service}: {image} is not pinned to a release"
    return match.group(1)


def tool_version(run: Run, *command: str) -> str:
    result = run(*command, "--version")
    text = result.stdout + result.stderr
    match = re.search(r"version (\d+\.\d+\.\d+)", text)
    assert result.returncode == 0, text
    assert match, text
    return match.group(1)


def test_promtool_is_the_prometheus_that_compose_runs(
    compose: dict[str, Any], tool: Callable[[str, str], str], run: Run
) -> None:
    promtool = tool("promtool", "apt-get install --no-install-recommends prometheus")
    assert tool_version(run, promtool) == image_version(compose, "prometheus")


def test_amtool_is_the_alertmanager_that_compose_runs(
    compose: dict[str, Any], tool: Callable[[str, str], str], run: Run
) -> None:
    amtool = tool("amtool", "apt-get install --no-install-recommends prometheus-alertmanager")
    assert tool_version(run, amtool) == image_version(compose, "alertmanager")


def test_ci_deploys_with_the_helm_the_chart_is_tested_with(ci: dict[str, Any]) -> None:
    steps = ci["jobs"]["deploy-kubernetes"]["steps"]
    setup = next(s for s in steps if s.get("uses", "").startswith("azure/setup-helm@"))
    assert setup["with"]["version"] == helm.helm_sdk_version()


def test_ci_tests_against_the_postgresql_compose_runs(
    ci: dict[str, Any], compose: dict[str, Any]
) -> None:
    tested = ci["jobs"]["test"]["services"]["postgres"]["image"]
    assert tested == compose["services"]["postgres"]["image"]
    assert ci["jobs"]["test"]["services"]["redis"]["image"] == compose["services"]["redis"]["image"]
