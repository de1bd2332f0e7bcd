"""Who is calling: the verified access token in a gRPC call's metadata (never the body)."""

from __future__ import annotations

from typing import Any

import grpc
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tollgate_kit.errors import StatusError
from tollgate_kit.tokens import (
    ACCESS,
    KeySetUnavailable,
    TokenClaims,
    TokenError,
    TokenVerifier,
    bearer_token,
    session_key,
)

# gRPC metadata the gateway sets to the client address it resolved (through its trusted
# proxies); services behind it use it for per-client limits. Clients cannot set it through
# the gateway, and services' gRPC ports are internal.
CLIENT_ADDRESS_METADATA = "x-tollgate-client-address"


class CallerAuthenticator:
    """Verifies the ``authorization`` metadata of a call; with ``redis`` it also requires the
    session to be open, so a logout takes effect at once."""

    def __init__(
        self, verifier: TokenVerifier, redis: Redis | None = None, key_prefix: str = "tollgate:"
    ) -> None:
        self._verifier = verifier
        self._redis = redis
        self._prefix = key_prefix

    async def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> TokenClaims:
        authorization = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str):
                authorization = value
                break
        token = bearer_token(authorization)
        if token is None:
            raise StatusError(
                grpc.StatusCode.UNAUTHENTICATED, "missing bearer token", reason="TOKEN_MISSING"
            )
        try:
            claims = await self._verifier.verify(token, ACCESS)
            session_open = self._redis is None or await self._redis.exists(
                session_key(self._prefix, claims.session_id)
            )
        except TokenError as err:
            raise StatusError(grpc.StatusCode.UNAUTHENTICATED, str(err), reason=err.reason) from err
        except (KeySetUnavailable, RedisError) as err:
            # The key set or the session store is out of reach: the caller may be fine, so
            # this is "retry later", not "your token is bad" (and not an internal error).
            raise StatusError(
                grpc.StatusCode.UNAVAILABLE,
                "authentication is unavailable, retry later",
                reason="AUTH_UNAVAILABLE",
            ) from err
        if not session_open:
            raise StatusError(
                grpc.StatusCode.UNAUTHENTICATED, "session has ended", reason="SESSION_REVOKED"
            )
        return claims
