"""Who is calling: the bearer token verified locally, and its session not ended.

Verification needs no call to auth-svc: the JWKS is cached (refetched on an unknown
``kid``), and the kit's verifier remembers a verified token's claims until it expires. Ended
sessions come from the feed auth-svc writes (:mod:`tollgate_kit.ended_sessions`), followed in
memory: a logout blocks the old access token within a second, with no Redis round trip per
request. While the feed is out of sync nobody is let in (:class:`FeedUnavailable`).
"""

from __future__ import annotations

from redis.exceptions import RedisError

from gateway.ratelimit import LIMIT_UNAVAILABLE, Decision, LeasedLimiter, Rate
from tollgate_kit.ended_sessions import EndedSessions, SessionEnded
from tollgate_kit.logs import get_logger
from tollgate_kit.tokens import ACCESS, TokenClaims, TokenError, TokenVerifier, bearer_token

log = get_logger(__name__)


class AuthFailure(Exception):
    """The request is not authenticated; ``reason`` is machine-readable, ``message`` safe."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Authenticator:
    def __init__(
        self,
        verifier: TokenVerifier,
        ended: EndedSessions,
        *,
        limiter: LeasedLimiter | None = None,
    ) -> None:
        self._verifier = verifier
        self._ended = ended
        self._limiter = limiter

    async def authenticate(
        self, authorization: str | None, *, rate: Rate | None = None
    ) -> tuple[TokenClaims, Decision | None]:
        """The claims of the request's access token; raises :class:`AuthFailure`, or
        ``FeedUnavailable`` when ended sessions cannot be known (the caller answers 503).

        With ``rate``, the user's rate limit is hit here (from a lease, mostly without a Redis
        round trip) and its decision returned for the rate limit middleware; with Redis out of
        reach the limit is not applied (:data:`LIMIT_UNAVAILABLE`), as the middleware does.
        """
        token = bearer_token(authorization)
        if token is None:
            raise AuthFailure("TOKEN_MISSING", "missing bearer token")
        try:
            claims = await self._verifier.verify(token, ACCESS)
        except TokenError as error:
            raise AuthFailure(error.reason, str(error)) from None
        try:
            await self._ended.ensure_open(claims)
        except SessionEnded:
            raise AuthFailure("SESSION_REVOKED", "session has ended") from None
        decision = None
        if rate is not None and self._limiter is not None:
            try:
                decision = await self._limiter.hit("user", claims.subject, rate)
            except RedisError as error:
                log.warning("rate_limiter_unavailable", error=type(error).__name__)
                decision = LIMIT_UNAVAILABLE
        return claims, decision
