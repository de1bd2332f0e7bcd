"""The saga runner: a background task of every replica of a service that keeps sagas.

It wakes on ``NOTIFY tollgate_sagas`` (sent when a saga starts) or every ``poll_interval``,
leases due sagas (replicas never hold the same one) and drives each as far as it goes:
steps forward, and after a step fails for good (:class:`PermanentFailure`) the
compensations of the completed steps in reverse. A transient failure releases the saga until
its next attempt (capped exponential backoff with jitter). Every transition is written
before the next step starts, so a runner that dies mid-saga leaves it where it was: when the
lease ends, any runner resumes it from that step, which is why steps must be idempotent
(they get the saga id as their key).

A service that starts a saga in a request calls :meth:`SagaRunner.launch` after its commit:
the first attempt then runs at once in that replica instead of waiting for a poll.

Each run is one span in the trace of the change that started the saga (its context is stored
with the row), with one child span per step; the polling itself is left out of traces.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Status, StatusCode

from tollgate_kit.backoff import retry_delay
from tollgate_kit.logs import get_logger
from tollgate_kit.pg_listen import NotifyListener
from tollgate_kit.saga._definition import (
    PermanentFailure,
    SagaDefinition,
    SagaState,
    Step,
    StepContext,
)
from tollgate_kit.saga._metrics import SagaMetrics
from tollgate_kit.saga._store import NOTIFY_CHANNEL, TRACE_CONTEXT, SagaRecord, SagaStore
from tollgate_kit.tasks import stop_if_cancelled

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerPolicy:
    poll_interval: float = 1.0
    batch_size: int = 10
    # A claimed saga is hidden from other runners this long; every transition renews it.
    lease: float = 60.0
    # One attempt of a step is cut off after this long (and retried): always below the lease.
    step_timeout: float = 20.0
    retry_base: float = 1.0
    retry_max: float = 300.0

    def __post_init__(self) -> None:
        if self.step_timeout >= self.lease:
            raise ValueError("a step's timeout must be shorter than the saga lease")


class _LeaseLost(Exception):
    """Another runner owns the saga now (this one outlived its lease)."""


class SagaRunner:
    def __init__(
        self,
        store: SagaStore,
        definitions: Iterable[SagaDefinition],
        metrics: SagaMetrics,
        policy: RunnerPolicy,
        *,
        listen_dsn: str | None = None,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._store = store
        self._definitions = {d.kind: d for d in definitions}
        self._kinds = sorted(self._definitions)
        self._metrics = metrics
        self._policy = policy
        self._tracer = tracer or trace.get_tracer(__name__)
        self._listener = NotifyListener(listen_dsn, NOTIFY_CHANNEL)
        self._launched: set[asyncio.Task[None]] = set()

    def define(self, *definitions: SagaDefinition) -> None:
        """Add sagas the runner drives (for wiring where a step needs what needs the runner)."""
        for definition in definitions:
            if definition.kind in self._definitions:
                raise ValueError(f"saga {definition.kind!r} is defined twice")
            self._definitions[definition.kind] = definition
        self._kinds = sorted(self._definitions)

    # --- starting and waiting ------------------------------------------------------------

    def launch(self, saga_id: str, kind: str) -> asyncio.Task[None]:
        """Count a saga its caller has just committed and run its first attempt now."""
        self._metrics.started.labels(kind).inc()
        task = asyncio.create_task(self._drive(saga_id))
        self._launched.add(task)
        task.add_done_callback(self._launched.discard)
        return task

    async def wait_finished(
        self, saga_id: str, within: float, *, first_attempt: bool = False
    ) -> SagaRecord | None:
        """The saga once it has finished, or as it stands after ``within`` seconds. With
        ``first_attempt``, also once its first attempt is over (it waits for a retry)."""
        deadline = time.monotonic() + within
        while True:
            saga = await self._store.get(saga_id)
            if saga is None or saga.state.finished or time.monotonic() >= deadline:
                return saga
            if first_attempt and saga.attempts > 0 and saga.lease_token is None:
                return saga
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    async def _drive(self, saga_id: str) -> None:
        try:
            with suppress_instrumentation():
                claimed = await self._store.claim(
                    self._kinds, 1, self._policy.lease, saga_id=saga_id
                )
            for saga in claimed:
                await self.run_saga(saga)
        except Exception:
            # The background loop picks the saga up again; nothing is lost.
            self._metrics.runner_errors.inc()
            log.exception("saga_first_attempt_failed", saga_id=saga_id)

    # --- the background loop -------------------------------------------------------------

    async def run(self) -> None:
        """Run sagas until cancelled; database trouble is logged and retried."""
        try:
            await self._listener.serve(self._round, self._policy.poll_interval, self._failed)
        finally:
            for task in list(self._launched):
                task.cancel()

    async def _round(self) -> None:
        await self.drain()
        with suppress_instrumentation():
            ages = await self._store.oldest_unfinished_age(self._kinds)
        for kind, age in ages.items():
            self._metrics.oldest_unfinished_age.labels(kind).set(age)

    def _failed(self) -> None:
        self._metrics.runner_errors.inc()
        log.exception("saga_runner_failed")

    async def drain(self) -> int:
        """Run due sagas until none is left; how many were claimed."""
        claimed_total = 0
        while True:
            with suppress_instrumentation():
                claimed = await self._store.claim(
                    self._kinds, self._policy.batch_size, self._policy.lease
                )
            if not claimed:
                return claimed_total
            claimed_total += len(claimed)
            await asyncio.gather(*(self.run_saga(saga) for saga in claimed))
            if len(claimed) < self._policy.batch_size:
                return claimed_total

    # --- one run -------------------------------------------------------------------------

    async def run_saga(self, saga: SagaRecord) -> None:
        """Drive a leased saga until it finishes, waits for a retry, or its lease is lost."""
        definition = self._definitions[saga.kind]
        with self._tracer.start_as_current_span(
            f"saga {saga.kind}",
            context=TRACE_CONTEXT.extract(dict(saga.trace_context)),
            attributes={
                "saga.id": saga.id,
                "saga.kind": saga.kind,
                "saga.step": definition.step_name(saga.step),
                "saga.attempt": saga.attempts,
            },
        ) as span:
            try:
                state = await self._run_steps(definition, saga)
            except _LeaseLost:
                log.warning("saga_lease_lost", saga_id=saga.id, kind=saga.kind)
                state = saga.state
            span.set_attribute("saga.state", state.value)
            if state is SagaState.FAILED:
                span.set_status(Status(StatusCode.ERROR, "saga failed"))

    async def _run_steps(self, definition: SagaDefinition, saga: SagaRecord) -> SagaState:
        state, index, attempt = saga.state, saga.step, saga.attempts
        failure = saga.failure or ""
        while True:
            if state is SagaState.RUNNING and index >= len(definition.steps):
                await self._move(saga, definition, SagaState.COMPLETED, index)
                self._metrics.completed.labels(saga.kind).inc()
                return SagaState.COMPLETED
            if state is SagaState.COMPENSATING and index < 0:
                await self._move(saga, definition, SagaState.COMPENSATED, index)
                self._metrics.compensated.labels(saga.kind).inc()
                return SagaState.COMPENSATED
            step = definition.steps[index]
            compensating = state is SagaState.COMPENSATING
            action = step.compensate if compensating else step.action
            context = StepContext(
                saga_id=saga.id,
                kind=saga.kind,
                subject=saga.subject,
                payload=saga.payload,
                attempt=attempt,
                failure=failure,
            )
            try:
                if action is not None:
                    await self._attempt(saga.kind, step, action, context, compensating)
            except PermanentFailure as err:
                if compensating:
                    await self._move(saga, definition, SagaState.FAILED, index, str(err))
                    self._metrics.failed.labels(saga.kind).inc()
                    log.error(
                        "saga_failed",
                        saga_id=saga.id,
                        kind=saga.kind,
                        step=step.name,
                        error=str(err),
                    )
                    return SagaState.FAILED
                state, index, failure = SagaState.COMPENSATING, index - 1, err.reason
                await self._move(saga, definition, state, index, str(err), failure)
                attempt = 1
                continue
            except Exception as err:  # transient: the same step again after a backoff
                stop_if_cancelled()
                error = f"{type(err).__name__}: {err}"[:500]
                delay = retry_delay(
                    max(attempt, 1), base=self._policy.retry_base, cap=self._policy.retry_max
                )
                if not await self._store.retry_later(saga, delay, error):
                    raise _LeaseLost from err
                log.warning(
                    "saga_retry_scheduled",
                    saga_id=saga.id,
                    kind=saga.kind,
                    step=step.name,
                    compensating=compensating,
                    attempts=attempt,
                    retry_in_seconds=round(delay, 3),
                    error=error,
                )
                return state
            index = index - 1 if compensating else index + 1
            await self._move(saga, definition, state, index)
            attempt = 1

    async def _attempt(
        self,
        kind: str,
        step: Step,
        action: Any,
        context: StepContext,
        compensating: bool,
    ) -> None:
        verb = "compensate" if compensating else "step"
        label = f"{step.name}:compensate" if compensating else step.name
        started = time.perf_counter()
        result = "error"
        with self._tracer.start_as_current_span(
            f"saga.{verb} {step.name}",
            attributes={"saga.id": context.saga_id, "saga.attempt": context.attempt},
        ) as span:
            try:
                async with asyncio.timeout(self._policy.step_timeout):
                    await action(context)
                result = "ok"
            except PermanentFailure as err:
                result = "permanent"
                span.set_status(Status(StatusCode.ERROR, err.reason))
                raise
            except Exception as err:
                span.set_status(Status(StatusCode.ERROR, type(err).__name__))
                raise
            finally:
                self._metrics.step_duration.labels(kind, label, result).observe(
                    time.perf_counter() - started
                )

    async def _move(
        self,
        saga: SagaRecord,
        definition: SagaDefinition,
        state: SagaState,
        index: int,
        error: str | None = None,
        failure: str | None = None,
    ) -> None:
        if not await self._store.advance(
            saga,
            state=state,
            step=index,
            lease_seconds=self._policy.lease,
            error=error,
            failure=failure,
        ):
            raise _LeaseLost
        log.info(
            "saga_" + ("transition" if not state.finished else state.value),
            saga_id=saga.id,
            kind=saga.kind,
            subject=saga.subject,
            state=state.value,
            step=definition.step_name(index),
            error=error,
        )
