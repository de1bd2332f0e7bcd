"""Leased rate limits against the real Redis: a busy user costs a round trip every few
requests, and the replicas together never let more through than the shared limit."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.ratelimit import Decision, LeasedLimiter, Rate, RateLimiter, gcra_lease
from tollgate_devstack import testing
from tollgate_kit.redis_client import create_redis

pytestmark = pytest.mark.integration


class CountingLimiter(RateLimiter):
    """The real limiter, counting its round trips for leases."""

    takes = 0

    async def take(self, kind: str, identity: str, rate: Rate, want: int) -> tuple[int, Decision]:
        self.takes += 1
        return await super().take(kind, identity, rate, want)


async def test_replicas_together_stay_within_the_shared_limit(redis_prefix: str) -> None:
    client = create_redis(testing.redis_server_url())
    try:
        rate = Rate(per_minute=60, burst=40)  # one token a second after the burst
        replicas = [LeasedLimiter(RateLimiter(client, redis_prefix)) for _ in range(3)]
        started = time.monotonic()
        decisions = await asyncio.gather(
            *(replicas[i % 3].hit("user", "u", rate) for i in range(300))
        )
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()
    allowed = sum(d.allowed for d in decisions)
    assert allowed <= rate.burst + elapsed * 1 + 1
    assert allowed >= rate.burst // 2  # leases wasted at most half of the burst here
    assert all(d.retry_after > 0 for d in decisions if not d.allowed)


async def test_a_busy_user_costs_a_round_trip_every_few_requests(redis_prefix: str) -> None:
    client = create_redis(testing.redis_server_url())
    try:
        limiter = CountingLimiter(client, redis_prefix)
        leased = LeasedLimiter(limiter, max_lease=16)
        rate = Rate(per_minute=1_000_000, burst=1_000)
        decisions = [await leased.hit("user", "busy", rate) for _ in range(200)]
    finally:
        await client.aclose()
    assert all(d.allowed for d in decisions)
    # Leases grow 1, 2, 4, 8, 16, 16, …: 200 requests in about 16 round trips.
    assert limiter.takes <= 20
    assert all(0 <= d.remaining < rate.burst for d in decisions)


async def test_small_limits_are_decided_request_by_request(redis_prefix: str) -> None:
    client = create_redis(testing.redis_server_url())
    try:
        limiter = CountingLimiter(client, redis_prefix)
        leased = LeasedLimiter(limiter)
        rate = Rate(per_minute=60, burst=3)
        decisions = [await leased.hit("user", "small", rate) for _ in range(4)]
    finally:
        await client.aclose()
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert limiter.takes == 4


async def test_the_lease_script_agrees_with_the_reference(redis_prefix: str) -> None:
    client = create_redis(testing.redis_server_url())
    try:
        limiter = RateLimiter(client, redis_prefix)
        rate = Rate(per_minute=1, burst=10)
        grants = [await limiter.take("t", "k", rate, 4) for _ in range(4)]
    finally:
        await client.aclose()
    assert [granted for granted, _ in grants] == [4, 4, 2, 0]
    assert [d.remaining for _, d in grants[:3]] == [6, 2, 0]
    assert grants[3][1].allowed is False
    # The Python reference: same grants from a fresh key at one instant.
    tat = None
    reference = []
    for _ in range(4):
        granted, _, new_tat = gcra_lease(tat, 0, rate, 4)
        reference.append(granted)
        tat = new_tat if new_tat is not None else tat
    assert reference == [4, 4, 2, 0]
