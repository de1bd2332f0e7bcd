"""Refund: partial and repeated refunds of one's own charges, never more than was charged."""

import asyncio
import uuid

import grpc
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.integration


def refund(charge_id, amount, key=None):
    return billing_pb2.RefundRequest(
        charge_id=charge_id, amount=amount, idempotency_key=key or uuid.uuid4().hex
    )


async def charged(billing, amount=60, balance=100):
    """A funded user who has been charged ``amount``: (metadata, charge id)."""
    md = await billing.funded(balance)
    resp = await billing.stub.Charge(
        billing_pb2.ChargeRequest(amount=amount, idempotency_key=uuid.uuid4().hex), metadata=md
    )
    return md, resp.transaction.id


async def balance(billing, md):
    return (await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)).balance


async def refund_error(billing, request, md):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.Refund(request, metadata=md)
    return err.value.code(), error_reason(err.value)


async def test_partial_and_repeated_refunds_credit_the_wallet(billing):
    md, charge_id = await charged(billing, 60)
    first = await billing.stub.Refund(refund(charge_id, 10), metadata=md)
    assert first.balance == 50
    assert first.transaction.kind == billing_pb2.Transaction.REFUND
    assert first.transaction.amount == 10
    assert first.transaction.refund_of == charge_id
    second = await billing.stub.Refund(refund(charge_id, 50), metadata=md)
    assert second.balance == 100
    assert await balance(billing, md) == 100


async def test_refunding_more_than_is_left_is_rejected(billing):
    md, charge_id = await charged(billing, 60)
    await billing.stub.Refund(refund(charge_id, 40), metadata=md)
    code, reason = await refund_error(billing, refund(charge_id, 21), md)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "REFUND_EXCEEDS_CHARGE")
    assert await balance(billing, md) == 80
    # Exactly what is left still works.
    assert (await billing.stub.Refund(refund(charge_id, 20), metadata=md)).balance == 100


async def test_concurrent_refunds_never_exceed_the_charge(billing):
    md, charge_id = await charged(billing, 60)
    results = await asyncio.gather(
        *(billing.stub.Refund(refund(charge_id, 7), metadata=md) for _ in range(30)),
        return_exceptions=True,
    )
    ok = [r for r in results if isinstance(r, billing_pb2.RefundResponse)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(ok) == 8  # 8 * 7 = 56 <= 60 < 63
    assert {error_reason(e) for e in refused} == {"REFUND_EXCEEDS_CHARGE"}
    assert await balance(billing, md) == 40 + 56


async def test_a_refund_replay_credits_once(billing):
    md, charge_id = await charged(billing, 60)
    request = refund(charge_id, 25)
    responses = await asyncio.gather(
        *(billing.stub.Refund(request, metadata=md) for _ in range(20))
    )
    assert len({r.transaction.id for r in responses}) == 1
    assert {r.balance for r in responses} == {65}
    assert await balance(billing, md) == 65
    code, reason = await refund_error(
        billing, refund(charge_id, 26, key=request.idempotency_key), md
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED")


async def test_a_refund_cannot_be_refunded(billing):
    md, charge_id = await charged(billing, 60)
    refund_id = (await billing.stub.Refund(refund(charge_id, 10), metadata=md)).transaction.id
    code, reason = await refund_error(billing, refund(refund_id, 1), md)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_REFUNDABLE")


async def test_a_top_up_cannot_be_refunded(billing):
    md = await billing.session()
    top_up = await billing.stub.TopUp(
        billing_pb2.TopUpRequest(amount=10, idempotency_key="t"), metadata=md
    )
    code, reason = await refund_error(billing, refund(top_up.transaction.id, 1), md)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_REFUNDABLE")


async def test_another_users_charge_is_not_found(billing):
    _, charge_id = await charged(billing, 60)
    mallory = await billing.funded(1)
    code, reason = await refund_error(billing, refund(charge_id, 10), mallory)
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CHARGE_NOT_FOUND")
    code, reason = await refund_error(billing, refund(str(uuid.uuid4()), 10), mallory)
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CHARGE_NOT_FOUND")
    assert await balance(billing, mallory) == 1


@pytest.mark.parametrize(
    ("charge_id", "amount", "reason"),
    [("not-a-uuid", 1, "INVALID_CHARGE_ID"), (None, 0, "INVALID_AMOUNT")],
)
async def test_invalid_refunds_are_rejected(billing, charge_id, amount, reason):
    md, own_charge = await charged(billing, 60)
    code, got = await refund_error(billing, refund(charge_id or own_charge, amount), md)
    assert (code, got) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
