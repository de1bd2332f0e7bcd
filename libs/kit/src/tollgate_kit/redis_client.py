"""Redis client helper (redis-py's asyncio client), for one node or a Redis Cluster.

``REDIS_URL`` names a cluster with ``cluster=true`` in its query
(``redis://10.0.0.5:6379/0?cluster=true``): the client discovers every master from that node
and routes each command by its key's slot. Keys that one transaction touches share a hash tag
(``{auth}`` for the sessions and their feed); every other command touches one key.
"""

from __future__ import annotations

from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis import exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline, RedisCluster

# What create_redis returns: the same commands, pipelines and scripts on either.
RedisClient: TypeAlias = Redis | RedisCluster
RedisPipeline: TypeAlias = Pipeline | ClusterPipeline

# Redis is down, loading, failing over or too slow: worth a retry (UNAVAILABLE). Other
# Redis errors (a wrong command, a wrong type) are bugs and stay INTERNAL.
REDIS_UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,
    exceptions.ConnectionError,
    exceptions.TimeoutError,
    exceptions.ReadOnlyError,
    # A cluster that is resharding or failing over, or whose nodes are out of reach.
    exceptions.ClusterError,
    exceptions.TryAgainError,
    exceptions.SlotNotCoveredError,
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
) -> RedisClient:
    """A client with a bounded connection pool; ``unix://`` URLs work (embedded Redis).

    The pool blocks (up to ``pool_timeout`` seconds) when all connections are busy: redis-py's
    default pool raises ``MaxConnectionsError`` instead, which failed every command beyond
    ``max_connections`` concurrent ones.

    Every command's reply must arrive within ``socket_timeout`` seconds and a connection must
    open within ``socket_connect_timeout``, else ``redis.exceptions.TimeoutError`` (one of
    ``REDIS_UNREACHABLE``). A client for blocking reads (``XREAD BLOCK``, ``BLPOP``) needs a
    longer ``socket_timeout`` than its block time, or ``None`` for no limit.
    """
    url, cluster = cluster_url(url)
    if cluster:
        # A pool per master, which raises MaxConnectionsError (a ConnectionError: UNAVAILABLE)
        # when full instead of waiting: the cluster client has no blocking pool.
        nodes: RedisCluster = _Cluster.from_url(
            url,
            max_connections=max(max_connections, 100),
            decode_responses=False,
            health_check_interval=30,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
        )
        return nodes
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


def cluster_url(url: str) -> tuple[str, bool]:
    """``url`` without its ``cluster`` query parameter, and whether it named a cluster."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [value for name, value in query if name == "cluster"]
    if not flags:
        return url, False
    rest = urlencode([(name, value) for name, value in query if name != "cluster"])
    cluster = flags[-1].strip().lower() in {"1", "true", "yes", "on"}
    return urlunsplit(parts._replace(query=rest)), cluster


class _Cluster(RedisCluster):
    """redis-py's cluster client, which maps the cluster before its first command: redis-py
    8 looks a command's routing up on the startup node before it maps the cluster, and the
    mapping closes that node's connections under the commands sent at the same time (the
    first burst of concurrent commands then failed with ``AttributeError``)."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)
