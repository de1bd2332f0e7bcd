"""Domain errors → gRPC statuses (the code of each reason is the one billing declares in
``tollgate_kit.api_errors.billing``, which the gateway documents too) and metric results."""

from __future__ import annotations

from billing_svc.domain import errors as domain
from tollgate_kit.api_errors.billing import BILLING_ERRORS
from tollgate_kit.errors import StatusError

_RESULTS: tuple[tuple[type[domain.BillingError], str], ...] = (
    (domain.IdempotencyKeyReused, "conflict"),
    (domain.InvalidRequest, "invalid"),
    (domain.InsufficientFunds, "insufficient_funds"),
    (domain.BalanceLimitExceeded, "balance_limit"),
    (domain.ChargeNotFound, "not_found"),
    # A server-side failure: counted as an error, but one the client may retry.
    (domain.LedgerUnavailable, "error"),
    (domain.NotRefundable, "not_refundable"),
    (domain.RefundExceedsCharge, "exceeds_charge"),
    (domain.WalletNotOpen, "wallet_not_open"),
    (domain.WalletClosed, "wallet_closed"),
)


def result_of(err: domain.BillingError) -> str:
    """The metric result of ``err``."""
    for kind, result in _RESULTS:
        if isinstance(err, kind):
            return result
    return "invalid"


def to_status(err: domain.BillingError) -> StatusError:
    metadata = {}
    if isinstance(err, domain.RefundExceedsCharge):
        metadata["refundable"] = str(err.refundable)
    if isinstance(err, domain.InvalidAmount) and err.max_amount is not None:
        metadata["max_amount"] = str(err.max_amount)
    # Both billing services declare the same reasons (and codes); the lists per RPC differ.
    return BILLING_ERRORS.status(err.reason, err.message, metadata)
