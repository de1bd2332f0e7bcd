"""Amounts are integers of minor units; this module decides which ones a request may move."""

from __future__ import annotations

from billing_svc.domain.errors import InvalidAmount, InvalidDescription

MAX_DESCRIPTION_LENGTH = 500
# The most a wallet may hold: the largest integer a JSON number (a JavaScript double) keeps
# exactly. The database enforces it (migration 0002); no single amount may exceed it either.
MAX_BALANCE = 2**53 - 1


def validate_amount(amount: int, max_amount: int) -> int:
    """``amount`` if it is a positive number of minor units no larger than ``max_amount``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("amount must be an integer number of minor units")
    if amount <= 0:
        raise InvalidAmount("amount must be positive")
    if amount > max_amount:
        raise InvalidAmount(f"amount must not exceed {max_amount}")
    return amount


def validate_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidDescription(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")
    if "\x00" in description:
        raise InvalidDescription("description must not contain NUL characters")
    return description
