"""Password-reset and email-change links, and password changes, in PostgreSQL.

Each link's token is kept only as its SHA-256, with an expiry and the time it was used; a new
link of either kind deletes the account's earlier ones (a newer link voids older ones).
Consuming a link locks its row (``FOR UPDATE``), so of two concurrent uses exactly one
succeeds: the second waits for the first to commit and then sees the token used.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

import asyncpg

from auth_svc.domain.errors import (
    EmailChangeTokenInvalid,
    EmailTaken,
    ResetTokenInvalid,
    StoreUnavailable,
)
from auth_svc.domain.outbox import OutboxMessage
from auth_svc.store.outbox import enqueue
from auth_svc.store.users import EMAIL_UNIQUE_INDEX
from tollgate_kit.db import DATABASE_UNREACHABLE
from tollgate_kit.outages import translate_outages

# Only open accounts (state PENDING or ACTIVE) reset or change credentials.


@translate_outages(DATABASE_UNREACHABLE, StoreUnavailable)
class CredentialStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def issue_password_reset(
        self, email: str, digest: bytes, ttl: timedelta, mail: OutboxMessage
    ) -> str | None:
        """When an open account has ``email``: void its earlier reset links, store this one
        and queue ``mail``; the account's id, or None. The same statements run either way
        (one that finds, voids and inserts, one that queues the mail or not), so an unknown
        address answers in the time a known one does."""
        async with self._pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                """
                WITH account AS (
                    SELECT id FROM users
                    WHERE lower(email) = lower($1) AND state IN ('PENDING', 'ACTIVE')
                ), voided AS (
                    DELETE FROM password_reset_tokens t USING account WHERE t.user_id = account.id
                )
                INSERT INTO password_reset_tokens (token_hash, user_id, expires_at)
                SELECT $2, id, now() + $3 FROM account
                RETURNING user_id
                """,
                email,
                digest,
                ttl,
            )
            await enqueue(conn, mail, only_if=user_id is not None)
        return None if user_id is None else str(user_id)

    async def reset_password(
        self, digest: bytes, password_hash: bytes, notice: Callable[[str], OutboxMessage]
    ) -> str:
        """Use the reset token with SHA-256 ``digest``: store the new hash, void the
        account's other reset links and queue ``notice(email)``; the account's id. A token
        that is unknown, used, voided or expired raises :class:`ResetTokenInvalid`."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT t.user_id, u.email FROM password_reset_tokens t"
                " JOIN users u ON u.id = t.user_id"
                " WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()"
                " AND u.state IN ('PENDING', 'ACTIVE') FOR UPDATE OF t, u",
                digest,
            )
            if row is None:
                raise ResetTokenInvalid("the reset link is invalid or has expired")
            await conn.execute(
                "UPDATE password_reset_tokens SET used_at = now() WHERE token_hash = $1", digest
            )
            await conn.execute(
                "DELETE FROM password_reset_tokens WHERE user_id = $1 AND used_at IS NULL",
                row["user_id"],
            )
            await conn.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                row["user_id"],
                password_hash.decode("ascii"),
            )
            await enqueue(conn, notice(row["email"]))
        return str(row["user_id"])

    async def change_password(
        self, user_id: str, old: bytes, new: bytes, notice: OutboxMessage
    ) -> bool:
        """Store ``new`` if the stored hash is still ``old``, void the account's unused reset
        links (a link mailed before the change must not undo it) and queue ``notice``;
        whether it was stored (a concurrent change wins)."""
        key = uuid.UUID(user_id)
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2"
                " AND state IN ('PENDING', 'ACTIVE')",
                key,
                old.decode("ascii"),
                new.decode("ascii"),
            )
            if status != "UPDATE 1":
                return False
            await conn.execute(
                "DELETE FROM password_reset_tokens WHERE user_id = $1 AND used_at IS NULL", key
            )
            await enqueue(conn, notice)
        return True

    async def request_email_change(
        self,
        user_id: str,
        new_email: str,
        digest: bytes | None,
        ttl: timedelta,
        mails: Sequence[OutboxMessage],
    ) -> None:
        """Void the account's earlier email-change links, store this one (none when
        ``digest`` is None: the address is taken) and queue ``mails``."""
        async with self._pool.acquire() as conn, conn.transaction():
            key = uuid.UUID(user_id)
            await conn.execute("DELETE FROM email_change_tokens WHERE user_id = $1", key)
            if digest is not None:
                await conn.execute(
                    "INSERT INTO email_change_tokens (token_hash, user_id, new_email, expires_at)"
                    " VALUES ($1, $2, $3, now() + $4)",
                    digest,
                    key,
                    new_email,
                    ttl,
                )
            for mail in mails:
                await enqueue(conn, mail)

    async def change_email(self, digest: bytes) -> tuple[str, str]:
        """Use the email-change token with SHA-256 ``digest``: the account moves to the new
        address, verified by following the link; (account id, new address). Raises
        :class:`EmailChangeTokenInvalid`, or :class:`EmailTaken` when another account took
        the address since (the link's follower owns it, so may be told)."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT t.user_id, t.new_email FROM email_change_tokens t"
                " JOIN users u ON u.id = t.user_id"
                " WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()"
                " AND u.state IN ('PENDING', 'ACTIVE') FOR UPDATE OF t, u",
                digest,
            )
            if row is None:
                raise EmailChangeTokenInvalid("the email change link is invalid or has expired")
            await conn.execute(
                "UPDATE email_change_tokens SET used_at = now() WHERE token_hash = $1", digest
            )
            try:
                async with conn.transaction():
                    await conn.execute(
                        "UPDATE users SET email = $2, email_verified_at = now() WHERE id = $1",
                        row["user_id"],
                        row["new_email"],
                    )
            except asyncpg.UniqueViolationError as err:
                if err.constraint_name == EMAIL_UNIQUE_INDEX:
                    raise EmailTaken("an account with this email already exists") from err
                raise
        return str(row["user_id"]), str(row["new_email"])
