"""The gateway's ASGI application: Starlette for the lifespan and ``app.state``, and a
request path of the gateway's own middleware chain only.

Starlette wraps every request in its error middleware, its exception middleware and its
router; the gateway needs none of them (the recover middleware answers unexpected errors
with a bare 500, and the routing middleware routes), and on a request that costs a few
hundred microseconds of CPU in all, three layers of coroutines show. HTTP requests go
straight into the chain ``recover → cors → routing → logger → auth → rate limit →
dispatch`` (the handler routing chose); lifespan events still reach Starlette's router.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.routing import dispatch


class GatewayApp(Starlette):
    # The HTTP chain as built, outermost first (each step's ``app`` is the next one).
    chain: ASGIApp | None = None

    def build_middleware_stack(self) -> ASGIApp:
        chain: ASGIApp = dispatch
        for cls, args, kwargs in reversed(self.user_middleware):
            chain = cls(chain, *args, **kwargs)
        self.chain = chain
        router = self.router

        async def stack(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await chain(scope, receive, send)
            else:
                await router(scope, receive, send)

        return stack
