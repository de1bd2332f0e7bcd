"""``python -m gateway``: how uvicorn is started."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import uvicorn

from gateway import __main__ as entry


def test_uvicorn_does_not_rewrite_the_client_address(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options))
    monkeypatch.setenv("GATEWAY_WORKERS", "1")
    monkeypatch.setenv("GATEWAY_SHUTDOWN_GRACE_SECONDS", "7.5")
    assert entry.main() == 0
    assert started["timeout_graceful_shutdown"] == 8  # uvicorn takes whole seconds
    # X-Forwarded-For is GATEWAY_TRUSTED_PROXIES' business alone: uvicorn's proxy headers
    # (on by default, trusting loopback) would let a local peer pick its rate-limit identity.
    assert started["proxy_headers"] is False
    assert started["server_header"] is False


def test_the_app_factory_traces_redis_calls() -> None:
    # In a fresh process: instrumentation is process-wide state.
    script = (
        "from gateway.bootstrap import create_app\n"
        "from opentelemetry.instrumentation.redis import RedisInstrumentor\n"
        "create_app()\n"
        "assert RedisInstrumentor().is_instrumented_by_opentelemetry\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OTEL_SDK_DISABLED"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
