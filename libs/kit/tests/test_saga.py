"""The saga orchestrator against the real test PostgreSQL: steps in order, retries with
backoff, compensation in reverse, resumption after a runner dies, two runners at once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from tollgate_devstack.testing import temp_database
from tollgate_kit.saga import (
    PermanentFailure,
    RunnerPolicy,
    SagaDefinition,
    SagaMetrics,
    SagaRunner,
    SagaState,
    SagaStore,
    Step,
    StepContext,
    schema_sql,
    start_saga,
)

FAST = RunnerPolicy(poll_interval=0.05, lease=1.0, step_timeout=0.5, retry_base=0.05, retry_max=0.2)


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with temp_database("saga") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(schema_sql())
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
        try:
            yield pool
        finally:
            await pool.close()


class Journal:
    """What the steps did, in order: ("a", saga_id), ("undo a", saga_id), …"""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []
        self.failures: dict[str, int] = {}
        self.permanent: set[str] = set()
        # (step, the failure it compensates) of every compensation that ran
        self.reasons: list[tuple[str, str]] = []

    def action(self, name: str) -> Callable[[StepContext], Awaitable[None]]:
        async def run(ctx: StepContext) -> None:
            if self.failures.get(name, 0) > 0:
                self.failures[name] -= 1
                raise ConnectionError(f"{name} unavailable")
            if name in self.permanent:
                raise PermanentFailure("REFUSED", f"{name} refused")
            self.entries.append((name, ctx.saga_id))
            if ctx.failure:
                self.reasons.append((name, ctx.failure))

        return run

    def names(self, saga_id: str) -> list[str]:
        return [name for name, sid in self.entries if sid == saga_id]


def definition(journal: Journal) -> SagaDefinition:
    return SagaDefinition(
        "test",
        (
            Step("a", journal.action("a"), journal.action("undo a")),
            Step("b", journal.action("b")),
            Step("c", journal.action("c"), journal.action("undo c")),
            Step("d", journal.action("d")),
        ),
    )


def runner(
    pool: asyncpg.Pool, journal: Journal, policy: RunnerPolicy = FAST
) -> tuple[SagaRunner, CollectorRegistry]:
    registry = CollectorRegistry()
    return (
        SagaRunner(SagaStore(pool), [definition(journal)], SagaMetrics(registry), policy),
        registry,
    )


@asynccontextmanager
async def running(*runners: SagaRunner) -> AsyncIterator[None]:
    """The runners' background loops, for the block."""
    tasks = [asyncio.create_task(r.run()) for r in runners]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def start(pool: asyncpg.Pool, subject: str = "user-1") -> str:
    async with pool.acquire() as conn, conn.transaction():
        return await start_saga(conn, "test", subject, {"credit": 5})


async def test_a_launched_saga_runs_every_step_in_order_keyed_by_its_id(
    pool: asyncpg.Pool,
) -> None:
    journal = Journal()
    saga_runner, registry = runner(pool, journal)
    saga_id = await start(pool)
    await saga_runner.launch(saga_id, "test")
    saga = await SagaStore(pool).get(saga_id)
    assert saga is not None
    assert saga.state is SagaState.COMPLETED
    assert journal.entries == [(n, saga_id) for n in "abcd"]
    assert registry.get_sample_value("saga_started_total", {"kind": "test"}) == 1
    assert registry.get_sample_value("saga_completed_total", {"kind": "test"}) == 1
    assert (
        registry.get_sample_value(
            "saga_step_duration_seconds_count", {"kind": "test", "step": "c", "result": "ok"}
        )
        == 1
    )


async def test_a_rolled_back_start_leaves_no_saga(pool: asyncpg.Pool) -> None:
    async def start_then_fail() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await start_saga(conn, "test", "user-1")
            raise RuntimeError("the change that started it failed")

    with pytest.raises(RuntimeError):
        await start_then_fail()
    assert await pool.fetchval("SELECT count(*) FROM sagas") == 0


async def test_a_transient_failure_is_retried_with_backoff_from_the_same_step(
    pool: asyncpg.Pool,
) -> None:
    journal = Journal()
    journal.failures["c"] = 3
    saga_runner, _ = runner(pool, journal)
    saga_id = await start(pool)
    await saga_runner.launch(saga_id, "test")
    saga = await SagaStore(pool).get(saga_id)
    assert saga is not None
    assert saga.state is SagaState.RUNNING
    assert saga.step == 2
    assert saga.attempts == 1
    assert "c unavailable" in (saga.last_error or "")
    async with running(saga_runner):
        done = await saga_runner.wait_finished(saga_id, 5)
    assert done is not None
    assert done.state is SagaState.COMPLETED
    assert journal.names(saga_id) == ["a", "b", "c", "d"]  # a and b never ran again


async def test_a_permanent_failure_compensates_completed_steps_in_reverse(
    pool: asyncpg.Pool,
) -> None:
    journal = Journal()
    journal.permanent.add("d")
    journal.failures["undo c"] = 1  # a compensation is retried like a step
    saga_runner, registry = runner(pool, journal)
    saga_id = await start(pool)
    async with running(saga_runner):
        saga_runner.launch(saga_id, "test")
        saga = await saga_runner.wait_finished(saga_id, 5)
    assert saga is not None
    assert saga.state is SagaState.COMPENSATED
    assert journal.names(saga_id) == ["a", "b", "c", "undo c", "undo a"]
    assert saga.failure == "REFUSED"
    assert journal.reasons == [("undo c", "REFUSED"), ("undo a", "REFUSED")]
    assert registry.get_sample_value("saga_compensated_total", {"kind": "test"}) == 1


async def test_a_saga_whose_runner_died_resumes_from_its_persisted_step(
    pool: asyncpg.Pool,
) -> None:
    journal = Journal()
    journal.failures["c"] = 1
    first, _ = runner(pool, journal)
    saga_id = await start(pool)
    await first.launch(saga_id, "test")  # a, b done; c waits for a retry
    # A runner claims it and dies before writing anything: only its lease remains.
    store = SagaStore(pool)
    await asyncio.sleep(0.25)
    (dead,) = await store.claim(["test"], 1, FAST.lease)
    assert dead.step == 2
    second, _ = runner(pool, journal)
    started = time.monotonic()
    async with running(second):
        saga = await second.wait_finished(saga_id, 5)
    assert saga is not None
    assert saga.state is SagaState.COMPLETED
    assert time.monotonic() - started >= 0.5  # not before the dead runner's lease ended
    assert journal.names(saga_id) == ["a", "b", "c", "d"]
    # The dead runner, were it to wake up, can no longer move the saga.
    assert not await store.advance(dead, state=SagaState.RUNNING, step=3, lease_seconds=1)


async def test_two_runners_never_run_a_step_of_one_saga_twice(pool: asyncpg.Pool) -> None:
    journal = Journal()
    ids = [await start(pool, f"user-{n}") for n in range(40)]
    one, _ = runner(pool, journal)
    two, _ = runner(pool, journal)
    async with running(one, two):
        for saga_id in ids:
            saga = await one.wait_finished(saga_id, 10)
            assert saga is not None
            assert saga.state is SagaState.COMPLETED
    calls = Counter(journal.entries)
    assert len(calls) == 4 * len(ids)
    assert set(calls.values()) == {1}
