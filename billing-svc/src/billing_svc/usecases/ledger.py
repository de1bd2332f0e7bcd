"""The use cases of billing: validate with the domain rules, move money through the ledger,
and turn the ledger's outcome into a receipt or a domain error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from billing_svc.domain import idempotency, money, pagination, refunds
from billing_svc.domain.errors import (
    BalanceLimitExceeded,
    ChargeNotFound,
    InsufficientFunds,
    NotRefundable,
    WalletClosed,
    WalletNotOpen,
)
from billing_svc.domain.model import Kind, Receipt, Transaction
from billing_svc.domain.pagination import Cursor
from billing_svc.store.ledger import LedgerResult


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


def _receipt(result: LedgerResult, fingerprint: bytes) -> Receipt:
    outcome = result.outcome
    if outcome in ("created", "existing"):
        if result.transaction is None or result.balance is None or result.fingerprint is None:
            raise RuntimeError(f"ledger outcome {outcome!r} without its transaction")
        replayed = outcome == "existing"
        if replayed:
            idempotency.check_replay(result.fingerprint, fingerprint)
        return Receipt(transaction=result.transaction, balance=result.balance, replayed=replayed)
    if outcome == "insufficient_funds":
        raise InsufficientFunds("insufficient funds")
    if outcome == "balance_limit":
        raise BalanceLimitExceeded(
            f"the balance may not exceed {money.MAX_BALANCE} minor units; spend some first"
        )
    if outcome == "not_found":
        raise ChargeNotFound("charge not found")
    if outcome == "not_refundable":
        raise NotRefundable("only charges can be refunded")
    if outcome == "exceeds_charge":
        raise refunds.exceeds_charge(result.refundable or 0)
    if outcome == "wallet_not_open":
        raise WalletNotOpen("the wallet is not open yet; sign-up has not finished")
    if outcome == "wallet_closed":
        raise WalletClosed("the wallet is closed")
    raise RuntimeError(f"unknown ledger outcome {outcome!r}")


class Wallets:
    """One wallet per user in ``currency``; the user is always the authenticated caller."""

    def __init__(self, ledger: LedgerPort, *, currency: str, max_amount: int) -> None:
        self._ledger = ledger
        self.currency = currency
        self._max_amount = max_amount

    async def charge(
        self, user_id: str, amount: int, description: str, idempotency_key: str
    ) -> Receipt:
        money.validate_amount(amount, self._max_amount)
        money.validate_description(description)
        idempotency.validate_key(idempotency_key)
        fingerprint = idempotency.fingerprint(
            Kind.CHARGE, amount=amount, currency=self.currency, description=description
        )
        result = await self._ledger.charge(
            user_id, self.currency, amount, description, idempotency_key, fingerprint
        )
        return _receipt(result, fingerprint)

    async def top_up(self, user_id: str, amount: int, idempotency_key: str) -> Receipt:
        money.validate_amount(amount, self._max_amount)
        idempotency.validate_key(idempotency_key)
        fingerprint = idempotency.fingerprint(Kind.TOP_UP, amount=amount, currency=self.currency)
        result = await self._ledger.top_up(
            user_id, self.currency, amount, idempotency_key, fingerprint
        )
        return _receipt(result, fingerprint)

    async def refund(
        self, user_id: str, charge_id: str, amount: int, idempotency_key: str
    ) -> Receipt:
        charge = refunds.parse_charge_id(charge_id)
        money.validate_amount(amount, self._max_amount)
        idempotency.validate_key(idempotency_key)
        # The currency is the charge's; the fingerprint names the charge instead.
        fingerprint = idempotency.fingerprint(
            Kind.REFUND, amount=amount, currency="", refund_of=charge
        )
        result = await self._ledger.refund(user_id, charge, amount, idempotency_key, fingerprint)
        return _receipt(result, fingerprint)

    async def balance(self, user_id: str) -> int:
        return await self._ledger.balance(user_id, self.currency)

    async def transactions(
        self, user_id: str, page_size: int, page_token: str
    ) -> tuple[Sequence[Transaction], str]:
        """One page, newest first, and the token of the next page ('' after the last)."""
        size = pagination.page_size(page_size)
        after = pagination.decode_cursor(page_token) if page_token else None
        rows = await self._ledger.transactions(user_id, size + 1, after)
        if len(rows) <= size:
            return rows, ""
        page = rows[:size]
        last = page[-1]
        return page, pagination.encode_cursor(Cursor(created_at=last.created_at, id=last.id))
