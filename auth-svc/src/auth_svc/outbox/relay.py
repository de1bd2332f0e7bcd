"""The outbox relay: a background task of every auth-svc replica.

It wakes on ``NOTIFY auth_outbox`` (sent by the transaction that wrote a message) or every
``poll_interval`` seconds, claims due rows (see :mod:`auth_svc.store.outbox` — replicas never
claim the same row), sends each to email-svc, and records the outcome: delivered, retry
later with exponential backoff and jitter, or dead-lettered when email-svc rejects the
message as invalid. A crash between sending and recording means one more send of the same
message id, which email-svc ignores, so mail is delayed at worst, never lost or doubled.

Tracing: each delivery is a client span in the trace of the transaction that wrote the
message (its context is stored with the row) and carries that trace on to email-svc. The
relay's own polling (claims, depth, purge, LISTEN) is left out of traces: it would start a
new trace every poll interval on every replica, and its metrics already tell its story.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode

from auth_svc.domain.outbox import DeliveryOutcome, OutboxMessage, retry_delay
from auth_svc.metrics import AuthMetrics
from auth_svc.store.outbox import NOTIFY_CHANNEL, TRACE_CONTEXT, ClaimedMessage, OutboxStore
from tollgate_kit.logs import get_logger
from tollgate_kit.pg_listen import NotifyListener

log = get_logger(__name__)

PURGE_EVERY_SECONDS = 3600.0
SEND_EMAIL = "tollgate.email.v1.EmailService/SendEmail"


class EmailSender(Protocol):
    async def send(
        self, message_id: str, message: OutboxMessage
    ) -> tuple[DeliveryOutcome, str]: ...


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    poll_interval: float
    batch_size: int
    lease: float
    retry_base: float
    retry_max: float
    retention: timedelta


class OutboxRelay:
    def __init__(
        self,
        store: OutboxStore,
        sender: EmailSender,
        metrics: AuthMetrics,
        policy: RelayPolicy,
        *,
        listen_dsn: str | None = None,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._metrics = metrics
        self._policy = policy
        self._tracer = tracer or trace.get_tracer(__name__)
        self._listener = NotifyListener(listen_dsn, NOTIFY_CHANNEL)
        self._last_purge = float("-inf")

    async def run(self) -> None:
        """Relay until cancelled; database or network trouble is logged and retried."""
        await self._listener.serve(self._round, self._policy.poll_interval, self._failed)

    async def _round(self) -> None:
        await self.drain()
        with suppress_instrumentation():
            await self._housekeeping()

    def _failed(self) -> None:
        self._metrics.outbox_relay_errors.inc()
        log.exception("outbox_relay_failed")

    async def drain(self) -> int:
        """Deliver due messages until none is left; how many were attempted."""
        attempted = 0
        while True:
            with suppress_instrumentation():
                claimed = await self._store.claim(self._policy.batch_size, self._policy.lease)
            if not claimed:
                return attempted
            attempted += len(claimed)
            await asyncio.gather(*(self._deliver(item) for item in claimed))
            if len(claimed) < self._policy.batch_size:
                return attempted

    async def _deliver(self, item: ClaimedMessage) -> None:
        with self._tracer.start_as_current_span(
            SEND_EMAIL,
            context=TRACE_CONTEXT.extract(item.trace_context),
            kind=SpanKind.CLIENT,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": SEND_EMAIL.split("/")[0],
                "rpc.method": SEND_EMAIL.split("/")[1],
                "tollgate.outbox.message_id": item.id,
                "tollgate.outbox.attempt": item.attempts,
            },
        ) as span:
            outcome = await self._deliver_in_span(item)
            span.set_attribute("tollgate.outbox.outcome", outcome.value)
            if outcome is not DeliveryOutcome.DELIVERED:
                span.set_status(Status(StatusCode.ERROR, f"outbox delivery: {outcome.value}"))

    async def _deliver_in_span(self, item: ClaimedMessage) -> DeliveryOutcome:
        outcome, error = await self._sender.send(item.id, item.message)
        self._metrics.outbox_attempts.labels(outcome.value).inc()
        if outcome is DeliveryOutcome.DELIVERED:
            await self._store.mark_delivered(item.id)
            log.info("outbox_delivered", message_id=item.id, attempts=item.attempts)
        elif outcome is DeliveryOutcome.REJECTED:
            await self._store.mark_rejected(item.id, error)
            log.error(
                "outbox_dead_letter",
                message_id=item.id,
                template=item.message.template,
                attempts=item.attempts,
                error=error,
            )
        else:
            delay = retry_delay(
                item.attempts, base=self._policy.retry_base, cap=self._policy.retry_max
            )
            await self._store.schedule_retry(item.id, delay, error)
            log.warning(
                "outbox_retry_scheduled",
                message_id=item.id,
                attempts=item.attempts,
                retry_in_seconds=round(delay, 3),
                error=error,
            )
        return outcome

    async def _housekeeping(self) -> None:
        self._metrics.outbox_depth.set(await self._store.depth())
        if time.monotonic() - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = time.monotonic()
            purged = await self._store.purge(self._policy.retention)
            if purged:
                log.info("outbox_purged", rows=purged)
