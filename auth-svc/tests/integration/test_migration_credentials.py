"""Migration 0004 adds the account-security tables and columns and goes down again."""

from __future__ import annotations

import asyncpg

from tollgate_devstack.testing import temp_database
from tollgate_kit.db import downgrade, migrations_dir, upgrade

TABLES = {"password_reset_tokens", "email_change_tokens", "mfa_recovery_codes"}


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


async def test_0004_up_and_down() -> None:
    migrations = migrations_dir("auth_svc")
    async with temp_database("auth_m4") as dsn:
        await upgrade(dsn, migrations)
        conn = await asyncpg.connect(dsn)
        try:
            assert await _tables(conn) >= TABLES
            columns = await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'users' AND column_name LIKE 'mfa_%'"
            )
            assert {c["column_name"] for c in columns} == {
                "mfa_secret",
                "mfa_pending_secret",
                "mfa_last_step",
                "mfa_enabled_at",
            }
            await downgrade(dsn, migrations, "0003")
            assert not TABLES & await _tables(conn)
        finally:
            await conn.close()
