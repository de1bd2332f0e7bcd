"""The connection pool of the ledger."""

from __future__ import annotations

import asyncpg

from tollgate_kit.db import connect_options


async def _keep_session(_: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool.

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: a second round trip per charge. The ledger never changes
    session state (no SET, LISTEN, advisory locks or cursors), and asyncpg still rolls back a
    transaction left open before this hook runs.
    """


async def create_ledger_pool(
    dsn: str, *, min_size: int, max_size: int, statement_timeout: float = 10.0
) -> asyncpg.Pool:
    """The ledger's pool. Its sessions run READ COMMITTED whatever the database's or role's
    default: the ledger functions rely on it (a charge that waited for a wallet's lock
    re-reads the committed balance; under REPEATABLE READ it would fail with a serialization
    error instead). ``statement_timeout`` (seconds) bounds every statement, lock waits
    included. Both are startup parameters: no extra round trip. (PgBouncer 1.18 drops them,
    ``ignore_startup_parameters``: behind it, the database carries them, deploy/README.md.)"""
    plain, options = connect_options(dsn)
    pool = await asyncpg.create_pool(
        plain,
        **options,
        min_size=min_size,
        max_size=max_size,
        reset=_keep_session,
        server_settings={
            "default_transaction_isolation": "read committed",
            "statement_timeout": str(max(1, round(statement_timeout * 1000))),
        },
    )
    if pool is None:  # only when the pool is used in an unusual way; keeps mypy exact
        raise RuntimeError("asyncpg returned no pool")
    return pool
