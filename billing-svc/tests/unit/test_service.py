import uuid

import pytest

from billing_svc.domain import idempotency
from billing_svc.domain.errors import (
    BillingError,
    ChargeNotFound,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidAmount,
    NotRefundable,
    RefundExceedsCharge,
)
from billing_svc.domain.model import Kind
from billing_svc.store.ledger import _result as ledger_row_result
from billing_svc.usecases.ports import LedgerOutcome, LedgerResult


async def test_a_created_charge_is_not_a_replay(make_wallets, make_result):
    receipt = await make_wallets(make_result("created")).charge("u", 5, "", "k")
    assert not receipt.replayed
    assert receipt.balance == 5


async def test_an_existing_identical_request_is_a_replay(make_wallets, make_result):
    fp = idempotency.fingerprint(Kind.CHARGE, amount=5, currency="USD", description="d")
    receipt = await make_wallets(make_result("existing", fingerprint=fp)).charge("u", 5, "d", "k")
    assert receipt.replayed


async def test_an_existing_different_request_is_a_reused_key(make_wallets, make_result):
    wallets = make_wallets(make_result("existing", fingerprint=b"other"))
    with pytest.raises(IdempotencyKeyReused):
        await wallets.charge("u", 5, "d", "k")


async def test_validation_happens_before_the_ledger_is_asked(make_wallets, make_result):
    wallets = make_wallets(make_result("created"))
    with pytest.raises(InvalidAmount):
        await wallets.charge("u", 1_001, "", "k")
    assert wallets._ledger.calls == []


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ("insufficient_funds", InsufficientFunds),
        ("not_found", ChargeNotFound),
        ("not_refundable", NotRefundable),
        ("exceeds_charge", RefundExceedsCharge),
    ],
)
async def test_ledger_refusals_become_domain_errors(make_wallets, make_result, outcome, error):
    with pytest.raises(error):
        await make_wallets(make_result(outcome)).refund("u", str(uuid.uuid4()), 5, "k")


@pytest.mark.parametrize(
    "outcome",
    [o for o in LedgerOutcome if o not in (LedgerOutcome.CREATED, LedgerOutcome.EXISTING)],
)
async def test_every_refusal_of_the_ledger_is_a_domain_error(make_wallets, outcome):
    with pytest.raises(BillingError):
        await make_wallets(LedgerResult(outcome, refundable=1)).top_up("u", 5, "k")


def test_an_outcome_the_ledger_does_not_know_is_refused_at_the_store_boundary():
    row = dict.fromkeys(("id", "balance", "request_fingerprint", "refundable"))
    with pytest.raises(ValueError, match="surprise"):
        ledger_row_result({**row, "outcome": "surprise"})
    assert ledger_row_result({**row, "outcome": "wallet_closed"}).outcome is (
        LedgerOutcome.WALLET_CLOSED
    )
