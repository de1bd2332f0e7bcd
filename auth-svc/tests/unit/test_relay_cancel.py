"""The relay stops when cancelled, even if a library turns the cancellation into a timeout."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from auth_svc.metrics import AuthMetrics
from auth_svc.outbox.relay import OutboxRelay, RelayPolicy


class _StoreThatEatsCancellation:
    """Stands in for a database call whose client reports a cancellation as TimeoutError
    (as asyncpg's timeouts can on Python 3.11)."""

    def __init__(self) -> None:
        self.claimed = asyncio.Event()

    async def claim(self, limit: int, lease: float) -> list[Any]:
        self.claimed.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise TimeoutError from None
        return []


async def test_a_cancellation_reported_as_a_timeout_still_stops_the_relay() -> None:
    store = _StoreThatEatsCancellation()
    policy = RelayPolicy(
        poll_interval=0.01,
        batch_size=10,
        lease=30,
        retry_base=0.1,
        retry_max=1,
        retention=timedelta(days=1),
    )
    relay = OutboxRelay(store, sender=None, metrics=AuthMetrics(CollectorRegistry()), policy=policy)  # type: ignore[arg-type]
    task = asyncio.create_task(relay.run())
    await store.claimed.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done, "the relay outlived its cancellation"
    assert task.cancelled()
