"""The kit's Redis client against a real redis-server that stalls (SIGSTOP): commands fail
fast as unreachable instead of hanging, and work again once the server resumes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from redis import exceptions

from tollgate_devstack.testing import RedisServerProcess
from tollgate_kit.redis_client import REDIS_UNREACHABLE, create_redis


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
