"""Two replicas of every service and of the gateway (``TOLLGATE_REPLICAS=2``): calls are spread
over every backend replica, a user's rate limit is one budget over both gateways, a logout
through one gateway stops the token at the other within a second, and two auth-svc replicas
deliver each mail and run each saga step once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tollgate_devstack.stack import Stack

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


def metric(stack: Stack, process: str, name: str, labels: dict[str, str]) -> float:
    """The sum of the samples of ``name`` with ``labels`` on one process's /metrics."""
    text = httpx.get(stack.http_url(process) + "/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@asynccontextmanager
async def gateways(*urls: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    clients = [httpx.AsyncClient(base_url=url, timeout=10) for url in urls]
    try:
        yield clients
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


async def sign_in(api: httpx.AsyncClient, email: str | None = None) -> dict[str, str]:
    email = email or f"replica-{uuid.uuid4().hex[:10]}@example.com"
    registered = await api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    login = await api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['accessToken']}"}


async def test_each_gateway_spreads_calls_over_every_backend_replica(replicated: Stack) -> None:
    def served() -> list[float]:
        return [
            metric(replicated, name, "grpc_server_handled_total", {"grpc_method": "GetWallet"})
            for name in replicated.replicas("billing")
        ]

    before = served()
    urls = [replicated.http_url(name) for name in replicated.replicas("gateway")]
    async with gateways(*urls) as (one, two):
        auth = await sign_in(one)
        for _ in range(10):
            for api in (one, two):
                assert (await api.get("/v1/wallet", headers=auth)).status_code == 200
    after = served()
    assert sum(after) - sum(before) == 20
    # round_robin: each replica takes about half (pick_first would send all to one).
    assert all(a - b >= 5 for a, b in zip(after, before, strict=True)), (before, after)


async def test_a_logout_through_one_gateway_stops_the_token_at_the_other_within_a_second(
    replicated: Stack,
) -> None:
    urls = [replicated.http_url(name) for name in replicated.replicas("gateway")]
    async with gateways(*urls) as (one, two):
        auth = await sign_in(one)
        assert (await two.get("/v1/wallet", headers=auth)).status_code == 200
        assert (await one.post("/v1/auth/logout", headers=auth)).status_code in (200, 204)
        logged_out = time.monotonic()
        while (await two.get("/v1/wallet", headers=auth)).status_code == 200:
            assert time.monotonic() - logged_out < 1.0, "the other gateway still lets it in"
            await asyncio.sleep(0.02)
        assert (await two.get("/v1/wallet", headers=auth)).status_code == 401


async def test_a_users_rate_limit_is_one_budget_over_both_gateways(
    replicated_gateway: Any,
) -> None:
    burst, per_minute = 10, 60  # then one more request a second
    strict = {
        "GATEWAY_RATE_LIMIT_BURST": str(burst),
        "GATEWAY_RATE_LIMIT_PER_MINUTE": str(per_minute),
    }
    with (
        replicated_gateway("strict-one", strict) as url_one,
        replicated_gateway("strict-two", strict) as url_two,
    ):
        async with gateways(url_one, url_two) as (one, two):
            auth = await sign_in(one)
            started = time.monotonic()
            accepted = {url_one: 0, url_two: 0}
            for _ in range(20):
                for api, url in ((one, url_one), (two, url_two)):
                    status = (await api.get("/v1/wallet", headers=auth)).status_code
                    assert status in (200, 429)
                    accepted[url] += status == 200
            elapsed = time.monotonic() - started
    # Each gateway alone would have let `burst` through: together they share one budget.
    budget = burst + int(elapsed * per_minute / 60) + 1
    assert burst <= sum(accepted.values()) <= budget, (accepted, elapsed)
    assert all(count > 0 for count in accepted.values()), accepted


async def test_two_auth_replicas_deliver_each_mail_and_run_each_saga_step_once(
    replicated: Stack,
) -> None:
    def registered() -> list[float]:
        return [
            metric(replicated, name, "grpc_server_handled_total", {"grpc_method": "Register"})
            for name in replicated.replicas("auth")
        ]

    before = registered()
    emails = [f"once-{uuid.uuid4().hex[:10]}@example.com" for _ in range(16)]
    urls = [replicated.http_url(name) for name in replicated.replicas("gateway")]
    async with gateways(*urls) as clients:
        replies = await asyncio.gather(
            *(
                clients[i % 2].post("/v1/auth/register", json={"email": e, "password": PASSWORD})
                for i, e in enumerate(emails)
            )
        )
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    user_ids = [r.json()["userId"] for r in replies]
    # Both replicas took sign-ups, so both relays and saga runners had work to race for.
    assert all(a > b for a, b in zip(registered(), before, strict=True))

    auth_db = await asyncpg.connect(replicated.database_dsn("auth"))
    billing_db = await asyncpg.connect(replicated.database_dsn("billing"))
    try:
        deadline = time.monotonic() + 30
        while True:
            sagas = await auth_db.fetch(
                "SELECT state FROM sagas WHERE subject = ANY($1::text[])", user_ids
            )
            mail = await auth_db.fetch(
                "SELECT attempts, delivered_at FROM outbox WHERE recipient = ANY($1::text[])",
                emails,
            )
            done = len(sagas) == len(emails) and all(s["state"] == "completed" for s in sagas)
            if done and len(mail) == len(emails) and all(m["delivered_at"] for m in mail):
                break
            assert time.monotonic() < deadline, (sagas, mail)
            await asyncio.sleep(0.1)
        # One claim each: no mail was sent by both relays (a second claim is a second attempt).
        assert [m["attempts"] for m in mail] == [1] * len(emails)
        # The saga's step (open the wallet with the sign-up credit) took effect once per user.
        credits = await billing_db.fetch(
            "SELECT user_id, count(*) AS n FROM transactions WHERE user_id = ANY($1::text[])"
            " GROUP BY user_id",
            user_ids,
        )
        assert sorted(r["user_id"] for r in credits) == sorted(user_ids)
        assert {r["n"] for r in credits} == {1}
        balances = await billing_db.fetch(
            "SELECT balance FROM wallets WHERE user_id = ANY($1::text[])", user_ids
        )
        assert [r["balance"] for r in balances] == [500] * len(emails)
    finally:
        await auth_db.close()
        await billing_db.close()
