"""Migration 0003 on a ledger with money in it: wallets stay open and keep working, and the
migration goes down again to the functions of 0002."""

from __future__ import annotations

import hashlib

import asyncpg

from tollgate_devstack.testing import temp_database
from tollgate_kit.db import downgrade, migrations_dir, upgrade


async def test_existing_wallets_stay_open_and_money_moves_after_the_upgrade() -> None:
    migrations = migrations_dir("billing_svc")
    fingerprint = hashlib.sha256(b"x").digest()
    async with temp_database("billing_m3") as dsn:
        await upgrade(dsn, migrations, "0002_balance_limit")
        conn = await asyncpg.connect(dsn)
        try:
            await conn.fetchrow(
                "SELECT * FROM billing_top_up('old-user', 'USD', 500, 'k1', $1)", fingerprint
            )
            await upgrade(dsn, migrations)
            assert (
                await conn.fetchval("SELECT state FROM wallets WHERE user_id = 'old-user'")
                == "open"
            )
            charged = await conn.fetchrow(
                "SELECT * FROM billing_charge('old-user', 'USD', 200, '', 'k2', $1)", fingerprint
            )
            assert (charged["outcome"], charged["balance"]) == ("created", 300)
            never = await conn.fetchrow(
                "SELECT * FROM billing_top_up('new-user', 'USD', 5, 'k3', $1)", fingerprint
            )
            assert never["outcome"] == "wallet_not_open"
            await downgrade(dsn, migrations, "0002_balance_limit")
            # 0002's top-up creates wallets on first use again.
            again = await conn.fetchrow(
                "SELECT * FROM billing_top_up('new-user', 'USD', 5, 'k3', $1)", fingerprint
            )
            assert again["outcome"] == "created"
        finally:
            await conn.close()
