"""Migration 0003 on a database with users: they stay usable (ACTIVE) and each gets a sign-up
saga without the sign-up credit, which opens their wallet; the migration goes down again."""

from __future__ import annotations

import json
import uuid

import asyncpg

from tollgate_devstack.testing import temp_database
from tollgate_kit.db import downgrade, migrations_dir, upgrade


async def test_existing_users_become_active_and_get_a_wallet_opening_saga() -> None:
    migrations = migrations_dir("auth_svc")
    async with temp_database("auth_m3") as dsn:
        await upgrade(dsn, migrations, "0002")
        conn = await asyncpg.connect(dsn)
        try:
            user_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO users (id, email, password_hash) VALUES ($1, 'old@example.com', 'h')",
                user_id,
            )
            await upgrade(dsn, migrations)
            assert await conn.fetchval("SELECT state FROM users WHERE id = $1", user_id) == (
                "ACTIVE"
            )
            saga = await conn.fetchrow(
                "SELECT kind, state, step, payload FROM sagas WHERE subject = $1", str(user_id)
            )
            assert saga is not None
            assert (saga["kind"], saga["state"], saga["step"]) == ("registration", "running", 0)
            assert json.loads(saga["payload"]) == {"sign_up_credit": False}
            # New users start PENDING.
            new_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO users (id, email, password_hash) VALUES ($1, 'new@example.com', 'h')",
                new_id,
            )
            assert await conn.fetchval("SELECT state FROM users WHERE id = $1", new_id) == (
                "PENDING"
            )
            await downgrade(dsn, migrations, "0002")
            assert await conn.fetchval("SELECT to_regclass('sagas')") is None
            assert await conn.fetchval("SELECT count(*) FROM users") == 2
        finally:
            await conn.close()
