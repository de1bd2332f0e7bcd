"""Database creation and migrations against the real test server."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tollgate_devstack.testing import free_port, postgres_server_url, unique_name
from tollgate_kit.db import (
    DatabaseProbe,
    connect_options,
    create_pool,
    downgrade,
    drop_database,
    ensure_database,
    migrations_dir,
    upgrade,
    with_database,
)


async def test_migrations_accept_libpq_options_in_the_dsn() -> None:
    # The Helm values recommend ?sslmode=require; such options must reach asyncpg as the
    # services pass them, not SQLAlchemy's keyword arguments.
    dsn = with_database(postgres_server_url(), unique_name("t_dsn_options"))
    dsn += "?sslmode=disable&application_name=tollgate-migrate"
    try:
        await upgrade(dsn, migrations_dir("billing_svc"))
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT version_num FROM alembic_version")
        finally:
            await conn.close()
    finally:
        await drop_database(dsn)


async def test_concurrent_starters_create_a_database_once() -> None:
    for _ in range(5):
        dsn = with_database(postgres_server_url(), unique_name("t_race"))
        try:
            created = await asyncio.gather(*(ensure_database(dsn) for _ in range(4)))
            assert created.count(True) == 1
        finally:
            await drop_database(dsn)


def test_a_dsn_that_is_not_postgresql_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL DSN") as err:
        asyncio.run(downgrade("mysql://root:secret@db/x", migrations_dir("billing_svc"), "base"))
    assert "secret" not in str(err.value)


async def test_the_readiness_probe_ignores_a_busy_pool_and_heals_a_lost_connection() -> None:
    dsn = postgres_server_url()
    probe = DatabaseProbe(dsn, timeout=1)
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as held:  # every pooled connection busy with slow work
            assert await probe()
            # The server ends the probe's session (a restart, an idle timeout): the next
            # check opens a new connection instead of failing for good.
            pid = await probe._conn.fetchval("SELECT pg_backend_pid()")  # type: ignore[union-attr]
            await held.execute("SELECT pg_terminate_backend($1)", pid)
            await asyncio.sleep(0.2)
            await probe()  # may meet the dead connection, and drop it
            assert await probe()
    finally:
        await pool.close()
        await probe.close()


async def test_the_readiness_probe_answers_false_in_time_when_the_database_is_gone() -> None:
    probe = DatabaseProbe(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", timeout=1)
    started = asyncio.get_running_loop().time()
    assert not await probe()
    assert asyncio.get_running_loop().time() - started < 2
    await probe.close()


def test_the_statement_cache_size_in_a_dsn_is_asyncpgs_not_the_servers() -> None:
    assert connect_options("postgresql://u@h:6432/auth?statement_cache_size=0&sslmode=require") == (
        "postgresql://u@h:6432/auth?sslmode=require",
        {"statement_cache_size": 0},
    )
    assert connect_options("postgresql://u@h/auth") == ("postgresql://u@h/auth", {})
