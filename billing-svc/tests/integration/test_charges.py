"""Charge: Stripe-style idempotency and a balance that never goes below zero."""

import asyncio
import uuid

import asyncpg
import grpc
import pytest
from google.rpc import error_details_pb2

from tollgate.billing.v1 import billing_pb2
from tollgate_kit.errors import error_reason, status_from_metadata

pytestmark = pytest.mark.integration


def charge(amount, key=None, description=""):
    return billing_pb2.ChargeRequest(
        amount=amount, description=description, idempotency_key=key or uuid.uuid4().hex
    )


async def rows(dsn, sql, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_charge_debits_the_wallet_and_records_a_transaction(billing):
    md = await billing.funded(100)
    resp = await billing.stub.Charge(charge(30, description="coffee"), metadata=md)
    assert resp.balance == 70
    tx = resp.transaction
    assert tx.amount == -30
    assert tx.kind == billing_pb2.Transaction.CHARGE
    assert tx.currency == "USD"
    assert tx.description == "coffee"
    assert uuid.UUID(tx.id)
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    assert wallet.balance == 70


async def test_concurrent_charges_never_overdraw(billing):
    md = await billing.funded(100)
    results = await asyncio.gather(
        *(billing.stub.Charge(charge(1), metadata=md) for _ in range(200)),
        return_exceptions=True,
    )
    succeeded = [r for r in results if isinstance(r, billing_pb2.ChargeResponse)]
    declined = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(succeeded) == 100
    assert len(declined) == 100
    assert all(error_reason(err) == "INSUFFICIENT_FUNDS" for err in declined)
    assert all(r.balance >= 0 for r in succeeded)
    assert sorted(r.balance for r in succeeded) == list(range(100))
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    assert wallet.balance == 0


async def test_concurrent_duplicates_debit_once_and_answer_alike(billing):
    md = await billing.funded(100)
    request = charge(7, description="once")
    responses = await asyncio.gather(
        *(billing.stub.Charge(request, metadata=md) for _ in range(50))
    )
    assert {r.SerializeToString(deterministic=True) for r in responses} == {
        responses[0].SerializeToString(deterministic=True)
    }
    assert responses[0].balance == 93
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    assert wallet.balance == 93
    assert await billing.metric("billing_charge_total", result="success") == 1
    assert await billing.metric("billing_charge_total", result="replay") == 49


async def test_a_later_replay_returns_the_original_result(billing):
    md = await billing.funded(100)
    request = charge(10)
    first = await billing.stub.Charge(request, metadata=md)
    await billing.stub.Charge(charge(20), metadata=md)
    again = await billing.stub.Charge(request, metadata=md)
    assert again == first
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    assert wallet.balance == 70


@pytest.mark.parametrize(
    "changed", [{"amount": 11}, {"amount": 10, "description": "something else"}]
)
async def test_same_key_different_request_is_rejected(billing, changed):
    md = await billing.funded(100)
    await billing.stub.Charge(charge(10, key="order-1"), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.Charge(charge(key="order-1", **changed), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err.value) == "IDEMPOTENCY_KEY_REUSED"
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    assert wallet.balance == 90
    assert await billing.metric("billing_charge_total", result="conflict") == 1


async def test_a_top_up_key_cannot_be_replayed_as_a_charge(billing):
    md = await billing.session()
    await billing.stub.TopUp(billing_pb2.TopUpRequest(amount=50, idempotency_key="k1"), metadata=md)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.Charge(charge(50, key="k1"), metadata=md)
    assert error_reason(err.value) == "IDEMPOTENCY_KEY_REUSED"


async def test_keys_are_scoped_per_user(billing):
    alice, bob = await billing.funded(100), await billing.funded(100)
    a = await billing.stub.Charge(charge(10, key="shared"), metadata=alice)
    b = await billing.stub.Charge(charge(20, key="shared"), metadata=bob)
    assert a.transaction.id != b.transaction.id
    assert (a.balance, b.balance) == (90, 80)


async def test_insufficient_funds_writes_nothing(billing):
    md = await billing.funded(10)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.Charge(charge(11, key="too-much"), metadata=md)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err.value) == "INSUFFICIENT_FUNDS"
    assert (
        await rows(billing.dsn, "SELECT 1 FROM transactions WHERE idempotency_key = 'too-much'")
        == []
    )
    listed = await billing.stub.ListTransactions(billing_pb2.ListTransactionsRequest(), metadata=md)
    assert [t.kind for t in listed.transactions] == [billing_pb2.Transaction.TOP_UP]
    # The key is still free: the same request succeeds once there is money.
    await billing.stub.TopUp(
        billing_pb2.TopUpRequest(amount=1, idempotency_key="more"), metadata=md
    )
    resp = await billing.stub.Charge(charge(11, key="too-much"), metadata=md)
    assert resp.balance == 0


async def test_an_empty_wallet_cannot_be_charged(billing):
    md = await billing.session()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.Charge(charge(1), metadata=md)
    assert error_reason(err.value) == "INSUFFICIENT_FUNDS"


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (billing_pb2.ChargeRequest(amount=0, idempotency_key="k"), "INVALID_AMOUNT"),
        (billing_pb2.ChargeRequest(amount=-5, idempotency_key="k"), "INVALID_AMOUNT"),
        (billing_pb2.ChargeRequest(amount=2**62, idempotency_key="k"), "INVALID_AMOUNT"),
        (billing_pb2.ChargeRequest(amount=1), "INVALID_IDEMPOTENCY_KEY"),
        (
            billing_pb2.ChargeRequest(amount=1, idempotency_key="k", description="x" * 501),
            "INVALID_DESCRIPTION",
        ),
    ],
)
async def test_invalid_charges_are_rejected(billing, request_, reason):
    md = await billing.funded(100)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.Charge(request_, metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err.value) == reason
    assert await billing.metric("billing_charge_total", result="invalid") == 1


async def test_an_amount_over_the_maximum_says_what_the_maximum_is(billing):
    # The web app shows the limit in the user's currency instead of a bare refusal.
    md = await billing.funded(100)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.Charge(
            billing_pb2.ChargeRequest(amount=billing.settings.max_amount + 1, idempotency_key="k"),
            metadata=md,
        )
    assert error_reason(err.value) == "INVALID_AMOUNT"
    status = status_from_metadata(
        err.value.code(), err.value.details() or "", err.value.trailing_metadata()
    )
    [detail] = status.details
    info = error_details_pb2.ErrorInfo()
    detail.Unpack(info)
    assert dict(info.metadata) == {"max_amount": str(billing.settings.max_amount)}
