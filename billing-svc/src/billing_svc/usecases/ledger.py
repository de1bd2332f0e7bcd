"""The use cases of billing: validate with the domain rules, move money through the ledger,
and turn the ledger's outcome into a receipt or a domain error."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from billing_svc.domain import errors, idempotency, money, pagination, refunds
from billing_svc.domain.model import Kind, Receipt, Transaction
from billing_svc.domain.pagination import Cursor
from billing_svc.usecases.ports import LedgerOutcome, LedgerPort, LedgerResult

# Each refusal of the ledger, as the domain error the caller gets.
_REFUSALS: dict[LedgerOutcome, Callable[[LedgerResult], errors.BillingError]] = {
    LedgerOutcome.INSUFFICIENT_FUNDS: lambda _: errors.InsufficientFunds("insufficient funds"),
    LedgerOutcome.BALANCE_LIMIT: lambda _: errors.BalanceLimitExceeded(
        "a credit may not take the balance past the wallet's limit; spend some first"
    ),
    LedgerOutcome.NOT_FOUND: lambda _: errors.ChargeNotFound("charge not found"),
    LedgerOutcome.NOT_REFUNDABLE: lambda _: errors.NotRefundable("only charges can be refunded"),
    LedgerOutcome.EXCEEDS_CHARGE: lambda r: refunds.exceeds_charge(r.refundable or 0),
    LedgerOutcome.WALLET_NOT_OPEN: lambda _: errors.WalletNotOpen(
        "the wallet is not open yet; sign-up has not finished"
    ),
    LedgerOutcome.WALLET_CLOSED: lambda _: errors.WalletClosed("the wallet is closed"),
}


def _receipt(result: LedgerResult, fingerprint: bytes) -> Receipt:
    """The receipt of a money call the ledger took (or had taken: a replay), else its refusal
    raised as a domain error."""
    if result.outcome not in (LedgerOutcome.CREATED, LedgerOutcome.EXISTING):
        raise _REFUSALS[result.outcome](result)
    if result.transaction is None or result.balance is None or result.fingerprint is None:
        raise RuntimeError(f"ledger outcome {result.outcome} without its transaction")
    replayed = result.outcome is LedgerOutcome.EXISTING
    if replayed:
        idempotency.check_replay(result.fingerprint, fingerprint)
    return Receipt(transaction=result.transaction, balance=result.balance, replayed=replayed)


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
