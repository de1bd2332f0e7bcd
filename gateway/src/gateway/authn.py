"""Who is calling: the bearer token verified locally, and the session still open in Redis.

Verification needs no call to auth-svc: the JWKS is cached (refetched on an unknown
``kid``), and a verified token's claims are cached until the token expires, so a request
costs one Redis ``EXISTS`` — which is also what makes a logout block the old access token
at once.
"""

from __future__ import annotations

import time

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
        cache_size: int = 10_000,
    ) -> None:
        self._verifier = verifier
        self._redis = redis
        self._limiter = limiter
        self._prefix = key_prefix
        self._cache: dict[str, TokenClaims] = {}
        self._cache_size = cache_size

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
        claims = self._cache.get(token)
        if claims is None or claims.expires_at <= time.time():
            claims = await self._verify(token)
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

    async def _verify(self, token: str) -> TokenClaims:
        self._cache.pop(token, None)
        try:
            claims = await self._verifier.verify(token, ACCESS)
        except TokenError as error:
            reason = "TOKEN_EXPIRED" if str(error) == "token expired" else "TOKEN_INVALID"
            raise AuthFailure(reason, str(error)) from None
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = claims
        return claims
