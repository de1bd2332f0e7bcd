"""``tollgate.billing.v1``: the reasons billing answers, per RPC of ``BillingService`` (public)
and ``WalletLifecycleService`` (internal, auth-svc's sagas)."""

from __future__ import annotations

import grpc

from tollgate_kit.caller import CALLER_REASONS
from tollgate_kit.errors import DeclaredErrors, Reason

_C = grpc.StatusCode
_AUTHENTICATED = tuple(reason.name for reason in CALLER_REASONS)

REASONS = (
    *CALLER_REASONS,
    Reason(
        "INVALID_REQUEST",
        _C.INVALID_ARGUMENT,
        "The request can never succeed as sent (a required field is missing).",
        "user_id is required",
    ),
    Reason(
        "INVALID_AMOUNT",
        _C.INVALID_ARGUMENT,
        "The amount is not a positive number of minor units, or exceeds the most one"
        " movement may be (ErrorInfo metadata `max_amount`).",
        "amount must not exceed 100000000",
        (("max_amount", "100000000"),),
    ),
    Reason(
        "INVALID_IDEMPOTENCY_KEY",
        _C.INVALID_ARGUMENT,
        "The Idempotency-Key header is missing, longer than 255 characters, not printable"
        " text, or starts or ends with whitespace.",
        "an idempotency key is required",
    ),
    Reason(
        "INVALID_DESCRIPTION",
        _C.INVALID_ARGUMENT,
        "The description is longer than 500 characters or holds control characters or line breaks.",
        "description must be at most 500 characters",
    ),
    Reason(
        "INVALID_CHARGE_ID",
        _C.INVALID_ARGUMENT,
        "The charge id is not a transaction id.",
        "charge_id must be a transaction id",
    ),
    Reason(
        "INVALID_PAGE_SIZE",
        _C.INVALID_ARGUMENT,
        "The page size is negative.",
        "page_size must not be negative",
    ),
    Reason(
        "INVALID_PAGE_TOKEN",
        _C.INVALID_ARGUMENT,
        "The page token is not one this API returned.",
        "malformed page token",
    ),
    Reason(
        "IDEMPOTENCY_KEY_REUSED",
        _C.INVALID_ARGUMENT,
        "The idempotency key already belongs to a different request of this user.",
        "this idempotency key was already used for a different request",
    ),
    Reason(
        "INSUFFICIENT_FUNDS",
        _C.FAILED_PRECONDITION,
        "The balance is lower than the charge; nothing was debited.",
        "insufficient funds",
    ),
    Reason(
        "BALANCE_LIMIT_EXCEEDED",
        _C.FAILED_PRECONDITION,
        "The credit would take the balance past the wallet's limit; nothing was written.",
        "a credit may not take the balance past the wallet's limit; spend some first",
    ),
    Reason(
        "CHARGE_NOT_FOUND",
        _C.NOT_FOUND,
        "The caller has no charge with this id.",
        "charge not found",
    ),
    Reason(
        "NOT_REFUNDABLE",
        _C.FAILED_PRECONDITION,
        "The transaction is not a charge (a top-up or a refund).",
        "only charges can be refunded",
    ),
    Reason(
        "REFUND_EXCEEDS_CHARGE",
        _C.FAILED_PRECONDITION,
        "The refund is larger than what is left of the charge (ErrorInfo metadata `refundable`).",
        "refund exceeds what is left of the charge (500)",
        (("refundable", "500"),),
    ),
    Reason(
        "WALLET_NOT_OPEN",
        _C.FAILED_PRECONDITION,
        "The wallet is not open yet: sign-up has not finished.",
        "the wallet is not open yet; sign-up has not finished",
    ),
    Reason(
        "WALLET_CLOSED",
        _C.FAILED_PRECONDITION,
        "The wallet is closed (the account was closed).",
        "the wallet is closed",
    ),
    Reason(
        "WALLET_NOT_EMPTY",
        _C.FAILED_PRECONDITION,
        "A wallet can only close at a zero balance.",
        "the wallet still holds money; spend or withdraw it first",
    ),
    Reason(
        "LEDGER_UNAVAILABLE",
        _C.UNAVAILABLE,
        "The ledger could not be reached. Whether a cut-off money call took effect is"
        " unknown: retrying it with the same idempotency key is safe and tells.",
        "the ledger is unavailable, retry later",
    ),
)

_WALLET = ("WALLET_NOT_OPEN", "WALLET_CLOSED")
_MOVE = ("INVALID_AMOUNT", "INVALID_IDEMPOTENCY_KEY", "IDEMPOTENCY_KEY_REUSED")

BILLING_ERRORS = DeclaredErrors(
    "tollgate.billing.v1.BillingService",
    reasons=REASONS,
    rpcs={
        "GetWallet": (*_AUTHENTICATED, "LEDGER_UNAVAILABLE"),
        "TopUp": (
            *_AUTHENTICATED,
            *_MOVE,
            "BALANCE_LIMIT_EXCEEDED",
            *_WALLET,
            "LEDGER_UNAVAILABLE",
        ),
        "Charge": (
            *_AUTHENTICATED,
            *_MOVE,
            "INVALID_DESCRIPTION",
            "INSUFFICIENT_FUNDS",
            *_WALLET,
            "LEDGER_UNAVAILABLE",
        ),
        "Refund": (
            *_AUTHENTICATED,
            "INVALID_CHARGE_ID",
            *_MOVE,
            "CHARGE_NOT_FOUND",
            "NOT_REFUNDABLE",
            "REFUND_EXCEEDS_CHARGE",
            "BALANCE_LIMIT_EXCEEDED",
            *_WALLET,
            "LEDGER_UNAVAILABLE",
        ),
        "ListTransactions": (
            *_AUTHENTICATED,
            "INVALID_PAGE_SIZE",
            "INVALID_PAGE_TOKEN",
            "LEDGER_UNAVAILABLE",
        ),
    },
)

WALLET_LIFECYCLE_ERRORS = DeclaredErrors(
    "tollgate.billing.v1.WalletLifecycleService",
    reasons=REASONS,
    rpcs={
        "OpenWallet": (
            "INVALID_REQUEST",
            "INVALID_IDEMPOTENCY_KEY",
            "WALLET_CLOSED",
            "LEDGER_UNAVAILABLE",
        ),
        "CloseWallet": ("INVALID_REQUEST", "WALLET_NOT_EMPTY", "LEDGER_UNAVAILABLE"),
        "ReopenWallet": ("INVALID_REQUEST", "LEDGER_UNAVAILABLE"),
    },
)
