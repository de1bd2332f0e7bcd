"""Who is calling: the bearer token verified locally, and the session still open in Redis.

Verification needs no call to auth-svc: the JWKS is cached (refetched on an unknown
``kid``), and the kit's verifier remembers a verified token's claims until it expires, so a
request costs one Redis ``EXISTS`` — which is also what makes a logout block the old access token
at once.
"""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.ratelimit import Decision, Rate, RateLimiter
from tollgate_kit.tokens import (
    ACCESS,
    TokenClaims,
    TokenError,
    TokenVerifier,
    bearer_token,
    session_key,
)


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
        redis: Redis,
        key_prefix: str,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._verifier = verifier
        self._redis = redis
        self._limiter = limiter
        self._prefix = key_prefix

    async def authenticate(
        self, authorization: str | None, *, rate: Rate | None = None
    ) -> tuple[TokenClaims, Decision | None]:
        """The claims of the request's access token; raises :class:`AuthFailure`.

        With ``rate``, the user's rate limit is hit in the same Redis round trip as the
        session check, and its decision returned for the rate limit middleware.
        Redis errors propagate (the caller answers 503: no session check, no access).
        """
        token = bearer_token(authorization)
        if token is None:
            raise AuthFailure("TOKEN_MISSING", "missing bearer token")
        try:
            claims = await self._verifier.verify(token, ACCESS)
        except TokenError as error:
            raise AuthFailure(error.reason, str(error)) from None
        session = session_key(self._prefix, claims.session_id)
        decision = None
        if rate is not None and self._limiter is not None:
            exists, decision = await self._limiter.hit_with_session(
                session, "user", claims.subject, rate
            )
        else:
            exists = bool(await self._redis.exists(session))
        if not exists:
            raise AuthFailure("SESSION_REVOKED", "session has ended")
        return claims, decision
