"""The outermost middleware: every answer gets its ``X-Request-Id``, and any exception
becomes a 500 with a fixed body.

The exception is logged with its stack; the client only ever sees
``{"code": 13, "message": "internal error", "details": [<RequestInfo>]}`` and the request's
``X-Request-Id``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import request_id as request_ids
from gateway.asgi import send_error
from gateway.middleware.logger import FAILURE_LOGGED
from tollgate_kit.logs import get_logger

log = get_logger(__name__)


class RecoverMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # Every answer names its request: the trace id the logger middleware chose,
                # or, for what never reached it (CORS preflights) or is never traced (probes),
                # a fresh id of the same form.
                message["headers"] = [*message.get("headers", ()), _id_header(scope)]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if not scope.get(FAILURE_LOGGED):  # the logger middleware did not see it
                log.exception("request_failed", method=scope["method"], path=scope["path"])
            if started:
                # Headers are out; the server closes the connection on a broken response.
                raise
            header = _id_header(scope)
            token = request_ids.current.set(header[1].decode())
            try:
                await send_error(send, 500, 13, "internal error", headers=[header])
            finally:
                request_ids.current.reset(token)


def _id_header(scope: Scope) -> tuple[bytes, bytes]:
    return request_ids.HEADER, request_ids.of_scope(scope).encode()
