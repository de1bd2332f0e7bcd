"""The use cases of a wallet's life, called by auth-svc's sagas: open (with the configured
sign-up credit), close at a zero balance, reopen (a closure's compensation)."""

from __future__ import annotations

from billing_svc.domain import idempotency
from billing_svc.domain.errors import InvalidRequest, WalletClosed, WalletNotEmpty
from billing_svc.domain.model import Kind
from billing_svc.usecases.ports import Closing, LifecyclePort


def _user(user_id: str) -> str:
    if not user_id.strip() or len(user_id) > 200:
        raise InvalidRequest("user_id is required")
    return user_id


class WalletLifecycle:
    def __init__(self, store: LifecyclePort, *, currency: str, sign_up_credit: int) -> None:
        self._store = store
        self.currency = currency
        self._sign_up_credit = sign_up_credit

    async def open(self, user_id: str, idempotency_key: str, sign_up_credit: bool) -> int:
        """Open the user's wallet; its balance afterwards."""
        user_id = _user(user_id)
        credit = self._sign_up_credit if sign_up_credit else 0
        if credit:
            idempotency.validate_key(idempotency_key)
        fingerprint = idempotency.fingerprint(Kind.TOP_UP, amount=credit, currency=self.currency)
        opened = await self._store.open(
            user_id, self.currency, credit, f"sign-up:{idempotency_key}", fingerprint
        )
        if opened.closed:
            raise WalletClosed("the wallet is closed")
        return opened.balance

    async def close(self, user_id: str, validate_only: bool) -> None:
        outcome = await self._store.close(_user(user_id), self.currency, validate_only)
        if outcome is Closing.NOT_EMPTY:
            raise WalletNotEmpty("the wallet still holds money; spend or withdraw it first")

    async def reopen(self, user_id: str) -> None:
        await self._store.reopen(_user(user_id))
