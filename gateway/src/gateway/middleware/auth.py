"""Authentication of non-public routes: a verified access token and an open session.

401 answers carry ``WWW-Authenticate: Bearer`` (RFC 6750: with ``error="invalid_token"``
when a token was presented) and the usual JSON error body with an ErrorInfo reason.
"""

from __future__ import annotations

import grpc
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.asgi import header, request_state, send_error
from gateway.auth_failures import FailedAuthLimit
from gateway.authn import AuthFailure
from gateway.ratelimit import Rate
from gateway.routing import Access, Limit
from tollgate_kit.ended_sessions import FeedUnavailable
from tollgate_kit.logs import get_logger
from tollgate_kit.tokens import KeySetUnavailable

log = get_logger(__name__)

REALM = 'Bearer realm="tollgate"'


def www_authenticate(failure: AuthFailure) -> bytes:
    if failure.reason == "TOKEN_MISSING":
        return REALM.encode()
    description = failure.message.replace('"', "'")
    return f'{REALM}, error="invalid_token", error_description="{description}"'.encode()


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        user_rate: Rate,
        failed_auth: FailedAuthLimit | None = None,
    ) -> None:
        self.app = app
        self._user_rate = user_rate
        self._failed_auth = failed_auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = request_state(scope)
        access = state.target.access
        if access is Access.PUBLIC:
            await self.app(scope, receive, send)
            return
        authorization = header(scope, b"authorization")
        if access is Access.OPTIONAL and authorization is None:
            await self.app(scope, receive, send)
            return
        authenticator = state.runtime.authenticator
        try:
            rate = self._user_rate if state.target.limit is Limit.USER else None
            state.claims, state.rate_decision = await authenticator.authenticate(
                authorization, rate=rate
            )
        except AuthFailure as failure:
            if access is Access.OPTIONAL:
                state.auth_error = (failure.reason, failure.message)
                await self.app(scope, receive, send)
                return
            refused = (
                await self._failed_auth.refusal(scope, state.runtime.limiter)
                if self._failed_auth
                else None
            )
            if refused is not None:
                await send_error(
                    send,
                    429,
                    8,
                    "too many requests without a valid token",
                    reason="RATE_LIMITED",
                    headers=refused.headers(),
                )
                return
            await send_error(
                send,
                401,
                16,
                failure.message,
                reason=failure.reason,
                headers=[(b"www-authenticate", www_authenticate(failure))],
            )
            return
        except (
            RedisError,
            KeySetUnavailable,
            FeedUnavailable,
            grpc.aio.AioRpcError,
            OSError,
        ) as error:
            # The session store or the key source is down: nobody can be let in.
            log.warning("auth_unavailable", error=type(error).__name__)
            await send_error(send, 503, 14, "service unavailable")
            return
        await self.app(scope, receive, send)
