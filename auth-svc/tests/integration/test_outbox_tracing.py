"""A registration's trace runs on through the outbox: the relay delivers each message inside
the trace of the transaction that wrote it and hands that trace to email-svc, while the
relay's own polling stays out of traces."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

from auth_svc.domain.outbox import OutboxMessage
from auth_svc.metrics import AuthMetrics
from auth_svc.outbox.email_client import GrpcEmailSender, email_channel
from auth_svc.outbox.relay import SEND_EMAIL, OutboxRelay, RelayPolicy
from auth_svc.store.outbox import OutboxStore, enqueue
from tollgate.auth.v1 import auth_pb2
from tollgate_devstack.testing import temp_database
from tollgate_kit.db import create_pool, downgrade, migrations_dir, upgrade

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A tracer provider that keeps its spans, with asyncpg's queries traced into it (as
    auth-svc's main module traces them into the global one)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    assert not instrumentor.is_instrumented_by_opentelemetry, "asyncpg traced elsewhere"
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield provider, exporter
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def _hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def _queries(finished: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in finished if s.attributes and "db.statement" in s.attributes]


def _statement(span: ReadableSpan) -> str:
    assert span.attributes is not None
    return str(span.attributes["db.statement"])


async def test_delivery_continues_the_registration_trace_into_email_svc(
    settings_for: Any,
    start_auth: Any,
    email_double: Any,
    eventually: Any,
    db: asyncpg.Connection[asyncpg.Record],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    settings = settings_for(outbox_poll_seconds=0.05)
    async with start_auth(settings, tracer_provider=provider) as auth:
        # Several idle polls first: none of them may leave a span.
        await asyncio.sleep(0.5)
        assert _queries(exporter.get_finished_spans()) == []

        traceparent = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"
        await auth.stub.Register(
            auth_pb2.RegisterRequest(email="ann@example.com", password="correct horse"),
            metadata=(("traceparent", traceparent), ("baggage", "customer=ann%40example.com")),
        )
        # The row keeps the trace context, nothing of the caller's baggage.
        with suppress_instrumentation():  # the test's own query is no part of the trace
            stored = json.loads(await db.fetchval("SELECT trace_context FROM outbox"))
        assert set(stored) == {"traceparent"}
        assert stored["traceparent"].split("-")[1] == TRACE_ID

        def delivery_spans() -> list[ReadableSpan]:
            return [s for s in exporter.get_finished_spans() if s.name == SEND_EMAIL]

        async def delivered() -> bool:
            return bool(delivery_spans())

        await eventually(delivered, within=10, what="the delivery span")
        await asyncio.sleep(0.3)  # more idle polls after the delivery
        finished = exporter.get_finished_spans()

    [delivery] = delivery_spans()
    assert delivery.kind is SpanKind.CLIENT
    assert _hex_trace(delivery) == TRACE_ID
    assert delivery.attributes is not None
    assert delivery.attributes["tollgate.outbox.outcome"] == "delivered"
    assert delivery.attributes["tollgate.outbox.attempt"] == 1
    message_id = delivery.attributes["tollgate.outbox.message_id"]

    # The delivery hangs under the same span as the outbox INSERT: the Register RPC's.
    [insert] = [q for q in _queries(finished) if "INSERT INTO outbox" in _statement(q)]
    assert _hex_trace(insert) == TRACE_ID
    assert insert.parent is not None
    assert delivery.parent is not None
    assert delivery.parent.span_id == insert.parent.span_id

    # Recording the outcome is part of the delivery.
    assert delivery.context is not None
    [marked] = [q for q in _queries(finished) if "SET delivered_at" in _statement(q)]
    assert marked.parent is not None
    assert marked.parent.span_id == delivery.context.span_id

    # email-svc got the trace, with the delivery span as its parent.
    [request] = email_double.service.sent
    assert request.message_id == message_id
    [metadata] = email_double.service.metadata
    version, trace_id, parent_id, _flags = metadata["traceparent"].split("-")
    assert (version, trace_id) == ("00", TRACE_ID)
    assert parent_id == format(delivery.context.span_id, "016x")

    # Every traced query belongs to the registration: the relay's claims, depth readings and
    # LISTEN set-up, dozens of them by now, made none.
    assert {_hex_trace(q) for q in _queries(finished)} == {TRACE_ID}
    assert all(q.parent is not None for q in _queries(finished))


async def test_rows_without_a_stored_trace_are_delivered_in_a_trace_of_their_own(
    database_url: str,
    email_double: Any,
    eventually: Any,
    db: asyncpg.Connection[asyncpg.Record],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    async with db.transaction():  # outside any span: nothing to store
        await enqueue(db, OutboxMessage("welcome", "no-trace@example.com", {}))
        await enqueue(db, OutboxMessage("welcome", "garbled@example.com", {}))
    # Rows of the previous release carry '{}'; a damaged value must not stop the mail.
    await db.execute(
        "UPDATE outbox SET trace_context = '[\"00-x\"]' WHERE recipient = 'garbled@example.com'"
    )
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE trace_context = '{}'") == 1

    pool = await create_pool(database_url, min_size=1, max_size=2)
    channel = email_channel(email_double.address)
    relay = OutboxRelay(
        OutboxStore(pool),
        GrpcEmailSender(channel, timeout=5),
        AuthMetrics(CollectorRegistry()),
        RelayPolicy(0.05, 10, 30.0, 0.05, 0.1, timedelta(days=1)),
        tracer=provider.get_tracer("test"),
    )
    task = asyncio.create_task(relay.run())
    try:

        async def delivered() -> bool:
            return await db.fetchval("SELECT count(delivered_at) FROM outbox") == 2

        await eventually(delivered, within=10, what="both rows delivered")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await channel.close(grace=None)
        await pool.close()

    deliveries = [s for s in exporter.get_finished_spans() if s.name == SEND_EMAIL]
    assert len(deliveries) == 2
    assert all(s.parent is None for s in deliveries)
    assert all(s.status.status_code is not StatusCode.ERROR for s in deliveries)
    assert len({_hex_trace(s) for s in deliveries}) == 2
    assert sorted(r.to for r in email_double.service.sent) == [
        "garbled@example.com",
        "no-trace@example.com",
    ]
    for metadata in email_double.service.metadata:
        assert metadata["traceparent"].split("-")[1] in {_hex_trace(s) for s in deliveries}


async def test_a_row_the_previous_release_writes_gets_an_empty_trace_context() -> None:
    migrations = migrations_dir("auth_svc")
    async with temp_database("auth_mig") as dsn:
        await upgrade(dsn, migrations)
        conn = await asyncpg.connect(dsn)
        try:
            # 0001's INSERT, as a replica still on the previous release runs it.
            await conn.execute(
                "INSERT INTO outbox (id, template, recipient) VALUES (gen_random_uuid(), 'w', 'a')"
            )
            assert await conn.fetchval("SELECT trace_context FROM outbox") == "{}"
            await downgrade(dsn, migrations, "0001")
            column = (
                "SELECT count(*) FROM information_schema.columns"
                " WHERE table_name = 'outbox' AND column_name = 'trace_context'"
            )
            assert await conn.fetchval(column) == 0
            await upgrade(dsn, migrations)
            assert await conn.fetchval(column) == 1
        finally:
            await conn.close()
