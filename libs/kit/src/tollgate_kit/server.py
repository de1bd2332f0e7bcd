"""Runs a grpc.aio server the same way for every service: health, optional reflection, RED
metrics, tracing, optional mutual TLS with a caller policy, an operational HTTP port, and a
graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from prometheus_client import CollectorRegistry

from tollgate_kit.logs import get_logger
from tollgate_kit.metrics import RpcMetrics
from tollgate_kit.mtls import SUITE_CALLERS, CallerPolicy, Callers, ServiceTls
from tollgate_kit.ops_http import ReadinessCheck, bind_http_socket, ops_server
from tollgate_kit.rpc_handlers import HandlerWrapper, Registrar
from tollgate_kit.settings import ServiceSettings
from tollgate_kit.telemetry import tracing_disabled

log = get_logger(__name__)


async def _always_ready() -> bool:
    return True


@dataclass
class GrpcApp:
    """What a service hands to :func:`serve`: its servicers and its lifecycle hooks."""

    settings: ServiceSettings
    # Adds the service's servicers to the server.
    register: Callable[[grpc.aio.Server], None]
    # Full names (``tollgate.auth.v1.AuthService``) for health and reflection.
    service_names: Sequence[str]
    registry: CollectorRegistry
    # Extra readiness condition for /readyz, e.g. "the database answers".
    ready: ReadinessCheck = _always_ready
    # Background work started after the server is up (e.g. an outbox relay), stopped first.
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=tuple)
    # Runs after the last RPC finished: close pools and clients here.
    on_stop: Callable[[], Awaitable[None]] | None = None
    # With mutual TLS on: which services may call which service or method (CallerPolicy).
    callers: Callers = field(default_factory=lambda: SUITE_CALLERS)


async def serve(app: GrpcApp, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully:
    health turns NOT_SERVING, /readyz fails, new RPCs are refused, in-flight RPCs get
    ``shutdown_grace_seconds`` to finish."""
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tls = settings.service_tls()
    # Every RPC is counted, health checks included (the recording rules leave probes out of
    # the traffic the alerts judge: deploy/prometheus/rules/recording.yml); the service's
    # own RPCs are traced; with mutual TLS, callers are checked against app.callers. All of
    # it wraps each method's handler once, at registration: no interceptor runs per call.
    wrapper = HandlerWrapper(
        RpcMetrics(app.registry),
        None if tracing_disabled() else trace.get_tracer("tollgate_kit.rpc"),
        CallerPolicy(app.callers) if tls is not None else None,
    )
    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 5000),
            ("grpc.max_connection_age_ms", int(settings.grpc_max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", 30_000),
        ],
    )
    registrar = cast(grpc.aio.Server, Registrar(server, wrapper))
    app.register(registrar)
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, registrar)
    if settings.grpc_reflection:
        names = [*app.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, registrar)
    serving = False

    async def ready() -> bool:
        return serving and await app.ready()

    ops = ops_server(settings.http_host, settings.http_port, app.registry, ready)
    ops_task: asyncio.Task[None] | None = None
    background: list[asyncio.Task[None]] = []
    http_socket: socket.socket | None = None
    try:
        # Bound here, not by uvicorn, which answers a busy port with sys.exit(); and first,
        # because a gRPC port bound by a server that never starts stays taken.
        http_socket = bind_http_socket(settings.http_host, settings.http_port)
        port = _bind_grpc(server, f"{settings.grpc_host}:{settings.grpc_port}", tls)
        await server.start()
        ops_task = asyncio.create_task(ops._serve(sockets=[http_socket]))
        while not ops.started:
            if ops_task.done():
                raise RuntimeError(
                    f"cannot serve HTTP on {settings.http_host}:{settings.http_port}"
                )
            await asyncio.sleep(0.01)
        for name in ("", *app.service_names):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        serving = True
        background = [asyncio.create_task(job()) for job in app.background]
        log.info(
            "service_started",
            grpc_port=port,
            http_port=settings.http_port,
            services=list(app.service_names),
            mutual_tls=tls is not None,
            reflection=settings.grpc_reflection,
        )
        await stop.wait()
        log.info("service_stopping", grace_seconds=settings.shutdown_grace_seconds)
    finally:
        # Also on a failed start-up, so no server, task or pool outlives serve().
        serving = False
        await health_servicer.enter_graceful_shutdown()
        for task in background:
            task.cancel()
        if background:
            # Bounded: a task that ignores its cancellation must not hold the shutdown.
            _, stuck = await asyncio.wait(
                background, timeout=max(settings.shutdown_grace_seconds, 1)
            )
            for task in stuck:
                log.error("background_task_ignored_cancellation", task=task.get_name())
        await server.stop(settings.shutdown_grace_seconds)
        if app.on_stop is not None:
            await app.on_stop()
        if ops_task is not None:
            ops.should_exit = True
            await asyncio.gather(ops_task, return_exceptions=True)
        elif http_socket is not None:
            http_socket.close()
    log.info("service_stopped")


def _bind_grpc(server: grpc.aio.Server, address: str, tls: ServiceTls | None) -> int:
    try:
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, tls.server_credentials())
    except RuntimeError as err:  # newer grpcio raises instead of returning 0
        raise RuntimeError(f"cannot bind gRPC port {address}") from err
    if port == 0:
        raise RuntimeError(f"cannot bind gRPC port {address}")
    return port
