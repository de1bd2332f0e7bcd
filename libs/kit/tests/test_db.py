"""Database creation and migrations against the real test server."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tollgate_devstack.testing import postgres_server_url, unique_name
from tollgate_kit.db import (
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
