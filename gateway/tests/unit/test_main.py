"""``python -m gateway``: how uvicorn is started."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from gateway import __main__ as entry


def test_uvicorn_does_not_rewrite_the_client_address(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options))
    monkeypatch.setenv("GATEWAY_WORKERS", "1")
    monkeypatch.setenv("GATEWAY_SHUTDOWN_GRACE_SECONDS", "7.5")
    monkeypatch.setenv("GATEWAY_MAX_CONCURRENCY", "250")
    assert entry.main() == 0
    assert started["timeout_graceful_shutdown"] == 8  # uvicorn takes whole seconds
    # X-Forwarded-For is GATEWAY_TRUSTED_PROXIES' business alone: uvicorn's proxy headers
    # (on by default, trusting loopback) would let a local peer pick its rate-limit identity.
    assert started["proxy_headers"] is False
    assert started["server_header"] is False
    # Slow-header connections are held until this many, then refused (503), not piled up.
    assert started["limit_concurrency"] == 250
