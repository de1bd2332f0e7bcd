"""Rate limiting per user (per client address on public routes), and the stricter
login/register limit per client address + email, in Redis (see :mod:`gateway.ratelimit`).

A refused request gets 429 with ``Retry-After``; every limited response carries the
``RateLimit-Limit``/``-Remaining``/``-Reset`` headers. When Redis is unreachable the limiter
lets requests through (logged): the limit protects the backends, it does not gate access.
"""

from __future__ import annotations

import orjson
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.asgi import (
    BodyTooLargeError,
    joined_header,
    peer_host,
    read_body,
    request_state,
    send_error,
)
from gateway.errors import BODY_TOO_LARGE
from gateway.headers import TrustedProxies
from gateway.ratelimit import LIMIT_UNAVAILABLE, Decision, LoginRates, Rate, address_identity
from gateway.routing import Limit
from tollgate_kit.logs import get_logger

log = get_logger(__name__)


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        user_rate: Rate,
        login_rates: LoginRates,
        trusted_proxies: TrustedProxies,
        body_limit: int,
    ) -> None:
        self.app = app
        self._user_rate = user_rate
        self._login_rates = login_rates
        self._proxies = trusted_proxies
        self._body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = request_state(scope)
        state.client_address = self._proxies.client_address(
            peer_host(scope), joined_header(scope, b"x-forwarded-for")
        )
        limit = state.target.limit
        if limit is Limit.NONE:
            await self.app(scope, receive, send)
            return
        if limit is Limit.LOGIN:
            try:
                state.body = await read_body(scope, receive, self._body_limit)
            except BodyTooLargeError:
                await send_error(send, 413, 3, "request body too large", reason=BODY_TOO_LARGE)
                return
        limiter, leased = state.runtime.limiter, state.runtime.leased
        try:
            if limit is Limit.LOGIN:
                # Small budgets guessing passwords: decided request by request.
                checks = self._login_rates.checks(state.client_address, _email(state.body or b""))
                decision = await limiter.hit_all(checks)
            elif state.rate_decision is not None:
                decision = state.rate_decision  # taken with the authentication
            elif state.claims is not None:
                decision = await leased.hit("user", state.claims.subject, self._user_rate)
            else:
                client = address_identity(state.client_address)
                decision = await leased.hit("addr", client, self._user_rate)
        except RedisError as error:
            log.warning("rate_limiter_unavailable", error=type(error).__name__)
            await self.app(scope, receive, send)
            return
        if decision is LIMIT_UNAVAILABLE:
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            await send_error(
                send,
                429,
                8,
                "rate limit exceeded",
                reason="RATE_LIMITED",
                headers=decision.headers(),
            )
            return
        await self.app(scope, receive, _with_headers(send, decision))


def _with_headers(send: Send, decision: Decision) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *decision.headers()]
        await send(message)

    return send_with_headers


def _email(body: bytes) -> str:
    """The ``email`` of a login/register body; "" when there is none (the handler then
    answers the malformed request)."""
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return ""
    if isinstance(document, dict):
        email = document.get("email")
        if isinstance(email, str):
            return email
    return ""
