"""Redis client helper (redis-py's asyncio client)."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str, *, max_connections: int = 50) -> Redis:
    """A client with a bounded connection pool; ``unix://`` URLs work (embedded Redis)."""
    client: Redis = Redis.from_url(
        url, max_connections=max_connections, decode_responses=False, health_check_interval=30
    )
    return client
