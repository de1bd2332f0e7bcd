"""No wallet holds more than 2^53 - 1 minor units: credits past it are refused, nothing written."""

import uuid

import asyncpg
import grpc
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_devstack.testing import temp_database
from tollgate_kit.db import downgrade, migrations_dir, upgrade
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.integration

# migrations/sql/billing_max_balance.sql: the largest integer a JSON number keeps exactly.
MAX_BALANCE = 2**53 - 1


def key():
    return uuid.uuid4().hex


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return error_reason(err.value)


async def balance(billing, md):
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    return wallet.balance


async def test_a_top_up_may_fill_the_wallet_but_not_cross_the_limit(billing_factory):
    async with billing_factory(max_amount=MAX_BALANCE) as billing:
        md = await billing.session()
        await billing.stub.TopUp(
            billing_pb2.TopUpRequest(amount=MAX_BALANCE - 10, idempotency_key=key()), metadata=md
        )
        over = billing_pb2.TopUpRequest(amount=11, idempotency_key=key())
        assert await refused(billing.stub.TopUp(over, metadata=md)) == "BALANCE_LIMIT_EXCEEDED"
        assert await balance(billing, md) == MAX_BALANCE - 10
        assert await billing.metric("billing_top_up_total", result="balance_limit") == 1

        full = await billing.stub.TopUp(
            billing_pb2.TopUpRequest(amount=10, idempotency_key=key()), metadata=md
        )
        assert full.balance == MAX_BALANCE
        # The refused key wrote nothing, so it can be used once the wallet has room.
        await billing.stub.Charge(
            billing_pb2.ChargeRequest(amount=11, idempotency_key=key()), metadata=md
        )
        again = await billing.stub.TopUp(over, metadata=md)
        assert again.balance == MAX_BALANCE


async def test_a_refund_into_a_full_wallet_is_refused_and_keeps_the_charge_refundable(
    billing_factory,
):
    async with billing_factory(max_amount=MAX_BALANCE) as billing:
        md = await billing.session()
        await billing.stub.TopUp(
            billing_pb2.TopUpRequest(amount=MAX_BALANCE, idempotency_key=key()), metadata=md
        )
        charge = await billing.stub.Charge(
            billing_pb2.ChargeRequest(amount=5, idempotency_key=key()), metadata=md
        )
        await billing.stub.TopUp(
            billing_pb2.TopUpRequest(amount=5, idempotency_key=key()), metadata=md
        )
        refund = billing_pb2.RefundRequest(
            charge_id=charge.transaction.id, amount=1, idempotency_key=key()
        )
        assert await refused(billing.stub.Refund(refund, metadata=md)) == "BALANCE_LIMIT_EXCEEDED"
        assert await balance(billing, md) == MAX_BALANCE

        await billing.stub.Charge(
            billing_pb2.ChargeRequest(amount=5, idempotency_key=key()), metadata=md
        )
        # The refused refund took nothing from the charge: all 5 can still be refunded.
        done = await billing.stub.Refund(
            billing_pb2.RefundRequest(
                charge_id=charge.transaction.id, amount=5, idempotency_key=key()
            ),
            metadata=md,
        )
        assert done.balance == MAX_BALANCE


async def test_the_database_refuses_a_balance_past_the_limit(billing):
    conn = await asyncpg.connect(billing.dsn)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO wallets (user_id, currency, balance) VALUES ($1, 'USD', $2)",
                f"user-{key()}",
                MAX_BALANCE + 1,
            )
    finally:
        await conn.close()


async def test_the_migration_downgrades_and_upgrades_again():
    migrations = migrations_dir("billing_svc")
    constraint = "SELECT count(*) FROM pg_constraint WHERE conname = 'wallets_balance_limit'"
    async with temp_database("billing_mig") as dsn:
        await upgrade(dsn, migrations)
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval(constraint) == 1
            await downgrade(dsn, migrations, "0001_ledger")
            assert await conn.fetchval(constraint) == 0
            # 0001's top-up is back: no limit check in its body.
            body = await conn.fetchval(
                "SELECT prosrc FROM pg_proc WHERE proname = 'billing_top_up'"
            )
            assert "balance_limit" not in body
            await upgrade(dsn, migrations)
            assert await conn.fetchval(constraint) == 1
        finally:
            await conn.close()
