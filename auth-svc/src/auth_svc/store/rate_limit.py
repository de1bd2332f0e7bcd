"""Login attempts per (email, client address) in a fixed window, counted in Redis."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from redis.asyncio import Redis


class LoginRateLimiter:
    def __init__(self, redis: Redis, prefix: str, limit: int, window: timedelta) -> None:
        self._redis = redis
        self._prefix = prefix
        self._limit = limit
        self._window = max(1, int(window.total_seconds()))

    def _key(self, email: str, client: str) -> str:
        # Hashed: keys are visible to anyone with Redis access and emails are personal data.
        digest = hashlib.sha256(f"{email.strip().lower()}\x00{client}".encode()).hexdigest()
        return f"{self._prefix}auth:login_attempts:{digest}"

    async def allow(self, email: str, client: str) -> bool:
        """Count one attempt; False once the window's limit is passed."""
        key = self._key(email, client)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._window, nx=True)
            count, _ = await pipe.execute()
        return int(count) <= self._limit
