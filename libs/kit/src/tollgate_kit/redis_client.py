"""Redis client helper (redis-py's asyncio client)."""

from __future__ import annotations

from redis import exceptions
from redis.asyncio import BlockingConnectionPool, Redis

# Redis is down, loading, failing over or too slow: worth a retry (UNAVAILABLE). Other
# Redis errors (a wrong command, a wrong type) are bugs and stay INTERNAL.
REDIS_UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,
    exceptions.ConnectionError,
    exceptions.TimeoutError,
    exceptions.ReadOnlyError,
)


def create_redis(url: str, *, max_connections: int = 50, pool_timeout: float = 5.0) -> Redis:
    """A client with a bounded connection pool; ``unix://`` URLs work (embedded Redis).

    The pool blocks (up to ``pool_timeout`` seconds) when all connections are busy: redis-py's
    default pool raises ``MaxConnectionsError`` instead, which failed every command beyond
    ``max_connections`` concurrent ones.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        decode_responses=False,
        health_check_interval=30,
    )
    client: Redis = Redis.from_pool(pool)
    return client
