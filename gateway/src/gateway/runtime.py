"""The live clients of one gateway app: built whole by its lifespan once every one of them
is open and the ended-sessions feed is read (never at import or build time), read by the
middleware and handlers at request time.

:class:`Runtime` is whole or absent: the routing middleware takes it from :class:`Serving`
once per request and hands it on in the request's state, and outside the lifespan (before
start, after stop) the app answers 503 ``GATEWAY_NOT_SERVING`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.authn import Authenticator
    from gateway.backends import BackendPool
    from gateway.ops import Readiness
    from gateway.ratelimit import LeasedLimiter, RateLimiter
    from tollgate_kit.ended_sessions import EndedSessions
    from tollgate_kit.redis_client import RedisClient


@dataclass(frozen=True, slots=True)
class Runtime:
    backends: BackendPool
    redis: RedisClient
    authenticator: Authenticator
    limiter: RateLimiter
    leased: LeasedLimiter
    readiness: Readiness
    ended: EndedSessions


class Serving:
    """The app's :class:`Runtime` while its lifespan runs, else None."""

    __slots__ = ("runtime",)

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
