"""The body of every service's alembic ``env.py``: online migrations over asyncpg.

Migrations are plain SQL (``op.execute``); the services use asyncpg, not an ORM, so there is
no metadata to autogenerate from.

Two kinds of migration, as Flyway has them:

- **versioned** (``versions/*.py``): schema changes, applied once, in order, never edited after
  they ship — the history of the database;
- **repeatable** (``sql/*.sql``, one database object a file): the current definition of each
  server-side function (and what depends on one, such as a CHECK that calls it), written with
  ``CREATE OR REPLACE``. After an upgrade that reaches the head revision, every file is applied
  again, in name order, when any of them differs from what was last applied (a table keeps each
  file's checksum). Reading a rule means opening its file; changing it is one diff to it.

A run that leaves the database below head (a downgrade, or an upgrade to an older revision)
forgets the checksums, so the next upgrade to head applies every file again over whatever the
older revisions put back. A file that is deleted leaves its object in place: dropping one is a
versioned migration's job.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tollgate_kit.db import DSN_OPTION, connect

# Serialises concurrent `migrate` runs (several replicas starting at once).
_MIGRATION_LOCK = 0x746F6C6C  # "toll"


# Each repeatable file's checksum, as last applied.
_REPEATABLES_TABLE = """
CREATE TABLE IF NOT EXISTS repeatable_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def repeatable_files(directory: Path) -> dict[str, str]:
    """Each ``*.sql`` file of ``directory`` by name, in the order they are applied."""
    return {path.name: path.read_text() for path in sorted(directory.glob("*.sql"))}


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sync_repeatables(connection: Connection, directory: Path, at_head: bool) -> list[str]:
    """Apply the repeatable files when they changed (at head) or forget them (below head).
    Returns the names of the files applied."""
    connection.exec_driver_sql(_REPEATABLES_TABLE)
    if not at_head:
        connection.exec_driver_sql("DELETE FROM repeatable_migrations")
        return []
    files = repeatable_files(directory)
    wanted = {name: _checksum(text) for name, text in files.items()}
    rows = connection.exec_driver_sql("SELECT name, checksum FROM repeatable_migrations")
    applied: dict[str, str] = {str(row[0]): str(row[1]) for row in rows}
    if applied == wanted:
        return []
    # Any change re-applies all of them, in order: one object may depend on another (the
    # balance-limit CHECK on the function that names the limit).
    for text in files.values():
        connection.exec_driver_sql(text)
    connection.exec_driver_sql("DELETE FROM repeatable_migrations")
    for name, checksum in wanted.items():
        connection.exec_driver_sql(
            "INSERT INTO repeatable_migrations (name, checksum) VALUES ($1, $2)", (name, checksum)
        )
    return list(files)


def _run(connection: Connection, repeatable: Path | None) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
    try:
        with context.begin_transaction():
            context.run_migrations()
        if repeatable is not None:
            current = set(context.get_context().get_current_heads())
            at_head = current == set(context.script.get_heads())
            _sync_repeatables(connection, repeatable, at_head)
            connection.commit()
    finally:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")


async def _run_online(dsn: str, repeatable: Path | None) -> None:
    # asyncpg itself opens the connection, so the DSN means exactly what it means to the
    # services (libpq options like ?sslmode=require included); SQLAlchemy's URL parsing would
    # hand such options to asyncpg.connect() as unknown keyword arguments.
    engine = create_async_engine(
        "postgresql+asyncpg://",
        poolclass=pool.NullPool,
        async_creator=lambda: connect(dsn),
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run, repeatable)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env(repeatable: Path | None = None) -> None:
    """Call from a service's ``migrations/env.py``; ``repeatable`` is its folder of repeatable
    ``.sql`` files, if it has one."""
    dsn = context.config.get_main_option(DSN_OPTION)
    if not dsn:
        raise RuntimeError(f"{DSN_OPTION} is not set; run migrations through tollgate_kit.db")
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    asyncio.run(_run_online(dsn, repeatable))
