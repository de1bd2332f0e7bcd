"""PostgreSQL helpers: database creation, asyncpg pools and alembic migrations."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

# The database is down, restarting, full or dropped the connection: a caller may retry, so
# these answer UNAVAILABLE rather than INTERNAL. (TimeoutError is an OSError: a pool that
# hands out no connection in time counts too.)
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    # A primary that became a standby during a failover.
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)

# The alembic config option that carries the service's own (asyncpg / libpq) DSN to env.py.
DSN_OPTION = "tollgate.dsn"


def connect_options(dsn: str) -> tuple[str, dict[str, Any]]:
    """``dsn`` without the options that are asyncpg's, not the server's, and those options.

    ``statement_cache_size=0`` in the DSN's query turns asyncpg's prepared-statement cache off:
    what a connection pooler in transaction mode needs (PgBouncer before 1.21, or with
    ``max_prepared_statements = 0``), since the next statement may run on another server
    connection that never prepared it. Anything else in the query goes to the server.
    """
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options: dict[str, Any] = {}
    rest = []
    for name, value in query:
        if name == "statement_cache_size":
            options["statement_cache_size"] = int(value)
        else:
            rest.append((name, value))
    if not options:
        return dsn, options
    return urlunsplit(parts._replace(query=urlencode(rest))), options


async def connect(dsn: str, **kwargs: Any) -> asyncpg.Connection:
    """``asyncpg.connect`` with :func:`connect_options` applied."""
    plain, options = connect_options(dsn)
    return await asyncpg.connect(plain, **{**options, **kwargs})


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointed at another database on the same server."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(dsn: str) -> str:
    name = urlsplit(dsn).path.lstrip("/")
    if not name:
        raise ValueError("the DSN names no database (postgresql://host/<database>)")
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
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            # Created concurrently by another starter: PostgreSQL reports the race either as
            # "already exists" or as a unique violation on pg_database's name index.
            return False
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
    plain, options = connect_options(dsn)
    pool = await asyncpg.create_pool(plain, min_size=min_size, max_size=max_size, **options)
    if pool is None:  # only when the pool is used in an unusual way; keeps mypy exact
        raise RuntimeError("asyncpg returned no pool")
    return pool


# What a probe's check may meet: the database out of reach, or refusing (shutting down,
# recovering), or a connection broken under it.
_PROBE_FAILURES: tuple[type[Exception], ...] = (
    *DATABASE_UNREACHABLE,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class DatabaseProbe:
    """The database part of ``/readyz``, on a connection of its own.

    Through the service's pool the check would wait for a free connection, so a pool busy
    with slow work (sends waiting on an SMTP server, charges on a locked wallet) would mark
    every replica unready at once although the database is fine. The probe keeps one
    connection, opens it again when it is lost, and answers within ``timeout`` seconds.
    """

    def __init__(self, dsn: str, timeout: float = 2.0) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> bool:
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):
                    if self._conn is None or self._conn.is_closed():
                        self._conn = await connect(self._dsn)
                    return bool(await self._conn.fetchval("SELECT 1"))
            except _PROBE_FAILURES:
                self._discard()
                return False

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                try:
                    await self._conn.close(timeout=2)
                except _PROBE_FAILURES:
                    self._conn.terminate()
            self._conn = None

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
        self._conn = None


def _check_dsn(dsn: str) -> None:
    scheme = dsn.split("://", 1)[0]
    if scheme not in {"postgres", "postgresql"}:
        raise ValueError("not a PostgreSQL DSN: expected postgresql://…")


def migrations_dir(package: str | ModuleType, override: Path | None = None) -> Path:
    """The alembic script directory of a service package (``"auth_svc"`` or the module).

    ``override`` (the service's ``<PREFIX>_MIGRATIONS_DIR`` setting) wins. Otherwise a built
    wheel carries the scripts as ``<package>/migrations`` (the hatch force-include in every
    service's ``pyproject.toml``), and a checkout or editable install has them in the service
    folder next to ``src/`` (``auth-svc/migrations``).
    """
    if override is not None:
        return override
    name, root = _package_dir(package)
    candidates = [root / "migrations"]
    if root.parent.name == "src":
        candidates.append(root.parent.parent / "migrations")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no migrations directory for {name} (looked in {looked}); "
        "set the service's <PREFIX>_MIGRATIONS_DIR"
    )


def _package_dir(package: str | ModuleType) -> tuple[str, Path]:
    """The package's name and directory, found without importing it."""
    if isinstance(package, ModuleType):
        name, locations = package.__name__, getattr(package, "__path__", None)
    else:
        spec = importlib.util.find_spec(package)
        name, locations = package, spec.submodule_search_locations if spec else None
    if not locations:
        raise ValueError(f"{name!r} is not an importable package")
    return name, Path(next(iter(locations))).resolve()


def _alembic_config(dsn: str, migrations: Path) -> Any:
    from alembic.config import Config

    _require_env_py(migrations)
    config = Config()
    config.set_main_option("script_location", str(migrations))
    _check_dsn(dsn)
    config.set_main_option(DSN_OPTION, dsn.replace("%", "%%"))
    return config


def upgrade_sync(dsn: str, migrations: Path, revision: str = "head") -> None:
    """Apply alembic migrations in ``migrations`` (a script directory) up to ``revision``."""
    from alembic import command

    command.upgrade(_alembic_config(dsn, migrations), revision)


async def upgrade(dsn: str, migrations: Path, revision: str = "head") -> None:
    """Create the database if needed and migrate it (alembic runs in a worker thread)."""
    _require_env_py(migrations)  # before creating a database that nothing would migrate
    await ensure_database(dsn)
    await asyncio.to_thread(upgrade_sync, dsn, migrations, revision)


async def downgrade(dsn: str, migrations: Path, revision: str) -> None:
    """Revert the database's migrations down to ``revision``."""
    from alembic import command

    config = _alembic_config(dsn, migrations)
    await asyncio.to_thread(command.downgrade, config, revision)


def _require_env_py(migrations: Path) -> None:
    if not (migrations / "env.py").is_file():
        raise FileNotFoundError(f"no alembic env.py in {migrations}")
