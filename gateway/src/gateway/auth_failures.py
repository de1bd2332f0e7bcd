"""A budget per client address for requests that fail authentication (no token, or one that
does not verify) on routes that need a user.

Valid tokens are limited per user; a request without a valid one has no user to count, so
before this nothing bounded them: one client could try tokens (or make the gateway verify
signatures) as fast as it could send. Each 401 now takes a token of its address's budget
(IPv6 by /64); once the budget is spent, the answer is 429 until it refills. Requests with a
valid token never pay, so a user is not locked out by someone else's failures.
"""

from __future__ import annotations

from redis.exceptions import RedisError
from starlette.types import Scope

from gateway.asgi import joined_header, peer_host
from gateway.headers import TrustedProxies
from gateway.ratelimit import Decision, Rate, RateLimiter, address_identity
from tollgate_kit.logs import get_logger

log = get_logger(__name__)


class FailedAuthLimit:
    def __init__(self, rate: Rate, proxies: TrustedProxies) -> None:
        self._rate = rate
        self._proxies = proxies

    async def refusal(self, scope: Scope, limiter: RateLimiter) -> Decision | None:
        """Charge the request's client address one failed authentication; the refusing
        decision once its budget is spent, else None (also when Redis is unreachable: like
        the other limits, this one protects the backends and does not gate access)."""
        address = self._proxies.client_address(
            peer_host(scope), joined_header(scope, b"x-forwarded-for")
        )
        try:
            decision = await limiter.hit("unauth", address_identity(address), self._rate)
        except RedisError as error:
            log.warning("failed_auth_limit_unavailable", error=type(error).__name__)
            return None
        return None if decision.allowed else decision
