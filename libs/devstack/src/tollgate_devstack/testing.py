"""Test helpers shared by every service's integration and e2e tests.

Tests use the real PostgreSQL and Redis named by ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL``
(defaults: the local servers on 127.0.0.1), create their own databases and key prefixes,
and remove exactly what they created.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from tollgate_kit.db import drop_database, ensure_database, with_database

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)


def redis_server_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def temp_database(prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the test server; dropped on exit. Yields its DSN."""
    dsn = with_database(postgres_server_url(), unique_name(f"t_{prefix}"))
    await ensure_database(dsn)
    try:
        yield dsn
    finally:
        await drop_database(dsn)


@asynccontextmanager
async def temp_redis_prefix(prefix: str) -> AsyncIterator[str]:
    """A unique key prefix on the test Redis; every key under it is deleted on exit."""
    key_prefix = f"test:{unique_name(prefix)}:"
    try:
        yield key_prefix
    finally:
        client: Redis = Redis.from_url(redis_server_url())
        try:
            batch: list[bytes] = []
            async for key in client.scan_iter(match=key_prefix + "*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    await client.delete(*batch)
                    batch.clear()
            if batch:
                await client.delete(*batch)
        finally:
            await client.aclose()


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
