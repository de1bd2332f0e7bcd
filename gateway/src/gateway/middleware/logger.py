"""One JSON log line, one server span and the RED metrics per request, labelled with the
route template the routing middleware (just before) resolved."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import request_id as request_ids
from gateway.accesslog import AccessLog
from gateway.asgi import request_state
from gateway.metrics import GatewayMetrics
from tollgate_kit.logs import get_logger

log = get_logger(__name__)

# Set in the scope once a failure is logged, so the recover middleware does not log it again.
FAILURE_LOGGED = "tollgate.failure_logged"


class _HeaderGetter(Getter[Scope]):
    """Reads trace headers (``traceparent`` …) straight from the ASGI scope."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for k, value in carrier["headers"] if k == name]
        return values or None

    def keys(self, carrier: Scope) -> list[str]:
        return [key.decode("latin-1") for key, _ in carrier["headers"]]


_GETTER = _HeaderGetter()


class LoggerMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: GatewayMetrics,
        access_log: AccessLog,
        quiet_routes: Iterable[str] = (),
    ) -> None:
        self.app = app
        self._log = access_log.logger
        self._metrics = metrics
        self._tracer = trace.get_tracer("gateway.http")
        # Probes: counted, traced never, logged at debug level only.
        self._quiet = frozenset(quiet_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        target = request_state(scope).target
        method: str = scope["method"]
        status = 500

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if target.template in self._quiet:
            # Probes and scrapes: counted (the recording rules leave them out of the traffic
            # the alerts judge), but no span and only a debug line.
            try:
                await self.app(scope, receive, status_send)
            finally:
                elapsed = time.perf_counter() - started
                self._metrics.observe_http(target.template, method, status, elapsed)
                self._log.debug("http_request", method=method, route=target.template, status=status)
            return

        with self._tracer.start_as_current_span(
            f"{method} {target.template}",
            context=propagate.extract(scope, getter=_GETTER),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": target.template},
        ) as span:
            context = span.get_span_context()
            # Tracing off (no SDK): still an id to quote, in the trace id's format.
            request_id = (
                format(context.trace_id, "032x") if context.is_valid else secrets.token_hex(16)
            )
            # The recover middleware puts it on the answer; error bodies read it from here.
            scope[request_ids.SCOPE_KEY] = request_id
            token = request_ids.current.set(request_id)
            try:
                await self.app(scope, receive, status_send)
            except Exception:
                # Logged here, inside the request's span, so the line carries its trace_id.
                log.exception("request_failed", method=method, path=scope["path"])
                scope[FAILURE_LOGGED] = True
                raise
            finally:
                request_ids.current.reset(token)
                elapsed = time.perf_counter() - started
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(trace.StatusCode.ERROR)
                self._metrics.observe_http(target.template, method, status, elapsed)
                self._log.info(
                    "http_request",
                    method=method,
                    route=target.template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 3),
                )
