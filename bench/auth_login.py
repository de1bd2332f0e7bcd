"""Logins per second through auth-svc against the bcrypt bound ``cores / hash_time``.

    .venv/bin/python bench/auth_login.py [--cost 12] [--clients 2] [--duration 10]

Measures one bcrypt hash (and check) at ``--cost``; then starts auth-svc in-process (its
real bootstrap and the kit's server runner, on a temporary database and Redis prefix, bcrypt
at ``--cost``), registers one user, and lets ``--clients`` concurrent gRPC clients (one
channel each) log in as fast as they can. A login costs one bcrypt check in a worker thread,
so no server can do better than ``cores / hash_time`` logins per second; the ratio says how
close this one gets. Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import bcrypt
import grpc

from auth_svc.bootstrap import build
from auth_svc.config import AuthSettings
from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate_devstack.testing import free_port, temp_database, temp_redis_prefix
from tollgate_kit.db import migrations_dir, upgrade
from tollgate_kit.server import serve

EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple"


def hash_seconds(cost: int, rounds: int = 5) -> tuple[float, float]:
    """Median seconds of one bcrypt hash and of one check at ``cost``."""
    salt = bcrypt.gensalt(cost)
    hashes, checks = [], []
    hashed = b""
    for _ in range(rounds):
        started = time.perf_counter()
        hashed = bcrypt.hashpw(PASSWORD.encode(), salt)
        hashes.append(time.perf_counter() - started)
    for _ in range(rounds):
        started = time.perf_counter()
        bcrypt.checkpw(PASSWORD.encode(), hashed)
        checks.append(time.perf_counter() - started)
    return statistics.median(hashes), statistics.median(checks)


async def client_loop(address: str, until: float, counts: list[int], index: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        request = auth_pb2.LoginRequest(email=EMAIL, password=PASSWORD)
        while time.monotonic() < until:
            await stub.Login(request, timeout=30)
            counts[index] += 1


async def run(cost: int, clients: int, duration: float) -> None:
    cores = len(os.sched_getaffinity(0))
    hash_time, check_time = hash_seconds(cost)
    print(f"bcrypt cost {cost}: hash {hash_time * 1000:.1f} ms, check {check_time * 1000:.1f} ms")

    async with temp_database("bench_auth") as dsn, temp_redis_prefix("bench_auth") as prefix:
        await upgrade(dsn, migrations_dir("auth_svc"))
        with tempfile.TemporaryDirectory() as keys_dir:
            settings = AuthSettings(
                grpc_host="127.0.0.1",
                grpc_port=free_port(),
                http_host="127.0.0.1",
                http_port=free_port(),
                database_url=dsn,
                redis_key_prefix=prefix,
                keys_dir=Path(keys_dir),
                bcrypt_cost=cost,
                login_rate_limit=1_000_000,
                # No email-svc here: the one welcome mail waits quietly.
                email_addr=f"127.0.0.1:{free_port()}",
                outbox_backoff_base_seconds=3600,
                shutdown_grace_seconds=1,
            )
            app = await build(settings)
            stop = asyncio.Event()
            server = asyncio.create_task(serve(app, stop))
            address = f"127.0.0.1:{settings.grpc_port}"
            try:
                async with grpc.aio.insecure_channel(address) as channel:
                    await asyncio.wait_for(channel.channel_ready(), timeout=30)
                    stub = auth_pb2_grpc.AuthServiceStub(channel)
                    await stub.Register(auth_pb2.RegisterRequest(email=EMAIL, password=PASSWORD))
                    await stub.Login(auth_pb2.LoginRequest(email=EMAIL, password=PASSWORD))
                counts = [0] * clients
                started = time.monotonic()
                await asyncio.gather(
                    *(client_loop(address, started + duration, counts, i) for i in range(clients))
                )
                elapsed = time.monotonic() - started
            finally:
                stop.set()
                await server

    logins_per_s = sum(counts) / elapsed
    bound = cores / hash_time
    print(f"{clients} clients, {elapsed:.1f} s: {sum(counts)} logins = {logins_per_s:.2f}/s")
    print(f"bound cores / hash_time = {cores} / {hash_time:.4f} s = {bound:.2f}/s")
    print(f"logins_per_s / (cores / hash_time) = {logins_per_s / bound:.2f}")
    print(f"load average during the run: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", type=int, default=12)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(run(args.cost, args.clients, args.duration))


if __name__ == "__main__":
    main()
