"""The claim on a message id: held while sending, freed by a crash or when the lease runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from email_svc.domain import DeliveryUnavailable, IdempotencyKeyReused
from email_svc.store import PgSendLog
from email_svc.usecases.ports import SendOutcome
from email_svc.usecases.retention import purge_send_log
from tollgate_kit.db import create_pool

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(email_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(email_dsn, min_size=1, max_size=5)
    try:
        yield created
    finally:
        await created.close()


async def _nothing() -> None:
    return None


async def _send(log: PgSendLog, message_id: str, deliver: object = _nothing) -> SendOutcome:
    return await log.send_once(message_id, "a@example.com", "welcome", "fp", deliver)  # type: ignore[arg-type]


async def _send_when_free(log: PgSendLog, message_id: str, within: float) -> SendOutcome:
    deadline = time.monotonic() + within
    outcome = await _send(log, message_id)
    while outcome is SendOutcome.BUSY and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        outcome = await _send(log, message_id)
    return outcome


async def test_an_id_that_is_being_sent_is_busy_until_the_send_is_recorded(
    pool: asyncpg.Pool,
) -> None:
    log = PgSendLog(pool, lease_seconds=30)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        started.set()
        await release.wait()

    first = asyncio.create_task(_send(log, "m1", slow))
    await started.wait()
    assert await _send(log, "m1") is SendOutcome.BUSY
    release.set()
    assert await first is SendOutcome.SENT
    assert await _send(log, "m1") is SendOutcome.ALREADY_SENT
    assert await log.state("m1") == "sent"


async def test_failed_delivery_is_recorded_and_frees_the_id(pool: asyncpg.Pool) -> None:
    log = PgSendLog(pool, lease_seconds=30)

    async def down() -> None:
        raise DeliveryUnavailable("connection refused")

    with pytest.raises(DeliveryUnavailable):
        await _send(log, "m2", down)
    assert await log.state("m2") == "pending"
    assert await _send(log, "m2") is SendOutcome.SENT


async def test_other_fingerprint_for_a_known_id_is_rejected(pool: asyncpg.Pool) -> None:
    log = PgSendLog(pool, lease_seconds=30)
    await _send(log, "m3")
    with pytest.raises(IdempotencyKeyReused):
        await log.send_once("m3", "a@example.com", "welcome", "other", _nothing)


async def test_a_sender_whose_session_dies_frees_the_id_at_once(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """What a SIGKILL of email-svc looks like to PostgreSQL: the session ends mid-send."""
    log = PgSendLog(pool, lease_seconds=30)
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.sleep(60)

    crashed = asyncio.create_task(_send(log, "m4", hang))
    await started.wait()
    assert await _send(log, "m4") is SendOutcome.BUSY
    await db.execute(
        """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'idle in transaction'"""
    )
    # pg_terminate_backend only signals the backend; it ends (and unlocks) a moment later.
    assert await _send_when_free(log, "m4", within=5) is SendOutcome.SENT
    crashed.cancel()
    # The dead connection fails the cancelled task in whichever state it was caught.
    with pytest.raises(
        (
            asyncio.CancelledError,
            asyncpg.InterfaceError,
            asyncpg.PostgresError,
            asyncpg.exceptions.InternalClientError,
        )
    ):
        await crashed


async def test_a_hung_send_loses_its_claim_when_the_lease_runs_out(pool: asyncpg.Pool) -> None:
    log = PgSendLog(pool, lease_seconds=0.5)
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.sleep(1.5)

    hung = asyncio.create_task(_send(log, "m5", hang))
    await started.wait()
    assert await _send(log, "m5") is SendOutcome.BUSY
    assert await _send_when_free(log, "m5", within=10) is SendOutcome.SENT
    # The hung sender cannot record anything: PostgreSQL ended its session.
    with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresError)):
        await hung
    assert await log.state("m5") == "sent"


async def _record(db: asyncpg.Connection, message_id: str, age_days: int, sent: bool) -> None:
    await db.execute(
        "INSERT INTO email_sends (message_id, recipient, template, fingerprint, state,"
        " created_at, sent_at) VALUES ($1, 'a@example.com', 'welcome', 'f', $2,"
        " now() - make_interval(days => $3), CASE WHEN $2 = 'sent'"
        " THEN now() - make_interval(days => $3) END)",
        message_id,
        "sent" if sent else "pending",
        age_days,
    )


async def _ids(db: asyncpg.Connection) -> set[str]:
    return {r["message_id"] for r in await db.fetch("SELECT message_id FROM email_sends")}


async def _emptied(db: asyncpg.Connection, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while await _ids(db):
        assert time.monotonic() < deadline, "the purge task left records behind"
        await asyncio.sleep(0.05)


async def test_old_records_are_purged_but_not_recent_or_busy_ones(
    pool: asyncpg.Pool, db: asyncpg.Connection, email_dsn: str
) -> None:
    await _record(db, "old-sent", 40, sent=True)
    await _record(db, "old-pending", 40, sent=False)
    await _record(db, "old-busy", 40, sent=False)
    await _record(db, "new-sent", 2, sent=True)
    holder = await asyncpg.connect(email_dsn)
    try:
        busy = holder.transaction()
        await busy.start()  # a send holds this one's lock right now
        await holder.execute("SELECT 1 FROM email_sends WHERE message_id = 'old-busy' FOR UPDATE")
        purged = await PgSendLog(pool, lease_seconds=5).purge(timedelta(days=30))
        await busy.rollback()
    finally:
        await holder.close()
    assert purged == 2
    assert await _ids(db) == {"old-busy", "new-sent"}


async def test_the_purge_task_runs_until_cancelled(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    await _record(db, "old-sent", 40, sent=True)
    task = asyncio.create_task(
        purge_send_log(PgSendLog(pool, lease_seconds=5), timedelta(days=30), interval=0.05)
    )
    try:
        await _emptied(db)
        await _record(db, "old-again", 40, sent=True)  # the next round takes it too
        await _emptied(db)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
