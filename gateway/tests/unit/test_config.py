"""Settings from GATEWAY_* variables."""

from __future__ import annotations

import pytest

from gateway.config import GatewaySettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = GatewaySettings()
    assert settings.http_port == 8080
    assert settings.redis_key_prefix == "tollgate:"
    assert settings.body_limit_bytes == 1024 * 1024
    assert settings.workers >= 1
    assert settings.web_dir.parts[-2:] == ("web", "dist")


def test_lists_from_comma_separated_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ALLOW_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", '["10.0.0.0/8"]')
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_PER_MINUTE", "100000")
    settings = GatewaySettings()
    assert settings.cors_allow_origins == ["https://a.example", "https://b.example"]
    assert settings.trusted_proxies == ["10.0.0.0/8"]
    assert settings.rate_limit_per_minute == 100000
