"""Soak: a few minutes of mixed traffic through the gateway, with zero 5xx allowed, no
steady memory growth in any service, and the ledger still adding up afterwards.

Starts the whole suite with the same launcher as the e2e tests (the test PostgreSQL and
Redis; rate limits out of the way), signs users in and runs ``--clients`` loops of a mix of
calls: wallet and ledger reads, charges, top-ups and refunds (fresh Idempotency-Keys, some
retried with the same key), sessions, GraphQL, logins, and requests that must fail (no
token, a malformed body). Every ``--sample`` seconds it reads each service's resident
memory (RSS, its whole process tree) from ``/proc``.

Fails (exit 1) on any 5xx or transport error; on a memory trend, after the first quarter
(warm-up: pools, caches and allocator arenas fill), above ``--max-growth-mib`` over the
rest of the run (least-squares slope of the samples times the window); or when a wallet's
balance is not the sum of its transactions.

    .venv/bin/python bench/soak.py [--seconds 180] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from _harness import PASSWORD, process_tree, rss_mib, sign_in_users

from tollgate_devstack.testing import running_suite

SERVICES = ("gateway", "auth", "billing", "email")
# BILLING_MAX_AMOUNT's default: the largest top-up one call may make.
TOP_UP = 100_000_000


class Client:
    """One simulated user: a loop of calls, weighted like a day of an app's traffic."""

    def __init__(self, http: httpx.AsyncClient, token: str, email: str, seed: int) -> None:
        self.http = http
        self.token = token
        self.email = email
        self.random = random.Random(seed)
        self.charges: list[str] = []
        self.statuses: Counter[str] = Counter()
        self.failures: list[str] = []

    def _auth(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def _send(self, label: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.failures.append(f"{label}: {type(error).__name__}: {error}")
            self.statuses[f"{label} error"] += 1
            raise
        self.statuses[f"{label} {response.status_code}"] += 1
        if response.status_code >= 500:
            self.failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        return response

    async def step(self) -> None:
        roll = self.random.random()
        if roll < 0.25:
            await self._send("wallet", "GET", "/v1/wallet", headers=self._auth())
        elif roll < 0.35:
            await self._send(
                "transactions", "GET", "/v1/wallet/transactions?pageSize=20", headers=self._auth()
            )
        elif roll < 0.55:
            key = uuid.uuid4().hex
            body = {"amount": str(self.random.randint(1, 500)), "description": "soak"}
            for _ in range(2 if self.random.random() < 0.2 else 1):  # a retry, same key
                response = await self._send(
                    "charge", "POST", "/v1/wallet/charges", json=body, headers=self._auth(key)
                )
            if response.status_code == 200:
                self.charges.append(response.json()["transaction"]["id"])
        elif roll < 0.60:
            await self._send(
                "top-up",
                "POST",
                "/v1/wallet/top-ups",
                json={"amount": str(self.random.randint(1000, 100_000))},
                headers=self._auth(uuid.uuid4().hex),
            )
        elif roll < 0.65 and self.charges:
            charge = self.random.choice(self.charges)
            await self._send(
                "refund",
                "POST",
                f"/v1/wallet/charges/{charge}/refunds",
                json={"amount": "1"},
                headers=self._auth(uuid.uuid4().hex),
            )
        elif roll < 0.73:
            await self._send("me", "GET", "/v1/auth/me", headers=self._auth())
        elif roll < 0.78:
            await self._send("sessions", "GET", "/v1/auth/sessions", headers=self._auth())
        elif roll < 0.86:
            await self._send(
                "graphql",
                "POST",
                "/graphql",
                json={"query": "{ me { userId } wallet { balance } }"},
                headers=self._auth(),
            )
        elif roll < 0.88:
            response = await self._send(
                "login",
                "POST",
                "/v1/auth/login",
                json={"email": self.email, "password": PASSWORD},
            )
            if response.status_code == 200:
                self.token = response.json()["accessToken"]
        elif roll < 0.92:
            await self._send("no token", "GET", "/v1/wallet")
        elif roll < 0.96:
            await self._send(
                "bad body",
                "POST",
                "/v1/wallet/charges",
                content=b'{"amount": [1]}',
                headers={**self._auth(uuid.uuid4().hex), "Content-Type": "application/json"},
            )
        else:
            await self._send("jwks", "GET", "/.well-known/jwks.json")

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            try:
                await self.step()
            except httpx.HTTPError:
                await asyncio.sleep(0.1)


def _slope(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope (MiB per second) of (seconds, MiB) samples."""
    count = len(samples)
    mean_t = sum(t for t, _ in samples) / count
    mean_m = sum(m for _, m in samples) / count
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (m - mean_m) for t, m in samples) / spread


async def _load(
    base_url: str, tokens: list[str], emails: list[str], seconds: float, sample: float, stack: Any
) -> tuple[list[Client], dict[str, list[tuple[float, float]]]]:
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    memory: dict[str, list[tuple[float, float]]] = {name: [] for name in SERVICES}
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        clients = [
            Client(http, token, email, seed)
            for seed, (token, email) in enumerate(zip(tokens, emails, strict=True))
        ]
        start = time.monotonic()
        until = start + seconds
        load = asyncio.gather(*(client.run(until) for client in clients))
        while time.monotonic() < until:
            for name in SERVICES:
                pids = process_tree(stack.process(name).pid)
                memory[name].append((time.monotonic() - start, sum(rss_mib(p) for p in pids)))
            await asyncio.sleep(sample)
        await load
    return clients, memory


def _ledger_adds_up(base_url: str, tokens: list[str]) -> list[str]:
    """Wallets whose balance is not the sum of their transactions."""
    wrong = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"}
            balance = int(http.get("/v1/wallet", headers=headers).json()["balance"])
            total, page = 0, ""
            while True:
                listed = http.get(
                    "/v1/wallet/transactions",
                    params={"pageSize": 100, "pageToken": page},
                    headers=headers,
                ).json()
                total += sum(int(item["amount"]) for item in listed["transactions"])
                page = listed["nextPageToken"]
                if not page:
                    break
            if total != balance:
                wrong.append(f"balance {balance} != sum {total}")
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--sample", type=float, default=5)
    parser.add_argument("--max-growth-mib", type=float, default=8)
    args = parser.parse_args()
    env = {
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_RATE_LIMIT_BURST": "100000000",
        "GATEWAY_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_UNAUTHENTICATED_RATE_LIMIT_BURST": "100000000",
        "AUTH_LOGIN_RATE_LIMIT": "1000000",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "AUTH_LOG_LEVEL": "WARNING",
        "BILLING_LOG_LEVEL": "WARNING",
        "EMAIL_LOG_LEVEL": "WARNING",
    }
    with (
        tempfile.TemporaryDirectory(prefix="tollgate-soak-") as data_dir,
        running_suite("soak", Path(data_dir), env=env, log_sink=lambda _n, _l: None) as stack,
    ):
        base_url = stack.http_url("gateway")
        tokens = sign_in_users(base_url, args.clients, top_up=TOP_UP)
        emails = _emails_of(base_url, tokens)
        clients, memory = asyncio.run(
            _load(base_url, tokens, emails, args.seconds, args.sample, stack)
        )
        wrong = _ledger_adds_up(base_url, [client.token for client in clients])

    statuses: Counter[str] = Counter()
    failures = [failure for client in clients for failure in client.failures]
    for client in clients:
        statuses.update(client.statuses)
    total = sum(statuses.values())
    print(f"soak: {total} requests in {args.seconds:.0f} s ({total / args.seconds:.0f}/s)")
    for label, count in sorted(statuses.items()):
        print(f"  {label:<24} {count}")
    ok = not failures and not wrong
    print("memory (RSS MiB): first, peak, last; trend after warm-up over the rest of the run")
    for name, samples in memory.items():
        settled = samples[len(samples) // 4 :]
        window = settled[-1][0] - settled[0][0] if len(settled) > 1 else 0.0
        growth = _slope(settled) * window if len(settled) > 2 else 0.0
        values = [mib for _, mib in samples]
        verdict = "ok" if growth <= args.max_growth_mib else "GROWING"
        ok = ok and verdict == "ok"
        print(
            f"  {name:<8} {values[0]:7.1f} {max(values):7.1f} {values[-1]:7.1f}"
            f"   {growth:+6.1f} MiB over {window:.0f} s  {verdict}"
        )
    print(f"5xx or transport errors: {len(failures)}")
    for failure in failures[:20]:
        print(f"  {failure}")
    print(f"wallets whose balance is not the sum of their transactions: {len(wrong)}")
    print("soak: PASS" if ok else "soak: FAIL")
    return 0 if ok else 1


def _emails_of(base_url: str, tokens: list[str]) -> list[str]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        return [
            str(http.get("/v1/auth/me", headers={"Authorization": f"Bearer {t}"}).json()["email"])
            for t in tokens
        ]


if __name__ == "__main__":
    sys.exit(main())
