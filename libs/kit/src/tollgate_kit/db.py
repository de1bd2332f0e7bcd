"""PostgreSQL helpers: database creation, asyncpg pools and alembic migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointed at another database on the same server."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(dsn: str) -> str:
    name = urlsplit(dsn).path.lstrip("/")
    if not name:
        raise ValueError(f"DSN names no database: {dsn!r}")
    return name


async def ensure_database(dsn: str) -> bool:
    """Create the database ``dsn`` names unless it exists; True when it was created."""
    name = database_name(dsn)
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False  # created concurrently by another starter
        return True
    finally:
        await conn.close()


async def drop_database(dsn: str) -> None:
    """Drop the database ``dsn`` names, ending its sessions first (tests only)."""
    name = database_name(dsn)
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    if pool is None:  # only when the pool is used in an unusual way; keeps mypy exact
        raise RuntimeError("asyncpg returned no pool")
    return pool


def _sqlalchemy_url(dsn: str) -> str:
    scheme, rest = dsn.split("://", 1)
    if scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise ValueError(f"not a PostgreSQL DSN: {dsn!r}")
    return "postgresql+asyncpg://" + rest


def upgrade_sync(dsn: str, migrations: Path, revision: str = "head") -> None:
    """Apply alembic migrations in ``migrations`` (a script directory) up to ``revision``."""
    from alembic import command
    from alembic.config import Config

    if not (migrations / "env.py").is_file():
        raise FileNotFoundError(f"no alembic env.py in {migrations}")
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("sqlalchemy.url", _sqlalchemy_url(dsn).replace("%", "%%"))
    command.upgrade(config, revision)


async def upgrade(dsn: str, migrations: Path, revision: str = "head") -> None:
    """Create the database if needed and migrate it (alembic runs in a worker thread)."""
    await ensure_database(dsn)
    await asyncio.to_thread(upgrade_sync, dsn, migrations, revision)
