"""The operational HTTP port of a service: /healthz, /readyz and Prometheus /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Generator

import uvicorn
from opentelemetry.instrumentation.utils import suppress_instrumentation
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ReadinessCheck = Callable[[], Awaitable[bool]]
# A readiness check that has not answered by then answers "not ready": a saturated pool or a
# hung connection must not hold the probe (and one of uvicorn's connections) open.
READY_TIMEOUT_SECONDS = 2.0


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a process that owns its signals: the gRPC runner handles SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def build_ops_app(
    registry: CollectorRegistry,
    ready: ReadinessCheck,
    ready_timeout: float = READY_TIMEOUT_SECONDS,
) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        # Probes come every few seconds from every kubelet: their database and Redis pings
        # would each start a trace of their own.
        try:
            with suppress_instrumentation():
                async with asyncio.timeout(ready_timeout):
                    is_ready = await ready()
        except TimeoutError:
            is_ready = False
        if is_ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready"}, status_code=503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


def bind_http_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket for the ops port; raises RuntimeError when it cannot bind."""
    try:
        sock = socket.create_server((host, port), family=_family(host), backlog=128)
    except OSError as err:
        raise RuntimeError(f"cannot serve HTTP on {host}:{port}: {err}") from err
    sock.setblocking(False)
    return sock


def _family(host: str) -> socket.AddressFamily:
    """IPv6 for an IPv6 host ("::", "::1"), else IPv4, as the resolver says."""
    return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]


def ops_server(
    host: str, port: int, registry: CollectorRegistry, ready: ReadinessCheck
) -> uvicorn.Server:
    config = uvicorn.Config(
        build_ops_app(registry, ready),
        host=host,
        port=port,
        log_config=None,
        lifespan="off",
        access_log=False,
    )
    return _EmbeddedServer(config)
