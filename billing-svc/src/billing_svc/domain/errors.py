"""Why a billing request was refused. Each error names a machine-readable ``reason``; the
API layer maps the error type to a gRPC status code."""

from __future__ import annotations


class BillingError(Exception):
    reason: str = "BILLING_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(BillingError):
    """The request can never succeed as sent (INVALID_ARGUMENT)."""

    reason = "INVALID_REQUEST"


class InvalidAmount(InvalidRequest):
    reason = "INVALID_AMOUNT"

    def __init__(self, message: str, max_amount: int | None = None) -> None:
        super().__init__(message)
        # Set when the amount was too large: the most one movement may be (minor units).
        self.max_amount = max_amount


class InvalidIdempotencyKey(InvalidRequest):
    reason = "INVALID_IDEMPOTENCY_KEY"


class InvalidDescription(InvalidRequest):
    reason = "INVALID_DESCRIPTION"


class InvalidChargeId(InvalidRequest):
    reason = "INVALID_CHARGE_ID"


class InvalidPageToken(InvalidRequest):
    reason = "INVALID_PAGE_TOKEN"


class InvalidPageSize(InvalidRequest):
    reason = "INVALID_PAGE_SIZE"


class IdempotencyKeyReused(InvalidRequest):
    """The key already belongs to a different request of this user."""

    reason = "IDEMPOTENCY_KEY_REUSED"


class InsufficientFunds(BillingError):
    reason = "INSUFFICIENT_FUNDS"


class BalanceLimitExceeded(BillingError):
    """A credit (top-up or refund) would take the balance past the wallet's limit (the
    ledger's ``billing_max_balance()``); nothing was written."""

    reason = "BALANCE_LIMIT_EXCEEDED"


class LedgerUnavailable(BillingError):
    """The database could not be reached, or dropped the connection (UNAVAILABLE). Whether a
    money call that was cut off took effect is unknown: retrying it with the same idempotency
    key is safe and tells."""

    reason = "LEDGER_UNAVAILABLE"


class ChargeNotFound(BillingError):
    """No such charge of the caller's (another user's charge looks exactly like this)."""

    reason = "CHARGE_NOT_FOUND"


class NotRefundable(BillingError):
    """The transaction is the caller's but is not a charge (a top-up or a refund)."""

    reason = "NOT_REFUNDABLE"


class RefundExceedsCharge(BillingError):
    reason = "REFUND_EXCEEDS_CHARGE"

    def __init__(self, message: str, refundable: int) -> None:
        super().__init__(message)
        self.refundable = refundable


class WalletNotOpen(BillingError):
    """The user's wallet was never opened (sign-up has not finished)."""

    reason = "WALLET_NOT_OPEN"


class WalletClosed(BillingError):
    """The user's wallet is closed (the account was closed); its ledger rows remain."""

    reason = "WALLET_CLOSED"


class WalletNotEmpty(BillingError):
    """A wallet can only close at a zero balance."""

    reason = "WALLET_NOT_EMPTY"
