"""The ledger's types: a transaction and the answer to a money-moving request."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


class Kind(enum.Enum):
    TOP_UP = "TOP_UP"
    CHARGE = "CHARGE"
    REFUND = "REFUND"


@dataclass(frozen=True, slots=True)
class Transaction:
    """One ledger entry. ``amount`` is signed minor units: charges are negative."""

    id: UUID
    kind: Kind
    amount: int
    currency: str
    description: str
    refund_of: UUID | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Receipt:
    """The result of a top-up, charge or refund: the transaction and the wallet balance right
    after it. A replay returns the original receipt unchanged (``replayed`` aside)."""

    transaction: Transaction
    balance: int
    replayed: bool
