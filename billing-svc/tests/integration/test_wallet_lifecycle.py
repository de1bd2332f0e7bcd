"""Wallets opened and closed by auth-svc's sagas (WalletLifecycleService), and money calls
refused on a wallet that is not open — checked inside the ledger functions."""

from __future__ import annotations

import uuid

import asyncpg
import grpc
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.asyncio


def key() -> str:
    return uuid.uuid4().hex


async def refused(call: object) -> tuple[grpc.StatusCode, str | None]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return err.value.code(), error_reason(err.value)


async def test_money_calls_for_a_wallet_never_opened_answer_wallet_not_open(billing):
    md = await billing.session(open_wallet=False)
    for call in (
        billing.stub.TopUp(billing_pb2.TopUpRequest(amount=5, idempotency_key=key()), metadata=md),
        billing.stub.Charge(
            billing_pb2.ChargeRequest(amount=5, idempotency_key=key()), metadata=md
        ),
    ):
        assert await refused(call) == (grpc.StatusCode.FAILED_PRECONDITION, "WALLET_NOT_OPEN")
    assert await billing.metric("billing_charge_total", result="wallet_not_open") == 1


async def test_open_credits_the_configured_sign_up_credit_once(billing_factory):
    async with billing_factory(sign_up_credit=250) as billing:
        user, saga = f"user-{key()}", key()
        request = billing_pb2.OpenWalletRequest(
            user_id=user, idempotency_key=saga, sign_up_credit=True
        )
        answers = [await billing.lifecycle.OpenWallet(request) for _ in range(3)]
        assert [a.balance for a in answers] == [250, 250, 250]
        md = await billing.session(user, open_wallet=False)
        wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
        assert wallet.balance == 250
        page = await billing.stub.ListTransactions(
            billing_pb2.ListTransactionsRequest(), metadata=md
        )
        assert [t.amount for t in page.transactions] == [250]
        # Without the flag (wallets opened for existing users) nothing is credited.
        other = await billing.lifecycle.OpenWallet(
            billing_pb2.OpenWalletRequest(user_id=f"user-{key()}", idempotency_key=key())
        )
        assert other.balance == 0


async def test_a_wallet_with_money_refuses_to_close_and_changes_nothing(billing):
    user = f"user-{key()}"
    md = await billing.session(user)
    await billing.stub.TopUp(billing_pb2.TopUpRequest(amount=7, idempotency_key=key()), metadata=md)
    for validate_only in (True, False):
        code, reason = await refused(
            billing.lifecycle.CloseWallet(
                billing_pb2.CloseWalletRequest(user_id=user, validate_only=validate_only)
            )
        )
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "WALLET_NOT_EMPTY")
    charged = await billing.stub.Charge(
        billing_pb2.ChargeRequest(amount=7, idempotency_key=key()), metadata=md
    )
    assert charged.balance == 0


async def test_a_closed_wallet_refuses_money_keeps_its_ledger_and_can_be_reopened(billing):
    user = f"user-{key()}"
    md = await billing.session(user)
    top_up = await billing.stub.TopUp(
        billing_pb2.TopUpRequest(amount=9, idempotency_key=key()), metadata=md
    )
    charge = await billing.stub.Charge(
        billing_pb2.ChargeRequest(amount=9, idempotency_key=key()), metadata=md
    )
    # validate_only changes nothing; closing twice is closing once.
    await billing.lifecycle.CloseWallet(
        billing_pb2.CloseWalletRequest(user_id=user, validate_only=True)
    )
    await billing.stub.TopUp(billing_pb2.TopUpRequest(amount=1, idempotency_key=key()), metadata=md)
    await billing.stub.Charge(
        billing_pb2.ChargeRequest(amount=1, idempotency_key=key()), metadata=md
    )
    for _ in range(2):
        await billing.lifecycle.CloseWallet(billing_pb2.CloseWalletRequest(user_id=user))
    closed = (grpc.StatusCode.FAILED_PRECONDITION, "WALLET_CLOSED")
    assert (
        await refused(
            billing.stub.TopUp(
                billing_pb2.TopUpRequest(amount=1, idempotency_key=key()), metadata=md
            )
        )
        == closed
    )
    assert (
        await refused(
            billing.stub.Refund(
                billing_pb2.RefundRequest(
                    charge_id=charge.transaction.id, amount=1, idempotency_key=key()
                ),
                metadata=md,
            )
        )
        == closed
    )
    assert (
        await refused(billing.lifecycle.OpenWallet(billing_pb2.OpenWalletRequest(user_id=user)))
        == closed
    )
    conn = await asyncpg.connect(billing.dsn)
    try:
        rows = await conn.fetch("SELECT id FROM transactions WHERE user_id = $1", user)
        refunded = await conn.fetchval(
            "SELECT refunded_total FROM transactions WHERE id = $1",
            uuid.UUID(charge.transaction.id),
        )
    finally:
        await conn.close()
    assert {str(r["id"]) for r in rows} >= {top_up.transaction.id, charge.transaction.id}
    assert refunded == 0  # the refused refund gave back what it took
    await billing.lifecycle.ReopenWallet(billing_pb2.ReopenWalletRequest(user_id=user))
    again = await billing.stub.TopUp(
        billing_pb2.TopUpRequest(amount=3, idempotency_key=key()), metadata=md
    )
    assert again.balance == 3


async def test_closing_a_wallet_never_opened_keeps_a_late_open_out(billing):
    user = f"user-{key()}"
    await billing.lifecycle.CloseWallet(billing_pb2.CloseWalletRequest(user_id=user))
    assert await refused(
        billing.lifecycle.OpenWallet(billing_pb2.OpenWalletRequest(user_id=user))
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "WALLET_CLOSED")


async def test_a_missing_user_id_is_invalid(billing):
    assert await refused(
        billing.lifecycle.OpenWallet(billing_pb2.OpenWalletRequest(user_id=" "))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST")
