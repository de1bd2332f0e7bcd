"""The body of every service's alembic ``env.py``: online migrations over asyncpg.

Migrations are plain SQL (``op.execute``); the services use asyncpg, not an ORM, so there is
no metadata to autogenerate from.
"""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tollgate_kit.db import DSN_OPTION

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


async def _run_online(dsn: str) -> None:
    # asyncpg itself opens the connection, so the DSN means exactly what it means to the
    # services (libpq options like ?sslmode=require included); SQLAlchemy's URL parsing would
    # hand such options to asyncpg.connect() as unknown keyword arguments.
    engine = create_async_engine(
        "postgresql+asyncpg://",
        poolclass=pool.NullPool,
        async_creator=lambda: asyncpg.connect(dsn),
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env() -> None:
    """Call from a service's ``migrations/env.py``."""
    dsn = context.config.get_main_option(DSN_OPTION)
    if not dsn:
        raise RuntimeError(f"{DSN_OPTION} is not set; run migrations through tollgate_kit.db")
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    asyncio.run(_run_online(dsn))
