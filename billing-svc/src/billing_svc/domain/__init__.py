"""Billing's pure rules and types: no gRPC, no SQL."""

from billing_svc.domain.errors import (
    BillingError,
    ChargeNotFound,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidAmount,
    InvalidChargeId,
    InvalidDescription,
    InvalidIdempotencyKey,
    InvalidPageSize,
    InvalidPageToken,
    InvalidRequest,
    NotRefundable,
    RefundExceedsCharge,
)
from billing_svc.domain.model import Kind, Receipt, Transaction

__all__ = [
    "BillingError",
    "ChargeNotFound",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidChargeId",
    "InvalidDescription",
    "InvalidIdempotencyKey",
    "InvalidPageSize",
    "InvalidPageToken",
    "InvalidRequest",
    "Kind",
    "NotRefundable",
    "Receipt",
    "RefundExceedsCharge",
    "Transaction",
]
