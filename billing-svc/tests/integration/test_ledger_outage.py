"""PostgreSQL out of reach: money calls answer UNAVAILABLE (retry with the same key), and the
service recovers by itself once the database is back."""

import uuid
from urllib.parse import urlsplit

import grpc
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_devstack.testing import TcpProxy, through_port
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.integration


async def test_a_lost_database_is_unavailable_then_recovers(billing_factory, billing_database):
    target = urlsplit(billing_database)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    async with billing_factory(database_url=through_port(billing_database, proxy.port)) as billing:
        md = await billing.funded(10)
        await proxy.cut()
        key = uuid.uuid4().hex
        charge = billing_pb2.ChargeRequest(amount=3, idempotency_key=key)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await billing.stub.Charge(charge, metadata=md)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(err.value) == "LEDGER_UNAVAILABLE"
        assert "retry" in (err.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as read:
            await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
        assert read.value.code() == grpc.StatusCode.UNAVAILABLE
        assert await billing.metric("billing_charge_total", result="error") == 1

        await proxy.start()  # the database is back: the same key charges exactly once
        first = await billing.stub.Charge(charge, metadata=md)
        again = await billing.stub.Charge(charge, metadata=md)
        assert (first.balance, again.balance) == (7, 7)
        assert first.transaction.id == again.transaction.id
    await proxy.cut()
