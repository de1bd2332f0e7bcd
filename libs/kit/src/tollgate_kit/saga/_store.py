"""Sagas in PostgreSQL (table: ``schema.sql``).

A saga is started by :func:`start_saga` on the caller's connection, inside the transaction of
the change that starts it, so either both exist afterwards or neither does. Runners claim due
sagas with ``FOR UPDATE SKIP LOCKED`` and take a lease (``next_attempt_at`` pushed past it,
a fresh ``lease_token``); every later write names the token, so a runner whose lease ran out
(it hung, another runner took over) can no longer move the saga.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tollgate_kit.saga._definition import SagaState

NOTIFY_CHANNEL = "tollgate_sagas"
TRACE_CONTEXT = TraceContextTextMapPropagator()
SCHEMA_SQL = Path(__file__).with_name("schema.sql")


def schema_sql() -> str:
    """The DDL of the saga table, for a service's migration."""
    return SCHEMA_SQL.read_text()


def schema_statements() -> list[str]:
    """:func:`schema_sql` one statement at a time (a migration's driver prepares each
    statement, and a prepared statement holds one command)."""
    lines = [line for line in schema_sql().splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


@dataclass(frozen=True, slots=True)
class SagaRecord:
    id: str
    kind: str
    subject: str
    state: SagaState
    step: int
    attempts: int
    last_error: str | None
    failure: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)
    trace_context: Mapping[str, str] = field(default_factory=dict)
    lease_token: str | None = None


_GET = (
    "SELECT id, kind, subject, state, step, attempts, last_error, failure, payload,"
    " trace_context, lease_token FROM sagas WHERE id = $1"
)
_CLAIM = """
WITH due AS (
    SELECT id FROM sagas
    WHERE state IN ('running', 'compensating') AND next_attempt_at <= now()
      AND kind = ANY($1::text[]) AND ($4::uuid IS NULL OR id = $4)
    ORDER BY next_attempt_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE sagas AS s
SET attempts = s.attempts + 1,
    next_attempt_at = now() + make_interval(secs => $3),
    lease_token = gen_random_uuid(),
    updated_at = now()
FROM due WHERE s.id = due.id
RETURNING s.id, s.kind, s.subject, s.state, s.step, s.attempts, s.last_error, s.failure,
          s.payload, s.trace_context, s.lease_token
"""


def _record(row: asyncpg.Record) -> SagaRecord:
    return SagaRecord(
        id=str(row["id"]),
        kind=row["kind"],
        subject=row["subject"],
        state=SagaState(row["state"]),
        step=row["step"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        failure=row["failure"],
        payload=_json_object(row["payload"]),
        trace_context={
            k: v for k, v in _json_object(row["trace_context"]).items() if isinstance(v, str)
        },
        lease_token=None if row["lease_token"] is None else str(row["lease_token"]),
    )


def _json_object(stored: str) -> dict[str, Any]:
    try:
        value = json.loads(stored)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def start_saga(
    conn: asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record],
    kind: str,
    subject: str,
    payload: Mapping[str, Any] | None = None,
) -> str:
    """Insert a saga on ``conn`` (inside the caller's transaction) and wake the runners at
    commit. Returns its id, which its steps use as their idempotency key."""
    saga_id = uuid.uuid4()
    carrier: dict[str, str] = {}
    TRACE_CONTEXT.inject(carrier)
    await conn.execute(
        "INSERT INTO sagas (id, kind, subject, payload, trace_context)"
        " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)",
        saga_id,
        kind,
        subject,
        json.dumps(dict(payload or {})),
        json.dumps(carrier),
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return str(saga_id)


class SagaStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(
        self, kinds: list[str], limit: int, lease_seconds: float, saga_id: str | None = None
    ) -> list[SagaRecord]:
        """Lease up to ``limit`` due sagas of ``kinds`` (or only ``saga_id``, when due)."""
        rows = await self._pool.fetch(
            _CLAIM,
            kinds,
            limit,
            lease_seconds,
            None if saga_id is None else uuid.UUID(saga_id),
        )
        return [_record(row) for row in rows]

    async def advance(
        self,
        saga: SagaRecord,
        *,
        state: SagaState,
        step: int,
        lease_seconds: float,
        error: str | None = None,
        failure: str | None = None,
    ) -> bool:
        """Record that the saga moved to ``state``/``step`` (attempts start again, the lease
        is renewed, a finished saga is released). The run goes on with the next step at once,
        so its attempts count 1. False when the lease was lost."""
        status = await self._pool.execute(
            """
            UPDATE sagas SET state = $3, step = $4, attempts = CASE WHEN $6 THEN 0 ELSE 1 END,
                   last_error = coalesce($5, last_error),
                   failure = coalesce($8, failure),
                   next_attempt_at = CASE WHEN $6 THEN now()
                                          ELSE now() + make_interval(secs => $7) END,
                   lease_token = CASE WHEN $6 THEN NULL ELSE lease_token END,
                   finished_at = CASE WHEN $6 THEN now() END,
                   updated_at = now()
            WHERE id = $1 AND lease_token = $2
            """,
            uuid.UUID(saga.id),
            uuid.UUID(saga.lease_token or str(uuid.UUID(int=0))),
            state.value,
            step,
            error,
            state.finished,
            lease_seconds,
            failure,
        )
        return bool(status == "UPDATE 1")

    async def retry_later(self, saga: SagaRecord, delay_seconds: float, error: str) -> bool:
        """Release the saga until ``delay_seconds`` from now, keeping its attempts."""
        status = await self._pool.execute(
            "UPDATE sagas SET next_attempt_at = now() + make_interval(secs => $3),"
            " last_error = $4, lease_token = NULL, updated_at = now()"
            " WHERE id = $1 AND lease_token = $2",
            uuid.UUID(saga.id),
            uuid.UUID(saga.lease_token or str(uuid.UUID(int=0))),
            delay_seconds,
            error,
        )
        return bool(status == "UPDATE 1")

    async def get(self, saga_id: str) -> SagaRecord | None:
        row = await self._pool.fetchrow(_GET, uuid.UUID(saga_id))
        return None if row is None else _record(row)

    async def oldest_unfinished_age(self, kinds: list[str]) -> dict[str, float]:
        """Seconds since the oldest unfinished (or failed) saga of each kind started; 0 when
        there is none."""
        rows = await self._pool.fetch(
            "SELECT kind, extract(epoch FROM now() - min(created_at))::float8 AS age"
            " FROM sagas WHERE state IN ('running', 'compensating', 'failed')"
            "   AND kind = ANY($1::text[]) GROUP BY kind",
            kinds,
        )
        ages = dict.fromkeys(kinds, 0.0)
        ages.update({row["kind"]: float(row["age"]) for row in rows})
        return ages
