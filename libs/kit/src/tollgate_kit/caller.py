"""Who is calling: the verified access token in a gRPC call's metadata (never the body)."""

from __future__ import annotations

from typing import Any

import grpc
from redis.asyncio import Redis

from tollgate_kit.errors import StatusError
from tollgate_kit.tokens import (
    ACCESS,
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
        except TokenError as err:
            raise StatusError(grpc.StatusCode.UNAUTHENTICATED, str(err), reason=err.reason) from err
        if self._redis is not None and not await self._redis.exists(
            session_key(self._prefix, claims.session_id)
        ):
            raise StatusError(
                grpc.StatusCode.UNAUTHENTICATED, "session has ended", reason="SESSION_REVOKED"
            )
        return claims
