"""Routing, the step before the logger: resolves the request's target (route template,
endpoint, access, limit) once, and puts it with the app's runtime in the request's state
(``scope["gateway"]``) for the steps after it.

Outside the app's lifespan (before start, after stop) there is no runtime: the answer is
503 ``GATEWAY_NOT_SERVING``, before the logger (uvicorn serves nothing then; only an ASGI
client that skips the lifespan gets here).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import request_id as request_ids
from gateway.asgi import STATE_KEY, RequestState, send_error
from gateway.errors import GATEWAY_NOT_SERVING
from gateway.routing import Router
from gateway.runtime import Serving


class RoutingMiddleware:
    def __init__(self, app: ASGIApp, *, router: Router, serving: Serving) -> None:
        self.app = app
        self._router = router
        self._serving = serving

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = self._serving.runtime
        if runtime is None:
            # As every JSON error the gateway writes, the body names the request.
            token = request_ids.current.set(request_ids.of_scope(scope))
            try:
                await send_error(
                    send, 503, 14, "the gateway is not serving", reason=GATEWAY_NOT_SERVING
                )
            finally:
                request_ids.current.reset(token)
            return
        scope[STATE_KEY] = RequestState(self._router.resolve(scope), runtime)
        await self.app(scope, receive, send)
