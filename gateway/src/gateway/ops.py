"""Operational endpoints: ``/healthz`` (the process is up), ``/readyz`` (every backend's
gRPC health Check says SERVING and Redis answers PING; cached for about a second, so a
probe storm costs the backends nothing) and ``/metrics``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.asgi import header, peer_host, request_state, send_bytes, send_error
from gateway.headers import TrustedProxies
from gateway.metrics import CONTENT_TYPE, GatewayMetrics

Check = Callable[[], Awaitable[bool]]

_JSON = ((b"content-type", b"application/json"), (b"cache-control", b"no-store"))


async def healthz(scope: Scope, receive: Receive, send: Send) -> None:
    await send_bytes(send, 200, b'{"status":"ok"}', _JSON)


class Readiness:
    """Runs every named check concurrently; the answer is reused for ``cache_seconds``."""

    def __init__(self, checks: Sequence[tuple[str, Check]], cache_seconds: float) -> None:
        self.checks = list(checks)
        self._cache_seconds = cache_seconds
        self._checked_at = float("-inf")
        self._result: dict[str, bool] = {}
        self._lock = asyncio.Lock()

    async def status(self) -> dict[str, bool]:
        if time.monotonic() - self._checked_at < self._cache_seconds:
            return self._result
        async with self._lock:
            if time.monotonic() - self._checked_at >= self._cache_seconds:
                results = await asyncio.gather(
                    *(_safe(check) for _, check in self.checks), return_exceptions=False
                )
                self._result = {
                    name: ok for (name, _), ok in zip(self.checks, results, strict=True)
                }
                self._checked_at = time.monotonic()
        return self._result


async def _safe(check: Check) -> bool:
    try:
        return await check()
    except Exception:
        return False


async def readyz(scope: Scope, receive: Receive, send: Send) -> None:
    checks = await request_state(scope).runtime.readiness.status()
    ready = bool(checks) and all(checks.values())
    body = orjson.dumps({"status": "ready" if ready else "not ready", "checks": checks})
    await send_bytes(send, 200 if ready else 503, body, _JSON)


class InternalOnly:
    """An endpoint for the cluster only: a request forwarded by a trusted proxy (the ingress,
    i.e. the public side: its peer is a trusted proxy and it carries X-Forwarded-For) gets
    404. Prometheus and the kubelet reach the pod directly and forward nothing, even from
    inside a trusted pod CIDR."""

    def __init__(self, endpoint: ASGIApp, proxies: TrustedProxies) -> None:
        self._endpoint = endpoint
        self._proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        forwarded = header(scope, b"x-forwarded-for") is not None
        if forwarded and self._proxies.trusts(peer_host(scope)):
            await send_error(send, 404, 5, "not found")
            return
        await self._endpoint(scope, receive, send)


class MetricsEndpoint:
    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._metrics.render()
        await send_bytes(send, 200, body, ((b"content-type", CONTENT_TYPE.encode()),))
