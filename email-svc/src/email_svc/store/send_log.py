"""The idempotency record of sends in PostgreSQL (database ``email``, table ``email_sends``).

One row per message id: ``pending`` until a delivery succeeded, then ``sent``. The claim on a
message id is the row's lock (``SELECT … FOR UPDATE NOWAIT``) held by the transaction that
wraps the SMTP delivery. That lock is the lease: it ends when the transaction commits, when
the sending process dies (its session ends), or when the session sits in the transaction
longer than ``lease_seconds`` (``idle_in_transaction_session_timeout``), whichever is first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from opentelemetry.instrumentation.utils import suppress_instrumentation

from email_svc.domain import IdempotencyKeyReused, SendLogUnavailable
from email_svc.usecases.ports import SendOutcome
from tollgate_kit.db import DATABASE_UNREACHABLE
from tollgate_kit.outages import translate_outages

_REGISTER = """
INSERT INTO email_sends (message_id, recipient, template, fingerprint)
VALUES ($1, $2, $3, $4)
ON CONFLICT (message_id) DO NOTHING
"""
_CLAIM = """
SELECT state, fingerprint FROM email_sends WHERE message_id = $1 FOR UPDATE NOWAIT
"""
_MARK_SENT = """
UPDATE email_sends
   SET state = 'sent', attempts = attempts + 1, sent_at = now(), last_attempt_at = now(),
       last_error = NULL
 WHERE message_id = $1
"""
_MARK_FAILED = """
UPDATE email_sends
   SET attempts = attempts + 1, last_attempt_at = now(), last_error = $2
 WHERE message_id = $1
"""


class _Busy(Exception):
    pass


@translate_outages(DATABASE_UNREACHABLE, SendLogUnavailable)
class PgSendLog:
    def __init__(self, pool: asyncpg.Pool, *, lease_seconds: float) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._pool = pool
        self._lease_ms = str(max(1, int(lease_seconds * 1000)))

    async def send_once(
        self,
        message_id: str,
        recipient: str,
        template: str,
        fingerprint: str,
        deliver: Callable[[], Awaitable[None]],
    ) -> SendOutcome:
        failure: BaseException | None = None
        async with self._pool.acquire() as conn:
            # Its own committed statement: inserting inside the claiming transaction would make
            # concurrent callers wait on the uncommitted key instead of seeing a busy row.
            await conn.execute(_REGISTER, message_id, recipient, template, fingerprint)
            try:
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('idle_in_transaction_session_timeout', $1, true)",
                        self._lease_ms,
                    )
                    try:
                        row = await conn.fetchrow(_CLAIM, message_id)
                    except asyncpg.LockNotAvailableError:
                        raise _Busy from None
                    if row is None:  # deleted between the two statements: treat as busy
                        raise _Busy
                    if row["fingerprint"] != fingerprint:
                        raise IdempotencyKeyReused(
                            f"message_id {message_id!r} was already used for another message"
                        )
                    if row["state"] == "sent":
                        return SendOutcome.ALREADY_SENT
                    try:
                        await deliver()
                    except Exception as exc:
                        failure = exc
                        await conn.execute(_MARK_FAILED, message_id, _describe(exc))
                    else:
                        await conn.execute(_MARK_SENT, message_id)
            except _Busy:
                return SendOutcome.BUSY
        if failure is not None:
            raise failure
        return SendOutcome.SENT

    async def purge(self, older_than: timedelta) -> int:
        """Forget sends recorded more than ``older_than`` ago (sent, or pending and long
        abandoned by their caller), leaving any row a send holds right now; how many went.
        Housekeeping, not a request: no trace. A statement the server refuses (a timeout, a
        standby) is the send log being unavailable for now."""
        try:
            with suppress_instrumentation():
                status = await self._pool.execute(
                    """
                    DELETE FROM email_sends WHERE message_id IN (
                        SELECT message_id FROM email_sends
                         WHERE coalesce(sent_at, created_at) < now() - $1::interval
                         FOR UPDATE SKIP LOCKED
                    )
                    """,
                    older_than,
                )
        except asyncpg.PostgresError as err:
            raise SendLogUnavailable("the send log refused the purge; retried later") from err
        return int(status.rsplit(" ", 1)[-1])

    async def state(self, message_id: str) -> str | None:
        """``pending``, ``sent`` or None (unknown id)."""
        async with self._pool.acquire() as conn:
            value: str | None = await conn.fetchval(
                "SELECT state FROM email_sends WHERE message_id = $1", message_id
            )
            return value


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
