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

# A healthy Redis answers in well under a millisecond: a command (or a connect) that takes a
# second means a stalled server (paused, swapping, a partition), and the caller is better
# served by UNAVAILABLE now than by a request that hangs until its deadline.
DEFAULT_SOCKET_TIMEOUT = 1.0
DEFAULT_CONNECT_TIMEOUT = 1.0


def create_redis(
    url: str,
    *,
    max_connections: int = 50,
    pool_timeout: float = 5.0,
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT,
    socket_connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
) -> Redis:
    """A client with a bounded connection pool; ``unix://`` URLs work (embedded Redis).

    The pool blocks (up to ``pool_timeout`` seconds) when all connections are busy: redis-py's
    default pool raises ``MaxConnectionsError`` instead, which failed every command beyond
    ``max_connections`` concurrent ones.

    Every command's reply must arrive within ``socket_timeout`` seconds and a connection must
    open within ``socket_connect_timeout``, else ``redis.exceptions.TimeoutError`` (one of
    ``REDIS_UNREACHABLE``). A client for blocking reads (``XREAD BLOCK``, ``BLPOP``) needs a
    longer ``socket_timeout`` than its block time, or ``None`` for no limit.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        decode_responses=False,
        health_check_interval=30,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_connect_timeout,
    )
    client: Redis = Redis.from_pool(pool)
    return client
