"""Login attempts per (account, client address) in a fixed window, counted in Redis."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from auth_svc.domain.errors import StoreUnavailable
from tollgate_kit.outages import translate_outages
from tollgate_kit.redis_client import REDIS_UNREACHABLE, RedisClient


@translate_outages(REDIS_UNREACHABLE, StoreUnavailable)
class LoginRateLimiter:
    def __init__(self, redis: RedisClient, prefix: str, limit: int, window: timedelta) -> None:
        self._redis = redis
        self._prefix = prefix
        self._limit = limit
        self._window = max(1, int(window.total_seconds()))

    def _key(self, account: str, client: str) -> str:
        # Hashed: keys are visible to anyone with Redis access and emails are personal data.
        digest = hashlib.sha256(f"{account}\x00{client}".encode()).hexdigest()
        return f"{self._prefix}auth:login_attempts:{digest}"

    async def allow(self, account: str, client: str) -> bool:
        """Count one attempt at ``account`` from ``client``; False once the window's limit is
        passed."""
        key = self._key(account, client)
        # SET NX EX opens the window; INCR keeps its TTL. (EXPIRE … NX would need Redis 7,
        # and the embedded Redis of `make run` is 6.2.)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=self._window, nx=True)
            pipe.incr(key)
            _, count = await pipe.execute()
        return int(count) <= self._limit
