"""The live clients of one gateway app, built by its lifespan (never at import or build
time) and read by the middleware and handlers at request time."""

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


@dataclass
class Runtime:
    backends: BackendPool | None = None
    redis: RedisClient | None = None
    authenticator: Authenticator | None = None
    limiter: RateLimiter | None = None
    leased: LeasedLimiter | None = None
    readiness: Readiness | None = None
    ended: EndedSessions | None = None
