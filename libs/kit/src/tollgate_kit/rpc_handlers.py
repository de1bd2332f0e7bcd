"""What every RPC of a service gets — a server span, RED metrics, the error boundary and,
with mutual TLS, the caller check — wrapped around each method's handler once, when the
servicers are registered.

grpc.aio's server interceptors run per call: each one is awaited in turn to produce the
handler, and OpenTelemetry's builds a fresh wrapper for every call (py-spy put it and the
spans at about a tenth of billing-svc's samples per charge). Here a call runs one coroutine
per method, built once, with its metric children bound in advance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from tollgate_kit.errors import StatusError
from tollgate_kit.logs import get_logger
from tollgate_kit.metrics import RpcMetrics
from tollgate_kit.mtls import CallerPolicy, peer_service

log = get_logger(__name__)

# Health probes and reflection are counted but never traced: they would flood the traces.
_UNTRACED = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# W3C trace context only: a caller's baggage is not ours to carry on.
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
# Codes that mean the server failed (OpenTelemetry's RPC conventions); the rest are answers.
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]


def _code(context: grpc.aio.ServicerContext[Any, Any], default: grpc.StatusCode) -> grpc.StatusCode:
    """The code a handler set on its context (None, despite the stubs, when it set none)."""
    code: grpc.StatusCode | None = context.code()
    return code if code is not None else default


class HandlerWrapper:
    """Wraps method handlers (``/pkg.Service/Method``) with the RPC plumbing, caching one
    wrapped handler per method."""

    def __init__(
        self,
        metrics: RpcMetrics,
        tracer: Tracer | None,
        policy: CallerPolicy | None = None,
    ) -> None:
        self._metrics = metrics
        self._tracer = tracer
        self._policy = policy
        self._wrapped: dict[str, Handler] = {}

    def wrap(self, method: str, handler: Handler) -> Handler:
        found = self._wrapped.get(method)
        if found is None:
            found = self._wrapped[method] = self._build(method, handler)
        return found

    def _build(self, method: str, handler: Handler) -> Handler:
        if handler.unary_unary is None:
            # Streams (health's Watch, reflection): only the caller check applies.
            return self._policy.guard(method, handler) if self._policy is not None else handler
        _, service, name = method.split("/", 2)
        inner: Any = handler.unary_unary
        metrics = self._metrics
        latency = metrics.latency.labels(service, name)
        handled: dict[grpc.StatusCode, Any] = {}

        def count(code: grpc.StatusCode, started: float) -> None:
            child = handled.get(code)
            if child is None:
                child = handled[code] = metrics.handled.labels(service, name, code.name)
            child.inc()
            latency.observe(time.perf_counter() - started)

        allowed = self._policy.allowed(method) if self._policy is not None else None
        tracer = None if method.startswith(_UNTRACED) else self._tracer
        span_name = method[1:]
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}

        async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            span = None
            token = None
            if tracer is not None:
                carrier = {
                    key: value
                    for key, value in context.invocation_metadata() or ()
                    if key in _TRACE_HEADERS
                }
                parent = propagate.extract(carrier) if carrier else None
                span = tracer.start_span(
                    span_name, parent, kind=SpanKind.SERVER, attributes=attributes
                )
                token = otel_context.attach(trace.set_span_in_context(span, parent))
            try:
                if allowed is not None:
                    caller = peer_service(context)
                    if caller not in allowed:
                        raise StatusError(
                            grpc.StatusCode.PERMISSION_DENIED,
                            f"{caller or 'this caller'} may not call {method}",
                        )
                response = await inner(request, context)
                code = _code(context, grpc.StatusCode.OK)
                return response
            except StatusError as err:
                code = err.code
                await context.abort(err.code, err.message, err.trailing_metadata())
            except asyncio.CancelledError:
                # gRPC cancels the handler both when the client gives up and when the
                # deadline passes; the client saw DEADLINE_EXCEEDED in the second case.
                remaining = context.time_remaining()
                expired = remaining is not None and remaining <= 0
                code = grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED
                raise
            except grpc.aio.AbortError:
                code = _code(context, grpc.StatusCode.UNKNOWN)
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("rpc_failed", rpc=method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                count(code, started)
                if span is not None:
                    span.set_attribute("rpc.grpc.status_code", code.value[0])
                    if code in _SERVER_FAULTS:
                        span.set_status(Status(StatusCode.ERROR, code.name))
                    span.end()
                if token is not None:
                    otel_context.detach(token)

        wrapped: Handler = grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return wrapped


class _WrappedGeneric(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    def __init__(
        self,
        inner: grpc.GenericRpcHandler,  # type: ignore[type-arg]
        wrapper: HandlerWrapper,
    ) -> None:
        self._inner = inner
        self._wrapper = wrapper

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return None
        return self._wrapper.wrap(handler_call_details.method, handler)


class Registrar:
    """Stands in for the server when servicers register (``add_*_to_server``): every
    handler they add is wrapped once; anything else goes to the server itself."""

    def __init__(self, server: grpc.aio.Server, wrapper: HandlerWrapper) -> None:
        self._server = server
        self._wrapper = wrapper

    def add_generic_rpc_handlers(
        self,
        handlers: Sequence[grpc.GenericRpcHandler],  # type: ignore[type-arg]
    ) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(_WrappedGeneric(handler, self._wrapper) for handler in handlers)
        )

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, Handler]) -> None:
        self._server.add_registered_method_handlers(  # type: ignore[attr-defined]
            service,
            {
                name: self._wrapper.wrap(f"/{service}/{name}", handler)
                for name, handler in handlers.items()
            },
        )

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attribute: Callable[..., Any] = getattr(self._server, name)
        return attribute
