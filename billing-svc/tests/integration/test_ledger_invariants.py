"""The check run after every integration test does catch a ledger that does not add up."""

import uuid

import asyncpg
import pytest

pytestmark = pytest.mark.integration


async def test_the_ledger_check_catches_a_balance_without_transactions(
    billing_database, ledger_check
):
    user_id = f"broken-{uuid.uuid4().hex}"
    conn = await asyncpg.connect(billing_database)
    try:
        await conn.execute(
            "INSERT INTO wallets (user_id, currency, balance) VALUES ($1, 'USD', 5)", user_id
        )
        violations = await ledger_check(billing_database)
        assert [(v["rule"], v["user_id"], v["stored"], v["expected"]) for v in violations] == [
            ("balance", user_id, 5, 0)
        ]
    finally:
        await conn.execute("DELETE FROM wallets WHERE user_id = $1", user_id)
        await conn.close()
    assert await ledger_check(billing_database) == []


async def test_the_database_refuses_a_negative_balance(billing_database):
    conn = await asyncpg.connect(billing_database)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO wallets (user_id, currency, balance) VALUES ('neg', 'USD', -1)"
            )
    finally:
        await conn.close()
