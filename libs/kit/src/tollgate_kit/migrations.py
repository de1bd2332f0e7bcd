"""The body of every service's alembic ``env.py``: online migrations over asyncpg.

Migrations are plain SQL (``op.execute``); the services use asyncpg, not an ORM, so there is
no metadata to autogenerate from.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

# Serialises concurrent `migrate` runs (several replicas starting at once).
_MIGRATION_LOCK = 0x746F6C6C  # "toll"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")


async def _run_online(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env() -> None:
    """Call from a service's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set; run migrations through tollgate_kit.db")
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    asyncio.run(_run_online(url))
