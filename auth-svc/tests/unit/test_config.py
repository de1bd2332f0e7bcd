from __future__ import annotations

import os
from datetime import timedelta

import pytest
from pydantic import ValidationError

from auth_svc.config import AuthSettings


def test_defaults_follow_the_conventions(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AUTH_")]:
        monkeypatch.delenv(name)
    settings = AuthSettings()
    assert (settings.grpc_port, settings.http_port) == (50051, 9101)
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/auth"
    assert settings.redis_key_prefix == "tollgate:"
    assert (settings.jwt_issuer, settings.jwt_audience) == ("tollgate-auth", "tollgate")
    assert settings.access_ttl == timedelta(minutes=15)
    assert settings.refresh_ttl == timedelta(days=30)
    assert settings.bcrypt_cost == 12
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.email_addr == "127.0.0.1:50053"
    assert settings.email_verification_ttl == timedelta(hours=48)


def test_environment_with_the_auth_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_BCRYPT_COST", "4")
    monkeypatch.setenv("AUTH_ACCESS_TTL", "60")
    monkeypatch.setenv("AUTH_REFRESH_TTL", "P7D")
    monkeypatch.setenv("AUTH_OUTBOX_POLL_SECONDS", "0.2")
    monkeypatch.setenv("AUTH_PUBLIC_URL", "")  # the launcher's "no gateway"
    settings = AuthSettings()
    assert settings.bcrypt_cost == 4
    assert settings.access_ttl == timedelta(seconds=60)
    assert settings.refresh_ttl == timedelta(days=7)
    assert settings.outbox_poll_seconds == 0.2
    assert settings.public_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    "overrides",
    [
        {"bcrypt_cost": 3},
        {"public_url": "tollgate.example"},
        {"outbox_lease_seconds": 5, "outbox_send_timeout_seconds": 10},
        {"access_ttl": timedelta(days=31)},
    ],
)
def test_inconsistent_settings_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AuthSettings(**overrides)  # type: ignore[arg-type]
