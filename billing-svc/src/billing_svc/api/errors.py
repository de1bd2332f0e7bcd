"""Domain errors → gRPC status codes (with the domain's reason) and metric results."""

from __future__ import annotations

import grpc

from billing_svc.domain import errors as domain
from tollgate_kit.errors import StatusError

_CODES: tuple[tuple[type[domain.BillingError], grpc.StatusCode, str], ...] = (
    (domain.IdempotencyKeyReused, grpc.StatusCode.INVALID_ARGUMENT, "conflict"),
    (domain.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT, "invalid"),
    (domain.InsufficientFunds, grpc.StatusCode.FAILED_PRECONDITION, "insufficient_funds"),
    (domain.BalanceLimitExceeded, grpc.StatusCode.FAILED_PRECONDITION, "balance_limit"),
    (domain.ChargeNotFound, grpc.StatusCode.NOT_FOUND, "not_found"),
    # A server-side failure: counted as an error, but one the client may retry.
    (domain.LedgerUnavailable, grpc.StatusCode.UNAVAILABLE, "error"),
    (domain.NotRefundable, grpc.StatusCode.FAILED_PRECONDITION, "not_refundable"),
    (domain.RefundExceedsCharge, grpc.StatusCode.FAILED_PRECONDITION, "exceeds_charge"),
    (domain.WalletNotOpen, grpc.StatusCode.FAILED_PRECONDITION, "wallet_not_open"),
    (domain.WalletClosed, grpc.StatusCode.FAILED_PRECONDITION, "wallet_closed"),
    (domain.WalletNotEmpty, grpc.StatusCode.FAILED_PRECONDITION, "invalid"),
)


def classify(err: domain.BillingError) -> tuple[grpc.StatusCode, str]:
    """The status code of ``err`` and its metric result."""
    for kind, code, result in _CODES:
        if isinstance(err, kind):
            return code, result
    return grpc.StatusCode.FAILED_PRECONDITION, "invalid"


def to_status(err: domain.BillingError) -> StatusError:
    code, _ = classify(err)
    metadata = {}
    if isinstance(err, domain.RefundExceedsCharge):
        metadata["refundable"] = str(err.refundable)
    if isinstance(err, domain.InvalidAmount) and err.max_amount is not None:
        metadata["max_amount"] = str(err.max_amount)
    return StatusError(code, err.message, reason=err.reason, metadata=metadata)
