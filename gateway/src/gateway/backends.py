"""The gRPC side: one long-lived channel per backend address, and the calls through them.

Channels keep their HTTP/2 connection alive (keepalive pings) and retry UNAVAILABLE for
idempotent RPCs (those bound to GET) through gRPC's own retry policy in the service
config, so a backend restart costs a GET nothing. Every call is counted and timed and
carries the trace context in its metadata.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import propagate

from gateway.metrics import GatewayMetrics
from tollgate_kit.mtls import ServiceTls, open_channel

Metadata = Sequence[tuple[str, str | bytes]]

_RETRY_POLICY = {
    "maxAttempts": 3,
    "initialBackoff": "0.05s",
    "maxBackoff": "0.5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


@dataclass(frozen=True, slots=True)
class Backend:
    """A gRPC service and the address that serves it."""

    service: ServiceDescriptor
    address: str


@dataclass(frozen=True, slots=True)
class CallResult:
    response: Message
    initial_metadata: Metadata
    trailing_metadata: Metadata


def service_config(idempotent_methods: Iterable[tuple[str, str]]) -> str:
    """A gRPC service config: calls spread round-robin over every address the backend's name
    resolves to (a headless Service's pods; one address is one subchannel, as before), and
    UNAVAILABLE is retried for the given (service, method)s."""
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    names = [{"service": service, "method": method} for service, method in idempotent_methods]
    if names:
        config["methodConfig"] = [{"name": names, "retryPolicy": _RETRY_POLICY}]
    return json.dumps(config)


class BackendPool:
    """Channels by address, and a cached multi-callable per gRPC method."""

    def __init__(
        self,
        backends: Sequence[Backend],
        idempotent_methods: Iterable[tuple[str, str]],
        metrics: GatewayMetrics,
        *,
        keepalive_seconds: float = 60.0,
        tls: ServiceTls | None = None,
    ) -> None:
        self._metrics = metrics
        idempotent = set(idempotent_methods)
        by_address: dict[str, list[ServiceDescriptor]] = {}
        for backend in backends:
            by_address.setdefault(backend.address, []).append(backend.service)
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._channel_of_service: dict[str, grpc.aio.Channel] = {}
        for address, services in by_address.items():
            names = {service.full_name for service in services}
            config = service_config(sorted(m for m in idempotent if m[0] in names))
            # With mutual TLS the server must prove to be the service this address is for,
            # named after its proto package ("tollgate.auth.v1.AuthService" → "auth").
            server_name = min(names).split(".")[1]
            channel = open_channel(
                address,
                tls,
                server_name,
                options=[
                    ("grpc.keepalive_time_ms", int(keepalive_seconds * 1000)),
                    ("grpc.keepalive_timeout_ms", 10_000),
                    ("grpc.keepalive_permit_without_calls", 1),
                    ("grpc.http2.max_pings_without_data", 0),
                    ("grpc.enable_retries", 1),
                    ("grpc.service_config", config),
                ],
            )
            self.channels[address] = channel
            for name in names:
                self._channel_of_service[name] = channel
        self._callables: dict[str, grpc.aio.UnaryUnaryMultiCallable[Any, Any]] = {}

    def channel_for(self, service_full_name: str) -> grpc.aio.Channel:
        return self._channel_of_service[service_full_name]

    def _callable(
        self, full_method: str, response_class: type[Message]
    ) -> grpc.aio.UnaryUnaryMultiCallable[Any, Any]:
        found = self._callables.get(full_method)
        if found is None:
            service = full_method.split("/", 2)[1]
            found = self.channel_for(service).unary_unary(
                full_method,
                request_serializer=_serialize,
                response_deserializer=response_class.FromString,
            )
            self._callables[full_method] = found
        return found

    async def call(
        self,
        full_method: str,
        request: Message,
        response_class: type[Message],
        metadata: Metadata,
        timeout: float,  # noqa: ASYNC109 - the gRPC deadline, passed on to the call
    ) -> CallResult:
        """Call ``full_method`` (``/pkg.Service/Method``); raises ``grpc.aio.AioRpcError``."""
        multicallable = self._callable(full_method, response_class)
        # The current span (the request's server span) continues in the backend.
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        code = "OK"
        started = time.perf_counter()
        call = multicallable(request, metadata=[*metadata, *carrier.items()], timeout=timeout)
        try:
            response = await call
            initial = await call.initial_metadata()
            trailing = await call.trailing_metadata()
        except grpc.aio.AioRpcError as error:
            code = error.code().name
            raise
        except BaseException:
            code = "CANCELLED"
            raise
        finally:
            self._metrics.observe_grpc(full_method, code, time.perf_counter() - started)
        return CallResult(response, tuple(initial or ()), tuple(trailing or ()))

    async def health(self, service_full_name: str, timeout: float) -> bool:  # noqa: ASYNC109
        """True when the backend's standard health service answers SERVING."""
        stub = health_pb2_grpc.HealthStub(self.channel_for(service_full_name))
        try:
            response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.aio.AioRpcError:
            return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close(None)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def idempotent_methods(routes: Iterable[Any]) -> set[tuple[str, str]]:
    """(service, method) of every RPC bound to GET: safe to retry."""
    return {
        (route.method.containing_service.full_name, route.method.name)
        for route in routes
        if route.http_method == "GET"
    }


def services_by_name(backends: Sequence[Backend]) -> Mapping[str, ServiceDescriptor]:
    return {backend.service.full_name: backend.service for backend in backends}
