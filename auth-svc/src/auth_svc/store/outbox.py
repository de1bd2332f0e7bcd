"""The transactional outbox table: written with the business change, drained by the relay.

Claiming is a lease: one statement picks due rows with ``FOR UPDATE SKIP LOCKED`` (so
concurrent relays never pick the same row), counts the attempt and pushes
``next_attempt_at`` past the lease. A relay that dies mid-send leaves the row to be picked
up again when the lease ends; email-svc deduplicates on the message id.

Each row also keeps the W3C trace context of the transaction that wrote it (``traceparent``
and ``tracestate`` only: no baggage a caller sent, which would be stored and passed on), so
its delivery continues that trace.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from auth_svc.domain.outbox import OutboxMessage

NOTIFY_CHANNEL = "auth_outbox"
# What a row keeps of its writer's context, and how the relay reads it back.
TRACE_CONTEXT = TraceContextTextMapPropagator()


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: str
    message: OutboxMessage
    attempts: int
    # The writer's trace context: a carrier for the propagator, empty when it had none.
    trace_context: Mapping[str, str] = field(default_factory=dict)


async def enqueue(
    conn: asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record],
    message: OutboxMessage,
    *,
    held: bool = False,
    only_if: bool = True,
) -> str:
    """Insert ``message`` on ``conn`` (inside the caller's transaction) and wake relays at
    commit (NOTIFY is transactional). Returns the message id. A ``held`` message waits (due
    at 'infinity') until :func:`release` — a saga's step — lets it go.

    With ``only_if=False`` nothing is inserted, by the same statements (a password reset for
    an unknown address costs what one for an account costs)."""
    message_id = uuid.uuid4()
    trace_context: dict[str, str] = {}
    TRACE_CONTEXT.inject(trace_context)
    await conn.execute(
        "INSERT INTO outbox (id, template, recipient, params, trace_context, next_attempt_at)"
        " SELECT $1, $2, $3, $4::jsonb, $5::jsonb,"
        " CASE WHEN $6 THEN 'infinity'::timestamptz ELSE now() END WHERE $7",
        message_id,
        message.template,
        message.recipient,
        json.dumps(dict(message.params)),
        json.dumps(trace_context),
        held,
        only_if,
    )
    if not held:
        await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return str(message_id)


async def release(
    conn: asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record],
    message_id: str,
) -> None:
    """Let a held message go now (a no-op once released or delivered)."""
    status = await conn.execute(
        "UPDATE outbox SET next_attempt_at = now()"
        " WHERE id = $1 AND next_attempt_at = 'infinity'::timestamptz",
        uuid.UUID(message_id),
    )
    if status == "UPDATE 1":
        await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")


class OutboxStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, limit: int, lease_seconds: float) -> list[ClaimedMessage]:
        rows = await self._pool.fetch(
            """
            WITH due AS (
                SELECT id FROM outbox
                WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
                ORDER BY next_attempt_at
                LIMIT $1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE outbox AS o
            SET attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
            FROM due WHERE o.id = due.id
            RETURNING o.id, o.template, o.recipient, o.params, o.attempts, o.trace_context
            """,
            limit,
            lease_seconds,
        )
        return [
            ClaimedMessage(
                id=str(row["id"]),
                message=OutboxMessage(
                    template=row["template"],
                    recipient=row["recipient"],
                    params=json.loads(row["params"]),
                ),
                attempts=row["attempts"],
                trace_context=_carrier(row["trace_context"]),
            )
            for row in rows
        ]

    async def mark_delivered(self, message_id: str) -> None:
        await self._pool.execute(
            # params held the raw verification link: drop it once the mail is out.
            "UPDATE outbox SET delivered_at = now(), last_error = NULL, params = '{}'"
            " WHERE id = $1",
            uuid.UUID(message_id),
        )

    async def schedule_retry(self, message_id: str, delay_seconds: float, error: str) -> None:
        await self._pool.execute(
            "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2), "
            "last_error = $3 WHERE id = $1 AND delivered_at IS NULL",
            uuid.UUID(message_id),
            delay_seconds,
            error,
        )

    async def mark_rejected(self, message_id: str, error: str) -> None:
        """Dead-letter: the row stays for inspection (template, recipient, error) and is never
        tried again. Its params go, as on delivery: they hold a live verification link."""
        await self._pool.execute(
            "UPDATE outbox SET failed_at = now(), last_error = $2, params = '{}' "
            "WHERE id = $1 AND delivered_at IS NULL",
            uuid.UUID(message_id),
            error,
        )

    async def depth(self) -> int:
        """Messages not yet delivered nor dead-lettered."""
        count = await self._pool.fetchval(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL"
        )
        return int(count)

    async def purge(self, older_than: timedelta) -> int:
        """Delete delivered and dead rows older than ``older_than``; how many went."""
        status = await self._pool.execute(
            "DELETE FROM outbox WHERE coalesce(delivered_at, failed_at) < now() - $1::interval",
            older_than,
        )
        return int(status.rsplit(" ", 1)[-1])


def _carrier(stored: str) -> dict[str, str]:
    """The stored trace context as a propagator carrier; anything malformed is dropped (a
    delivery without its trace is better than no delivery)."""
    try:
        value = json.loads(stored)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
