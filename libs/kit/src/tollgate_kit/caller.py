"""Who is calling: the verified access token in a gRPC call's metadata (never the body)."""

from __future__ import annotations

from typing import Any

import grpc
from redis.exceptions import RedisError

from tollgate_kit.ended_sessions import EndedSessions, FeedUnavailable, SessionEnded
from tollgate_kit.errors import Reason, StatusError
from tollgate_kit.redis_client import RedisClient
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

_UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
# What :meth:`CallerAuthenticator.authenticate` may answer: every RPC that authenticates its
# caller declares these (tollgate_kit.api_errors), the gateway answers the first four itself.
CALLER_REASONS = (
    Reason(
        "TOKEN_MISSING",
        _UNAUTHENTICATED,
        "No `Authorization: Bearer <access token>` header was sent.",
        "missing bearer token",
    ),
    Reason(
        "TOKEN_INVALID",
        _UNAUTHENTICATED,
        "The access token is malformed, signed by an unknown key, or not an access token.",
        "invalid token",
    ),
    Reason(
        "TOKEN_EXPIRED",
        _UNAUTHENTICATED,
        "The access token has expired: get a new one from `POST /v1/auth/refresh`.",
        "token expired",
    ),
    Reason(
        "SESSION_REVOKED",
        _UNAUTHENTICATED,
        "The token's session has ended (logout, revocation, or a reused refresh token).",
        "session has ended",
    ),
    Reason(
        "AUTH_UNAVAILABLE",
        grpc.StatusCode.UNAVAILABLE,
        "The session could not be checked right now; retry later.",
        "authentication is unavailable, retry later",
    ),
)


class CallerAuthenticator:
    """Verifies the ``authorization`` metadata of a call, and that its session stands:

    - with ``ended`` (the ended-sessions feed, followed in memory) the session must not have
      ended: a logout takes effect at every service within a second, with no Redis round
      trip per call (billing-svc and the gateway);
    - with ``redis`` the session must exist in Redis, looked up on every call (auth-svc,
      which owns the sessions and reads them for most of its RPCs anyway).
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        ended: EndedSessions | None = None,
        *,
        redis: RedisClient | None = None,
        key_prefix: str = "tollgate:",
    ) -> None:
        self._verifier = verifier
        self._ended = ended
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
            if self._ended is not None:
                await self._ended.ensure_open(claims)
            if self._redis is not None and not await self._redis.exists(
                session_key(self._prefix, claims.session_id)
            ):
                raise SessionEnded(claims.session_id)
        except TokenError as err:
            raise StatusError(grpc.StatusCode.UNAUTHENTICATED, str(err), reason=err.reason) from err
        except SessionEnded as err:
            raise StatusError(
                grpc.StatusCode.UNAUTHENTICATED, "session has ended", reason="SESSION_REVOKED"
            ) from err
        except (KeySetUnavailable, FeedUnavailable, RedisError) as err:
            # The key set or the session store is out of reach: the caller may be fine, so
            # this is "retry later", not "your token is bad" (and not an internal error).
            raise StatusError(
                grpc.StatusCode.UNAVAILABLE,
                "authentication is unavailable, retry later",
                reason="AUTH_UNAVAILABLE",
            ) from err
        return claims
