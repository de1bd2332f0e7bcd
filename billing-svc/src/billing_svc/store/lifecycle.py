"""Opening and closing wallets in PostgreSQL. Not on the money path: each call is a short
transaction of its own, serialised with money calls by the wallet row's lock."""

from __future__ import annotations

import asyncpg

from billing_svc.store.ledger import reachable
from billing_svc.usecases.ports import Closing, Opened


class WalletLifecycleStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def open(
        self, user_id: str, currency: str, credit: int, key: str, fingerprint: bytes
    ) -> Opened:
        """Open the wallet; a new wallet gets ``credit`` as a top-up keyed by ``key`` in the
        same transaction (so the credit is given once, however often this is repeated)."""
        with reachable():
            async with self._pool.acquire() as conn, conn.transaction():
                created = await conn.fetchval(
                    "INSERT INTO wallets (user_id, currency, balance) VALUES ($1, $2, 0)"
                    " ON CONFLICT (user_id, currency) DO NOTHING RETURNING true",
                    user_id,
                    currency,
                )
                if created and credit > 0:
                    await conn.fetchrow(
                        "SELECT * FROM billing_top_up($1, $2, $3, $4, $5)",
                        user_id,
                        currency,
                        credit,
                        key,
                        fingerprint,
                    )
                row = await conn.fetchrow(
                    "SELECT balance, state FROM wallets WHERE user_id = $1 AND currency = $2",
                    user_id,
                    currency,
                )
        if row is None:
            raise RuntimeError("the wallet vanished inside its own transaction")
        return Opened(balance=row["balance"], closed=row["state"] == "closed")

    async def close(self, user_id: str, currency: str, validate_only: bool) -> Closing:
        """Close every wallet of the user if all are empty. A user who never had one gets a
        closed wallet, so a late sign-up step cannot open it afterwards."""
        with reachable():
            async with self._pool.acquire() as conn, conn.transaction():
                balances = await conn.fetch(
                    "SELECT balance FROM wallets WHERE user_id = $1 FOR UPDATE", user_id
                )
                if any(row["balance"] != 0 for row in balances):
                    return Closing.NOT_EMPTY
                if validate_only:
                    return Closing.CLOSED
                await conn.execute(
                    "UPDATE wallets SET state = 'closed', closed_at = now()"
                    " WHERE user_id = $1 AND state = 'open'",
                    user_id,
                )
                if not balances:
                    await conn.execute(
                        "INSERT INTO wallets (user_id, currency, balance, state, closed_at)"
                        " VALUES ($1, $2, 0, 'closed', now()) ON CONFLICT DO NOTHING",
                        user_id,
                        currency,
                    )
        return Closing.CLOSED

    async def reopen(self, user_id: str) -> None:
        with reachable():
            await self._pool.execute(
                "UPDATE wallets SET state = 'open', closed_at = NULL"
                " WHERE user_id = $1 AND state = 'closed'",
                user_id,
            )
