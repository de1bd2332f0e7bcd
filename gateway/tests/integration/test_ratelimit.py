"""Rate limits in Redis: 429 with Retry-After past the limit, and recovery afterwards."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from gateway.ratelimit import Rate, RateLimiter, gcra
from tollgate_kit.redis_client import create_redis

# Every test here runs on one Redis node and on a three-master Redis Cluster.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("redis_url", ["node", "cluster"], indirect=True),
]


async def _until_allowed(send: Any, deadline: float = 5.0) -> httpx.Response:
    end = time.monotonic() + deadline
    while True:
        response: httpx.Response = await send()
        if response.status_code != 429 or time.monotonic() > end:
            return response
        await asyncio.sleep(0.05)


async def test_user_limit_refuses_past_the_burst_then_recovers(
    gateway_factory: Any, open_session: Any
) -> None:
    session = await open_session()
    # 60/min: one request back every second; a burst of 3.
    async with gateway_factory(rate_limit_per_minute=60, rate_limit_burst=3) as gateway:

        async def wallet() -> httpx.Response:
            return await gateway.get("/v1/wallet", headers=session.headers)

        allowed = [await wallet() for _ in range(3)]
        refused = await wallet()
        recovered = await _until_allowed(wallet)
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in allowed] == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.json()["code"] == 8
    assert refused.json()["details"][0]["reason"] == "RATE_LIMITED"
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert recovered.status_code == 200
    assert "ratelimit-remaining" in recovered.headers


async def test_user_limit_is_per_user(gateway_factory: Any, open_session: Any) -> None:
    alice, bob = await open_session("alice"), await open_session("bob")
    async with gateway_factory(rate_limit_per_minute=1, rate_limit_burst=1) as gateway:
        first = await gateway.get("/v1/wallet", headers=alice.headers)
        second = await gateway.get("/v1/wallet", headers=alice.headers)
        other = await gateway.get("/v1/wallet", headers=bob.headers)
    assert (first.status_code, second.status_code, other.status_code) == (200, 429, 200)
    assert int(second.headers["retry-after"]) in range(59, 61)


async def test_login_limit_is_per_address_and_email(gateway_factory: Any) -> None:
    async with gateway_factory(login_rate_limit_per_minute=60, login_rate_limit_burst=2) as gateway:

        async def login(email: str) -> httpx.Response:
            return await gateway.post("/v1/auth/login", json={"email": email, "password": "pw"})

        statuses = [(await login("a@example.com")).status_code for _ in range(3)]
        other_email = await login("b@example.com")
        # Emails are compared case-insensitively: no way around the limit by case.
        upper = await login("A@EXAMPLE.COM")
        recovered = await _until_allowed(lambda: login("a@example.com"))
    assert statuses == [200, 200, 429]
    assert other_email.status_code == 200
    assert upper.status_code == 429
    assert recovered.status_code == 200


async def test_limit_is_shared_by_every_replica(gateway_factory: Any, open_session: Any) -> None:
    session = await open_session()
    settings = {"rate_limit_per_minute": 1, "rate_limit_burst": 2}
    async with gateway_factory(**settings) as one, gateway_factory(**settings) as two:
        statuses = [
            (await one.get("/v1/wallet", headers=session.headers)).status_code,
            (await two.get("/v1/wallet", headers=session.headers)).status_code,
            (await one.get("/v1/wallet", headers=session.headers)).status_code,
        ]
    assert statuses == [200, 200, 429]


async def test_lua_script_agrees_with_the_reference(redis_prefix: str, redis_url: str) -> None:
    """Concurrent hits on one key: exactly `burst` pass, as gcra() predicts."""
    client = create_redis(redis_url)
    try:
        limiter = RateLimiter(client, redis_prefix)
        rate = Rate(per_minute=1, burst=5)
        decisions = await asyncio.gather(*(limiter.hit("t", "k", rate) for _ in range(20)))
    finally:
        await client.aclose()
    assert sum(d.allowed for d in decisions) == 5
    assert sorted(d.remaining for d in decisions if d.allowed) == [0, 1, 2, 3, 4]
    reference, _ = gcra(None, 0, rate)
    assert reference.remaining == 4


async def test_login_limit_per_address_covers_every_email(gateway_factory: Any) -> None:
    settings = {"login_address_rate_limit_per_minute": 1, "login_address_rate_limit_burst": 3}
    async with gateway_factory(**settings) as gateway:

        async def login(email: str) -> httpx.Response:
            return await gateway.post("/v1/auth/login", json={"email": email, "password": "pw"})

        statuses = [(await login(f"user{i}@example.com")).status_code for i in range(4)]
        registered = await gateway.post(
            "/v1/auth/register", json={"email": "new@example.com", "password": "pw"}
        )
        graphql = await gateway.post(
            "/graphql",
            json={
                "query": 'mutation { login(email: "z@example.com", password: "pw") { tokenType } }'
            },
        )
    # Rotating emails does not get past the address's budget (each try costs a bcrypt hash).
    assert statuses == [200, 200, 200, 429]
    assert registered.status_code == 429
    assert graphql.json()["errors"][0]["extensions"] == {
        "code": "RESOURCE_EXHAUSTED",
        "reason": "RATE_LIMITED",
    }
