"""The kit's Redis client against a real redis-server that stalls (SIGSTOP): commands fail
fast as unreachable instead of hanging, and work again once the server resumes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from redis import exceptions
from redis.asyncio.cluster import RedisCluster

from tollgate_devstack.testing import RedisServerProcess
from tollgate_kit.redis_client import REDIS_UNREACHABLE, cluster_url, create_redis


@pytest.mark.integration
async def test_a_stalled_redis_fails_commands_within_the_socket_timeout(tmp_path: Path) -> None:
    with RedisServerProcess(tmp_path) as server:
        client = create_redis(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            await client.set(b"k", b"v")
            server.pause()
            started = time.monotonic()
            with pytest.raises(REDIS_UNREACHABLE) as caught:
                await asyncio.wait_for(client.get(b"k"), timeout=5)
            assert time.monotonic() - started < 1.5
            assert isinstance(caught.value, exceptions.TimeoutError)
            # A new connection to the paused server fails as fast: the TCP handshake is the
            # kernel's, but Redis's own handshake never answers.
            fresh = create_redis(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
            started = time.monotonic()
            with pytest.raises(REDIS_UNREACHABLE):
                await asyncio.wait_for(fresh.get(b"k"), timeout=5)
            assert time.monotonic() - started < 1.5
            await fresh.aclose()
            server.resume()
            assert await client.get(b"k") == b"v"
        finally:
            server.resume()
            await client.aclose()


@pytest.mark.integration
async def test_a_client_without_socket_timeout_waits_for_a_blocking_read(tmp_path: Path) -> None:
    """Blocking reads (XREAD BLOCK) need no limit, or one longer than their block time."""
    with RedisServerProcess(tmp_path) as server:
        client = create_redis(server.url, socket_timeout=None)
        try:
            started = time.monotonic()
            reply = await client.xread({b"stream": b"$"}, block=1500)
            assert reply == []
            assert time.monotonic() - started >= 1.4
        finally:
            await client.aclose()


@pytest.mark.integration
async def test_default_timeout_is_short(tmp_path: Path) -> None:
    with RedisServerProcess(tmp_path) as server:
        client = create_redis(server.url)
        try:
            await client.ping()
            server.pause()
            started = time.monotonic()
            with pytest.raises(REDIS_UNREACHABLE):
                await asyncio.wait_for(client.ping(), timeout=10)
            assert time.monotonic() - started < 2.0
        finally:
            server.resume()
            await client.aclose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://h:6379/0", ("redis://h:6379/0", False)),
        ("redis://h:6379/0?cluster=true", ("redis://h:6379/0", True)),
        (
            "rediss://h:6379/0?cluster=1&ssl_cert_reqs=none",
            ("rediss://h:6379/0?ssl_cert_reqs=none", True),
        ),
        ("redis://h:6379/0?cluster=no", ("redis://h:6379/0", False)),
    ],
)
def test_a_cluster_is_named_in_the_url_query(url: str, expected: tuple[str, bool]) -> None:
    assert cluster_url(url) == expected


@pytest.mark.integration
async def test_a_cluster_url_gives_a_cluster_client_that_takes_a_first_burst(
    redis_cluster_url: str,
) -> None:
    """Keys spread over the three masters, and a burst of first commands on a new client
    all succeed (redis-py's own client loses some of them while it maps the cluster)."""
    client = create_redis(redis_cluster_url)
    try:
        assert isinstance(client, RedisCluster)
        prefix = f"test:cluster:{time.monotonic_ns()}:"
        await asyncio.gather(*(client.set(f"{prefix}{i}", i) for i in range(30)))
        nodes = {client.get_node_from_key(f"{prefix}{i}").name for i in range(30)}
        assert len(nodes) == 3
        assert await client.delete(*[f"{prefix}{i}" for i in range(30)]) == 30
    finally:
        await client.aclose()
