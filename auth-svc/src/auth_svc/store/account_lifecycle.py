"""The account side of the sign-up and closure sagas, in PostgreSQL. Each write is guarded by
the state it expects, so a step that runs again changes nothing the second time."""

from __future__ import annotations

import uuid

import asyncpg

from auth_svc.domain.accounts import CLOSURE_FAILED_TEMPLATE, CLOSURE_SAGA
from auth_svc.domain.errors import StoreUnavailable
from auth_svc.domain.outbox import OutboxMessage
from auth_svc.store.outbox import enqueue, release
from tollgate_kit.db import DATABASE_UNREACHABLE
from tollgate_kit.outages import translate_outages
from tollgate_kit.saga import start_saga

# Every single-use link and code an account has goes with it.
_ERASE_CODES = (
    "DELETE FROM email_verification_tokens WHERE user_id = $1",
    "DELETE FROM password_reset_tokens WHERE user_id = $1",
    "DELETE FROM email_change_tokens WHERE user_id = $1",
    "DELETE FROM mfa_recovery_codes WHERE user_id = $1",
)


@translate_outages(DATABASE_UNREACHABLE, StoreUnavailable)
class AccountLifecycleStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def begin_closure(self, user_id: str) -> str | None:
        """Mark the account CLOSING and start its closure saga, in one transaction; the saga
        id, or None when the account is already closing or closed."""
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE users SET state = 'CLOSING'"
                " WHERE id = $1 AND state IN ('PENDING', 'ACTIVE')",
                uuid.UUID(user_id),
            )
            if status != "UPDATE 1":
                return None
            return await start_saga(conn, CLOSURE_SAGA, user_id)

    async def activate(self, user_id: str) -> None:
        await self._pool.execute(
            "UPDATE users SET state = 'ACTIVE' WHERE id = $1 AND state = 'PENDING'",
            uuid.UUID(user_id),
        )

    async def release_mail(self, message_id: str) -> None:
        async with self._pool.acquire() as conn:
            await release(conn, message_id)

    async def email_of(self, user_id: str) -> str | None:
        email: str | None = await self._pool.fetchval(
            "SELECT email FROM users WHERE id = $1", uuid.UUID(user_id)
        )
        return email

    async def restore(self, user_id: str) -> bool:
        """Undo CLOSING (the closure failed for good) and tell the user by mail through the
        outbox, in one transaction; whether the account was still closing."""
        async with self._pool.acquire() as conn, conn.transaction():
            email = await conn.fetchval(
                "UPDATE users SET state = 'ACTIVE' WHERE id = $1 AND state = 'CLOSING'"
                " RETURNING email",
                uuid.UUID(user_id),
            )
            if email is None:
                return False
            await enqueue(conn, OutboxMessage(template=CLOSURE_FAILED_TEMPLATE, recipient=email))
        return True

    async def erase(self, user_id: str) -> None:
        """CLOSED: email, password hash, tokens and second factor go, and so does the address
        in the outbox (undelivered mail to it is dead-lettered). The row stays: billing's
        ledger names its id."""
        async with self._pool.acquire() as conn, conn.transaction():
            email = await conn.fetchval(
                "SELECT email FROM users WHERE id = $1 AND state = 'CLOSING' FOR UPDATE",
                uuid.UUID(user_id),
            )
            if email is None:
                return
            await conn.execute(
                "UPDATE users SET state = 'CLOSED', email = NULL, password_hash = NULL,"
                " email_verified_at = NULL, mfa_secret = NULL, mfa_pending_secret = NULL,"
                " mfa_last_step = NULL, mfa_enabled_at = NULL, closed_at = now() WHERE id = $1",
                uuid.UUID(user_id),
            )
            for statement in _ERASE_CODES:
                await conn.execute(statement, uuid.UUID(user_id))
            await conn.execute(
                "UPDATE outbox SET recipient = '', params = '{}',"
                " failed_at = CASE WHEN delivered_at IS NULL THEN coalesce(failed_at, now()) END,"
                " last_error = coalesce(last_error, 'account closed')"
                " WHERE recipient = $1",
                email,
            )
