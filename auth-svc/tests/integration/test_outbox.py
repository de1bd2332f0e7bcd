"""The transactional outbox: written with the user, relayed to email-svc exactly once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from prometheus_client import CollectorRegistry

from auth_svc.domain.outbox import OutboxMessage
from auth_svc.metrics import AuthMetrics
from auth_svc.outbox.email_client import GrpcEmailSender, email_channel
from auth_svc.outbox.relay import OutboxRelay, RelayPolicy
from auth_svc.store.outbox import OutboxStore, enqueue
from tollgate.auth.v1 import auth_pb2
from tollgate_devstack.testing import free_port
from tollgate_kit.db import create_pool


async def test_register_writes_exactly_one_welcome_row_with_the_user(
    settings_for: Any, start_auth: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    # The relay is pointed at nothing, so the row stays pending for inspection.
    async with start_auth(settings_for(email_addr=f"127.0.0.1:{free_port()}")) as auth:
        user = await auth.register("Ann@Example.com")
    rows = await db.fetch("SELECT * FROM outbox")
    assert len(rows) == 1
    [row] = rows
    assert row["template"] == "welcome"
    assert row["recipient"] == "Ann@example.com"
    params = json.loads(row["params"])
    assert params["verification_url"].startswith("http://tollgate.test/app/verify-email?token=")
    assert row["delivered_at"] is None
    user_created = await db.fetchval(
        "SELECT created_at FROM users WHERE id = $1::uuid", user.user_id
    )
    # Same transaction: same now().
    assert row["created_at"] == user_created


async def test_a_failing_outbox_insert_rolls_the_user_back(
    auth: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    await db.execute(
        """
        CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'outbox is broken'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse();
        """
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await auth.register("ann@example.com")
    assert caught.value.code() is grpc.StatusCode.INTERNAL
    # The client learns nothing about the database.
    assert caught.value.details() == "internal error"
    assert await db.fetchval("SELECT count(*) FROM users") == 0
    assert await db.fetchval("SELECT count(*) FROM email_verification_tokens") == 0
    assert await db.fetchval("SELECT count(*) FROM outbox") == 0
    assert await auth.metric("auth_register_total", {"result": "error"}) == 1

    await db.execute("DROP TRIGGER refuse ON outbox")
    await auth.register("ann@example.com")
    assert await db.fetchval("SELECT count(*) FROM users") == 1


async def test_the_relay_delivers_promptly_with_the_row_id_as_message_id(
    settings_for: Any,
    start_auth: Any,
    email_double: Any,
    eventually: Any,
    db: asyncpg.Connection[asyncpg.Record],
) -> None:
    # With a 30 s poll, only LISTEN/NOTIFY can make delivery this quick.
    async with start_auth(settings_for(outbox_poll_seconds=30)) as auth:
        await eventually(lambda: _listening(db), within=5, what="the relay's LISTEN connection")
        await auth.register("ann@example.com")

        async def delivered() -> bool:
            return await db.fetchval("SELECT delivered_at IS NOT NULL FROM outbox") is True

        await eventually(delivered, within=2, what="delivery")
        [sent] = email_double.service.sent
        row = await db.fetchrow("SELECT id, attempts FROM outbox")
        assert row is not None
        assert sent.message_id == str(row["id"])
        assert sent.to == "ann@example.com"
        assert sent.template == "welcome"
        assert row["attempts"] == 1
        # The raw verification token leaves the database once the mail is out.
        assert await db.fetchval("SELECT params::text FROM outbox") == "{}"
        assert (
            await auth.metric("auth_outbox_delivery_attempts_total", {"result": "delivered"}) == 1
        )


async def _listening(db: asyncpg.Connection[asyncpg.Record]) -> bool:
    count = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    )
    return bool(count)


async def test_unavailable_email_service_is_retried_with_backoff(
    auth: Any, email_double: Any, eventually: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    email_double.service.failures[:] = [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    ]
    await auth.register("ann@example.com")

    async def delivered() -> bool:
        return await db.fetchval("SELECT delivered_at IS NOT NULL FROM outbox") is True

    await eventually(delivered, within=10, what="delivery after retries")
    assert len(email_double.service.attempts) == 4
    assert len(email_double.service.sent) == 1
    assert len({a.message_id for a in email_double.service.attempts}) == 1
    row = await db.fetchrow("SELECT attempts, last_error FROM outbox")
    assert row is not None
    assert row["attempts"] == 4
    assert row["last_error"] is None
    assert await auth.metric("auth_outbox_delivery_attempts_total", {"result": "retry"}) == 3
    assert await auth.metric("auth_outbox_depth") == 0


async def test_a_rejected_message_is_dead_lettered_not_retried(
    auth: Any, email_double: Any, eventually: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    email_double.service.failures[:] = [grpc.StatusCode.INVALID_ARGUMENT]
    await auth.register("ann@example.com")

    async def dead() -> bool:
        return await db.fetchval("SELECT failed_at IS NOT NULL FROM outbox") is True

    await eventually(dead, what="dead letter")
    row = await db.fetchrow(
        "SELECT attempts, last_error, delivered_at, template, recipient, params FROM outbox"
    )
    assert row is not None
    assert row["attempts"] == 1
    assert row["delivered_at"] is None
    assert row["last_error"].startswith("INVALID_ARGUMENT")
    assert (row["template"], row["recipient"]) == ("welcome", "ann@example.com")
    # The verification link does not outlive the attempt in a dead row either.
    assert json.loads(row["params"]) == {}
    assert await auth.metric("auth_outbox_delivery_attempts_total", {"result": "rejected"}) == 1
    # Nothing is due any more, so a relay finds no work.
    pool = await create_pool(auth.settings.database_url, min_size=1, max_size=1)
    try:
        assert await OutboxStore(pool).claim(10, 5.0) == []
    finally:
        await pool.close()
    assert len(email_double.service.attempts) == 1


async def test_mail_waits_while_email_service_is_down_and_goes_out_when_it_is_back(
    settings_for: Any,
    start_auth: Any,
    email_double_factory: Any,
    eventually: Any,
    db: asyncpg.Connection[asyncpg.Record],
) -> None:
    port = free_port()
    async with start_auth(settings_for(email_addr=f"127.0.0.1:{port}")) as auth:
        for n in range(3):
            await auth.register(f"user{n}@example.com")

        async def retried() -> bool:
            return await db.fetchval("SELECT min(attempts) FROM outbox") >= 2

        await eventually(retried, what="failed attempts against the stopped email-svc")
        assert await auth.metric("auth_outbox_depth") == 3

        async with email_double_factory(port) as double:

            async def all_delivered() -> bool:
                return await db.fetchval("SELECT count(delivered_at) FROM outbox") == 3

            await eventually(all_delivered, within=15, what="delivery after restart")
            assert sorted(r.to for r in double.service.sent) == [
                f"user{n}@example.com" for n in range(3)
            ]
            await eventually(lambda: _depth_is(auth, 0), within=5, what="the outbox depth gauge")


async def _depth_is(auth: Any, value: float) -> bool:
    return bool(await auth.metric("auth_outbox_depth") == value)


async def test_two_relays_at_once_never_deliver_a_row_twice(
    database_url: str, email_double: Any, eventually: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    total = 120
    async with db.transaction():
        for n in range(total):
            await enqueue(db, OutboxMessage("welcome", f"user{n}@example.com", {"n": str(n)}))
    email_double.service.delay = 0.005

    policy = RelayPolicy(
        poll_interval=0.05,
        batch_size=7,
        lease=30.0,
        retry_base=0.05,
        retry_max=0.1,
        retention=timedelta(days=1),
    )
    pools = [await create_pool(database_url, min_size=1, max_size=4) for _ in range(2)]
    channels = [email_channel(email_double.address) for _ in range(2)]
    metrics = [AuthMetrics(CollectorRegistry()) for _ in range(2)]
    relays = [
        OutboxRelay(
            OutboxStore(pool),
            GrpcEmailSender(channel, timeout=5),
            relay_metrics,
            policy,
            listen_dsn=database_url,
        )
        for pool, channel, relay_metrics in zip(pools, channels, metrics, strict=True)
    ]
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:

        async def all_delivered() -> bool:
            return await db.fetchval("SELECT count(delivered_at) FROM outbox") == total

        await eventually(all_delivered, within=20, what="all rows delivered")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close(grace=None)
        for pool in pools:
            await pool.close()
    sends = Counter(r.message_id for r in email_double.service.sent)
    assert len(sends) == total
    assert set(sends.values()) == {1}
    assert await db.fetchval("SELECT max(attempts) FROM outbox") == 1
    # Both relays did part of the work.
    registries = [m.outbox_attempts.labels("delivered") for m in metrics]
    per_relay = [counter._value.get() for counter in registries]
    assert sum(per_relay) == total
    assert all(count > 0 for count in per_relay)


async def test_register_rpc_does_not_wait_for_mail(
    settings_for: Any, start_auth: Any, email_double: Any
) -> None:
    email_double.service.delay = 5.0
    async with start_auth(settings_for(outbox_send_timeout_seconds=0.5)) as auth:
        response = await asyncio.wait_for(
            auth.stub.Register(
                auth_pb2.RegisterRequest(email="ann@example.com", password="correct horse")
            ),
            timeout=3,
        )
        assert response.user_id


async def test_old_delivered_and_dead_rows_are_purged(
    database_url: str, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    async with db.transaction():
        ids = [
            await enqueue(db, OutboxMessage("welcome", f"user{n}@example.com")) for n in range(4)
        ]
    old_delivered, old_dead, recent_delivered, old_pending = ids
    await db.execute(
        "UPDATE outbox SET delivered_at = now() - interval '8 days' WHERE id = $1::uuid",
        old_delivered,
    )
    await db.execute(
        "UPDATE outbox SET failed_at = now() - interval '8 days' WHERE id = $1::uuid", old_dead
    )
    await db.execute(
        "UPDATE outbox SET delivered_at = now() - interval '1 day' WHERE id = $1::uuid",
        recent_delivered,
    )
    await db.execute(
        "UPDATE outbox SET created_at = now() - interval '30 days' WHERE id = $1::uuid",
        old_pending,
    )
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        assert await OutboxStore(pool).purge(timedelta(days=7)) == 2
    finally:
        await pool.close()
    remaining = {str(r["id"]) for r in await db.fetch("SELECT id FROM outbox")}
    assert remaining == {recent_delivered, old_pending}
