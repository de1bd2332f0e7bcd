"""Refund rules.

A refund credits back part of one of the caller's own charges. The only funds check is on the
charge: the sum of its refunds never exceeds what was charged. The wallet needs no check, since
a credit cannot take a balance below zero. The check runs in the database, as a guarded
``UPDATE`` of the charge row (``refunded_total + amount <= -amount``) in the same transaction
as the credit: the row lock serialises concurrent refunds of one charge, and a CHECK
constraint backs it up.

Refusals: another user's charge, or no such id → :class:`ChargeNotFound` (NOT_FOUND, so ids of
other users' charges cannot be probed); the caller's top-up or refund → :class:`NotRefundable`
(FAILED_PRECONDITION); more than what is left → :class:`RefundExceedsCharge`.
"""

from __future__ import annotations

from uuid import UUID

from billing_svc.domain.errors import InvalidChargeId, RefundExceedsCharge


def parse_charge_id(charge_id: str) -> UUID:
    try:
        return UUID(charge_id)
    except ValueError as err:
        raise InvalidChargeId("charge_id must be a transaction id") from err


def refundable(charged: int, refunded_total: int) -> int:
    """What is left to refund of a charge of ``charged`` (positive) minor units."""
    return max(charged - refunded_total, 0)


def exceeds_charge(refundable_left: int) -> RefundExceedsCharge:
    return RefundExceedsCharge(
        f"refund exceeds what is left of the charge ({refundable_left})", refundable_left
    )
