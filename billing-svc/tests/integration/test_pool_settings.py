"""The ledger pool's session settings: READ COMMITTED whatever the database's default, and a
statement timeout that a held wallet lock cannot outlast."""

import asyncio
import uuid
from contextlib import asynccontextmanager

import asyncpg
import grpc
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_kit.db import database_name
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.integration


@asynccontextmanager
async def database_default(dsn, setting, value):
    """``ALTER DATABASE … SET setting = value`` for new sessions, reset afterwards."""
    conn = await asyncpg.connect(dsn)
    name = database_name(dsn)
    try:
        await conn.execute(f"ALTER DATABASE \"{name}\" SET {setting} = '{value}'")
        yield
    finally:
        await conn.execute(f'ALTER DATABASE "{name}" RESET {setting}')
        await conn.close()


async def test_concurrent_charges_succeed_when_the_database_defaults_to_repeatable_read(
    billing_factory, billing_database
):
    # A managed or DBA-hardened database may default to REPEATABLE READ; the ledger's
    # functions wait for a wallet's lock and then re-read it, which only READ COMMITTED allows.
    async with (
        database_default(billing_database, "default_transaction_isolation", "repeatable read"),
        billing_factory() as billing,
    ):
        md = await billing.funded(100)
        calls = [
            billing.stub.Charge(
                billing_pb2.ChargeRequest(amount=1, idempotency_key=uuid.uuid4().hex),
                metadata=md,
            )
            for _ in range(40)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures == []
        wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
        assert wallet.balance == 60


async def test_a_held_wallet_lock_times_out_as_unavailable_and_the_retry_charges_once(
    billing_factory, billing_database
):
    async with billing_factory(db_statement_timeout_seconds=0.3) as billing:
        user = f"user-{uuid.uuid4().hex}"
        md = await billing.session(user)
        await billing.stub.TopUp(
            billing_pb2.TopUpRequest(amount=10, idempotency_key=uuid.uuid4().hex), metadata=md
        )
        charge = billing_pb2.ChargeRequest(amount=4, idempotency_key=uuid.uuid4().hex)
        admin = await asyncpg.connect(billing_database)
        try:
            locked = admin.transaction()
            await locked.start()
            await admin.execute("SELECT 1 FROM wallets WHERE user_id = $1 FOR UPDATE", user)
            started = asyncio.get_running_loop().time()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                # No deadline: only the statement timeout ends the wait.
                await billing.stub.Charge(charge, metadata=md)
            waited = asyncio.get_running_loop().time() - started
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_reason(err.value) == "LEDGER_UNAVAILABLE"
            assert "in time" in (err.value.details() or "")
            assert waited < 3
            await locked.rollback()
        finally:
            await admin.close()
        first = await billing.stub.Charge(charge, metadata=md)
        again = await billing.stub.Charge(charge, metadata=md)
        assert (first.balance, again.balance) == (6, 6)
        assert first.transaction.id == again.transaction.id
