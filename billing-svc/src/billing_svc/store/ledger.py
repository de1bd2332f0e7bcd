"""The ledger in PostgreSQL. Each money-moving call is one round trip to one server-side
function (its current definition: ``migrations/sql/<name>.sql``), run as a prepared statement
that asyncpg caches per connection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID

import asyncpg

from billing_svc.domain.errors import LedgerUnavailable
from billing_svc.domain.model import Kind, Transaction
from billing_svc.domain.pagination import Cursor
from billing_svc.usecases.ports import LedgerOutcome, LedgerResult
from tollgate_kit.db import DATABASE_UNREACHABLE

_CHARGE = "SELECT * FROM billing_charge($1, $2, $3, $4, $5, $6)"
_TOP_UP = "SELECT * FROM billing_top_up($1, $2, $3, $4, $5)"
_REFUND = "SELECT * FROM billing_refund($1, $2, $3, $4, $5)"
_BALANCE = "SELECT balance FROM wallets WHERE user_id = $1 AND currency = $2"
_FIRST_PAGE = """
SELECT id, kind, amount, description, refund_of, ts, currency FROM transactions
 WHERE user_id = $1
 ORDER BY ts DESC, id DESC
 LIMIT $2
"""
_NEXT_PAGE = """
SELECT id, kind, amount, description, refund_of, ts, currency FROM transactions
 WHERE user_id = $1 AND (ts, id) < ($3, $4)
 ORDER BY ts DESC, id DESC
 LIMIT $2
"""


@contextmanager
def reachable() -> Iterator[None]:
    """Turn the database being out of reach, or a statement it cancelled for running past
    the pool's ``statement_timeout``, into :class:`LedgerUnavailable`."""
    try:
        yield
    except asyncpg.QueryCanceledError as err:  # statement_timeout: nothing was committed
        raise LedgerUnavailable(
            "the ledger did not answer in time; retry (with the same idempotency key)"
        ) from err
    except DATABASE_UNREACHABLE as err:
        raise LedgerUnavailable(
            "the ledger is unreachable; retry (with the same idempotency key)"
        ) from err


def _transaction(row: asyncpg.Record) -> Transaction:
    return Transaction(
        id=row["id"],
        kind=Kind(row["kind"]),
        amount=row["amount"],
        currency=row["currency"],
        description=row["description"],
        refund_of=row["refund_of"],
        created_at=row["ts"],
    )


def _result(row: asyncpg.Record | None) -> LedgerResult:
    if row is None:
        raise RuntimeError("ledger function returned no row")
    return LedgerResult(
        outcome=LedgerOutcome(row["outcome"]),
        transaction=_transaction(row) if row["id"] is not None else None,
        balance=row["balance"],
        fingerprint=row["request_fingerprint"],
        refundable=row["refundable"],
    )


class Ledger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def charge(
        self,
        user_id: str,
        currency: str,
        amount: int,
        description: str,
        idempotency_key: str,
        fingerprint: bytes,
    ) -> LedgerResult:
        with reachable():
            row = await self._pool.fetchrow(
                _CHARGE, user_id, currency, amount, description, idempotency_key, fingerprint
            )
        return _result(row)

    async def top_up(
        self, user_id: str, currency: str, amount: int, idempotency_key: str, fingerprint: bytes
    ) -> LedgerResult:
        with reachable():
            row = await self._pool.fetchrow(
                _TOP_UP, user_id, currency, amount, idempotency_key, fingerprint
            )
        return _result(row)

    async def refund(
        self, user_id: str, charge_id: UUID, amount: int, idempotency_key: str, fingerprint: bytes
    ) -> LedgerResult:
        with reachable():
            row = await self._pool.fetchrow(
                _REFUND, user_id, charge_id, amount, idempotency_key, fingerprint
            )
        return _result(row)

    async def balance(self, user_id: str, currency: str) -> int:
        """The wallet's balance; a user without a wallet has 0."""
        with reachable():
            balance: int | None = await self._pool.fetchval(_BALANCE, user_id, currency)
        return balance or 0

    async def transactions(
        self, user_id: str, limit: int, after: Cursor | None
    ) -> Sequence[Transaction]:
        """Up to ``limit`` of the user's transactions, newest first, after ``after``."""
        with reachable():
            if after is None:
                rows = await self._pool.fetch(_FIRST_PAGE, user_id, limit)
            else:
                rows = await self._pool.fetch(
                    _NEXT_PAGE, user_id, limit, after.created_at, after.id
                )
        return [_transaction(row) for row in rows]
