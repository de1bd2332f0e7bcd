"""What billing's use cases need from storage, declared here and implemented by ``store/``:
the ports, and the result types that cross them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from billing_svc.domain.model import Transaction
from billing_svc.domain.pagination import Cursor


class LedgerOutcome(enum.Enum):
    """What a money function of the ledger answered (the ``outcome`` its SQL returns)."""

    CREATED = "created"
    # The key already names a transaction: it comes back with its request's fingerprint.
    EXISTING = "existing"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    # A credit would take the balance past the wallet's limit.
    BALANCE_LIMIT = "balance_limit"
    NOT_FOUND = "not_found"
    NOT_REFUNDABLE = "not_refundable"
    # A refund larger than what is left of the charge (``refundable``).
    EXCEEDS_CHARGE = "exceeds_charge"
    WALLET_NOT_OPEN = "wallet_not_open"
    WALLET_CLOSED = "wallet_closed"


@dataclass(frozen=True, slots=True)
class LedgerResult:
    """A money function's answer: the transaction, the balance after it and its request's
    fingerprint for ``CREATED`` / ``EXISTING``; ``refundable`` for ``EXCEEDS_CHARGE``."""

    outcome: LedgerOutcome
    transaction: Transaction | None = None
    balance: int | None = None
    fingerprint: bytes | None = None
    refundable: int | None = None


class LedgerPort(Protocol):
    async def charge(
        self,
        user_id: str,
        currency: str,
        amount: int,
        description: str,
        idempotency_key: str,
        fingerprint: bytes,
    ) -> LedgerResult: ...

    async def top_up(
        self, user_id: str, currency: str, amount: int, idempotency_key: str, fingerprint: bytes
    ) -> LedgerResult: ...

    async def refund(
        self, user_id: str, charge_id: UUID, amount: int, idempotency_key: str, fingerprint: bytes
    ) -> LedgerResult: ...

    async def balance(self, user_id: str, currency: str) -> int: ...

    async def transactions(
        self, user_id: str, limit: int, after: Cursor | None
    ) -> Sequence[Transaction]: ...


class Closing(enum.Enum):
    CLOSED = "closed"
    NOT_EMPTY = "not_empty"


@dataclass(frozen=True, slots=True)
class Opened:
    """The wallet after an open: ``closed`` when it had been closed (and stays so)."""

    balance: int
    closed: bool


class LifecyclePort(Protocol):
    async def open(
        self, user_id: str, currency: str, credit: int, key: str, fingerprint: bytes
    ) -> Opened: ...

    async def close(self, user_id: str, currency: str, validate_only: bool) -> Closing: ...

    async def reopen(self, user_id: str) -> None: ...
