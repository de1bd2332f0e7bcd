"""A rolling restart under load: two gateways and two replicas of every service, sixteen
clients charging, refunding and logging in, and every process restarted in turn with SIGTERM
(the next one once it is ready again). No request fails that its client did not retry with
success, every acknowledged charge is in the ledger once, and every balance is the sum of its
wallet's transactions."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from tollgate_devstack.stack import Stack

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
CLIENTS = 16
# What a client (or the load balancer in front of the gateways) retries: the gateway it
# reached is stopping or a backend is, and the request may not have been applied — its
# Idempotency-Key makes the retry safe.
RETRYABLE = {502, 503, 504}
ATTEMPTS_WITHIN = 20.0


class GaveUp(Exception):
    pass


@dataclass
class Client:
    number: int
    gateways: list[httpx.AsyncClient]
    email: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    user_id: str = ""
    charges: list[str] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)
    logins: int = 0
    retried: int = 0

    async def send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """The request until it is answered other than "retry later", alternating between
        the gateways; the same Idempotency-Key each time."""
        deadline = time.monotonic() + ATTEMPTS_WITHIN
        for attempt in itertools.count():
            api = self.gateways[(self.number + attempt) % len(self.gateways)]
            try:
                response = await api.request(method, path, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                return response
            if time.monotonic() > deadline:
                raise GaveUp(f"{method} {path}: {response and response.status_code}")
            self.retried += 1
            await asyncio.sleep(0.05 * min(attempt + 1, 5))
        raise AssertionError("unreachable")

    async def login(self) -> None:
        body = {"email": self.email, "password": PASSWORD}
        response = await self.send("POST", "/v1/auth/login", json=body)
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['accessToken']}"}
        self.logins += 1

    async def sign_up(self) -> None:
        self.email = f"rolling-{self.number}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": self.email, "password": PASSWORD}
        registered = await self.send("POST", "/v1/auth/register", json=body)
        assert registered.status_code == 200, registered.text
        self.user_id = registered.json()["userId"]
        await self.login()
        top_up = await self.keyed("POST", "/v1/wallet/top-ups", {"amount": "1000000"})
        assert top_up.status_code == 200, top_up.text

    async def keyed(self, method: str, path: str, body: dict[str, str]) -> httpx.Response:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        response = await self.send(method, path, json=body, headers={**self.headers, **key})
        if response.status_code == 401:  # the access token ran out: log in, same key
            await self.login()
            response = await self.send(method, path, json=body, headers={**self.headers, **key})
        return response

    async def work(self, stop: asyncio.Event) -> None:
        for round_ in itertools.count():
            if stop.is_set():
                return
            charge = await self.keyed(
                "POST", "/v1/wallet/charges", {"amount": "100", "description": f"r{round_}"}
            )
            assert charge.status_code == 200, charge.text
            self.charges.append(charge.json()["transaction"]["id"])
            if round_ % 3 == 1:
                refund = await self.keyed(
                    "POST", f"/v1/wallet/charges/{self.charges[-1]}/refunds", {"amount": "40"}
                )
                assert refund.status_code == 200, refund.text
                self.refunds.append(refund.json()["transaction"]["id"])
            if round_ % 5 == 4:
                await self.login()
            # A steady load, not a flood: the machine also has to restart the processes.
            await asyncio.sleep(0.05)


def restart_every_replica(stack: Stack) -> list[str]:
    """SIGTERM each process in turn; start it again and wait until it is ready."""
    order = [
        name
        for service in ("billing", "auth", "email", "gateway")
        for name in stack.replicas(service)
    ]
    for name in order:
        t0 = time.monotonic()
        stack.terminate(name)
        t1 = time.monotonic()
        stack.start_process(name)
        print(name, f"stop {t1 - t0:.1f} s, start {time.monotonic() - t1:.1f} s")
    return order


async def test_a_rolling_restart_under_load_loses_nothing(replicated: Stack) -> None:
    urls = [replicated.http_url(name) for name in replicated.replicas("gateway")]
    gateways = [httpx.AsyncClient(base_url=url, timeout=15) for url in urls]
    clients = [Client(number, gateways) for number in range(CLIENTS)]
    stop = asyncio.Event()
    try:
        await asyncio.gather(*(client.sign_up() for client in clients))
        load = [asyncio.create_task(client.work(stop)) for client in clients]
        await asyncio.sleep(1.0)  # under load before the first restart
        started = time.monotonic()
        restarted = await asyncio.to_thread(restart_every_replica, replicated)
        took = time.monotonic() - started
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*load)  # a client that gave up or was refused fails here
    finally:
        stop.set()
        await asyncio.gather(*(api.aclose() for api in gateways))
    assert len(restarted) == 8
    assert took < 180, took  # eight times (stop, start, ready): ~60 s on a busy 2-core machine
    print(f"rolling restart of {restarted} under load: {took:.1f} s")
    assert sum(c.retried for c in clients) > 0, "no request met a restart: not a test"
    assert all(c.charges for c in clients)

    conn = await asyncpg.connect(replicated.database_dsn("billing"))
    try:
        for client in clients:
            rows = await conn.fetch(
                "SELECT id::text, kind FROM transactions WHERE user_id = $1", client.user_id
            )
            charges = sorted(r["id"] for r in rows if r["kind"] == "CHARGE")
            refunds = sorted(r["id"] for r in rows if r["kind"] == "REFUND")
            # Each acknowledged charge once, and nothing charged that was not acknowledged.
            assert charges == sorted(client.charges), client.number
            assert refunds == sorted(client.refunds), client.number
        unbalanced = await conn.fetch(
            """
            SELECT w.user_id, w.balance, coalesce(sum(t.amount), 0) AS total
            FROM wallets w LEFT JOIN transactions t USING (user_id, currency)
            GROUP BY w.user_id, w.currency, w.balance
            HAVING w.balance <> coalesce(sum(t.amount), 0)
            """
        )
        assert unbalanced == []
    finally:
        await conn.close()
