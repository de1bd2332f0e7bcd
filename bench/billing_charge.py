"""Charges per second through billing-svc over gRPC, beside pgbench running the same SQL.

    .venv/bin/python bench/billing_charge.py [--duration 10] [--clients 8 32] [--replicas 1]

One run: a temporary database is created and migrated; billing-svc is started as a subprocess
(``python -m billing_svc``, exactly as deployed: uvloop, telemetry, Redis session check, JWKS
from a stand-in auth service run by this script); then, for each client count, N concurrent
gRPC clients (one user each, distinct idempotency keys, ample balance) charge 1 minor unit in a
loop, and ``pgbench`` runs the very call the service makes (``SELECT * FROM billing_charge(…)``,
prepared) with the same number of clients. Never part of the test run.

Beside them, the same clients call a no-op ``Charge`` (``bench/peers/floor.py grpc``: a bare
grpc.aio server under uvloop, answering a constant, no interceptors, no database): the
ceiling any Python gRPC service
reaches with this client on this machine. ``svc/noop`` is how much of that ceiling the real
charge keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import jwt
from _harness import PGBENCH_CHARGE, cpu_seconds, pgbench
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from redis.asyncio import Redis

from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_devstack.testing import free_port, redis_server_url, temp_database, temp_redis_prefix
from tollgate_kit.db import upgrade
from tollgate_kit.ended_sessions import ensure_epoch
from tollgate_kit.tokens import session_key

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
MIGRATIONS = ROOT / "billing-svc" / "migrations"
KID = "bench"
BALANCE = 10**12


class _Jwks(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, key: Ed25519PrivateKey) -> None:
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        self._jwk = auth_pb2.Jwk(kty="OKP", kid=KID, use="sig", alg="EdDSA", crv="Ed25519", x=x)

    async def GetJwks(self, request: Any, context: Any) -> auth_pb2.GetJwksResponse:
        return auth_pb2.GetJwksResponse(keys=[self._jwk])


def _token(key: Ed25519PrivateKey, user_id: str, session_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": "tollgate-auth",
        "aud": "tollgate",
        "sub": user_id,
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "sid": session_id,
        "token_use": "access",
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": KID})


async def _grpc_tps(
    stubs: list[billing_pb2_grpc.BillingServiceAsyncStub],
    sessions: list[tuple[tuple[str, str], ...]],
    clients: int,
    duration: float,
    service_pids: list[int],
) -> tuple[float, float, float]:
    """Charges per second, and the CPU microseconds per charge of the service processes and of
    this (the client) process."""
    done = 0
    measuring = False
    deadline = 0.0

    async def client(
        stub: billing_pb2_grpc.BillingServiceAsyncStub, metadata: tuple[tuple[str, str], ...]
    ) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            request = billing_pb2.ChargeRequest(amount=1, idempotency_key=uuid.uuid4().hex)
            await stub.Charge(request, metadata=metadata)
            if measuring:
                done += 1

    warmup = min(2.0, duration / 4)
    deadline = time.perf_counter() + warmup + duration
    tasks = [asyncio.create_task(client(stubs[i], sessions[i])) for i in range(clients)]
    await asyncio.sleep(warmup)
    service_cpu = sum(cpu_seconds(pid) for pid in service_pids)
    client_cpu = cpu_seconds(os.getpid())
    measuring, started = True, time.perf_counter()
    await asyncio.sleep(duration)
    measuring, elapsed = False, time.perf_counter() - started
    counted = done
    service_cpu = sum(cpu_seconds(pid) for pid in service_pids) - service_cpu
    client_cpu = cpu_seconds(os.getpid()) - client_cpu
    await asyncio.gather(*tasks)
    return counted / elapsed, 1e6 * service_cpu / counted, 1e6 * client_cpu / counted


async def _wait_ready(channel: grpc.aio.Channel, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited during start-up")
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout=1)
            return
        except TimeoutError:
            continue
    raise RuntimeError(f"{proc.args!r} did not start")


async def run(args: argparse.Namespace) -> None:
    if shutil.which("pgbench") is None:
        sys.exit("pgbench not found (apt-get install postgresql-client)")
    max_clients = max(args.clients)
    key = Ed25519PrivateKey.generate()
    auth = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(_Jwks(key), auth)  # type: ignore[abstract]
    auth_port = auth.add_insecure_port("127.0.0.1:0")
    await auth.start()

    async with temp_database("bench_billing") as dsn, temp_redis_prefix("bench") as prefix:
        await upgrade(dsn, MIGRATIONS)
        conn = await asyncpg.connect(dsn)
        for i in range(max_clients):  # pgbench's :client_id counts from 0
            # Opened as billing-svc's OpenWallet does (money calls need an open wallet).
            await conn.execute(
                "INSERT INTO wallets (user_id, currency, balance) VALUES ($1, 'USD', 0)", f"pg-{i}"
            )
            await conn.execute(
                "SELECT billing_top_up($1, 'USD', $2, $3, '\\x00'::bytea)",
                f"pg-{i}",
                BALANCE,
                uuid.uuid4().hex,
            )
        await conn.close()

        redis = Redis.from_url(redis_server_url())
        # As auth-svc does before any session: the ended-sessions feed's epoch.
        await ensure_epoch(redis, prefix)
        sessions: list[tuple[tuple[str, str], ...]] = []
        for i in range(max_clients):
            session = uuid.uuid4().hex
            await redis.set(session_key(prefix, session), "1")
            token = _token(key, f"bench-user-{i}", session)
            sessions.append((("authorization", f"Bearer {token}"),))
        await redis.aclose()

        ports = [free_port() for _ in range(args.replicas)]
        procs = [
            subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
                [sys.executable, "-m", "billing_svc"],
                env=_service_env(dsn, prefix, port, auth_port, max_clients),
                stdout=subprocess.DEVNULL,
            )
            for port in ports
        ]
        noop_port = free_port()
        noop = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
            [sys.executable, str(HERE / "peers" / "floor.py"), "grpc", "--port", str(noop_port)]
        )
        noop_channel = grpc.aio.insecure_channel(f"127.0.0.1:{noop_port}")
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for port in ports]
        try:
            for channel, proc in zip(channels, procs, strict=True):
                await _wait_ready(channel, proc)
            await _wait_ready(noop_channel, noop)
            noop_stubs = [billing_pb2_grpc.BillingServiceStub(noop_channel)] * max_clients
            # Client i talks to replica i % replicas, as a load balancer would spread them.
            stubs = [billing_pb2_grpc.BillingServiceStub(c) for c in channels]
            clients_stubs = [stubs[i % len(stubs)] for i in range(max_clients)]
            lifecycle = billing_pb2_grpc.WalletLifecycleServiceStub(channels[0])
            for i in range(max_clients):
                await lifecycle.OpenWallet(billing_pb2.OpenWalletRequest(user_id=f"bench-user-{i}"))
            for stub, metadata in zip(clients_stubs, sessions, strict=True):
                await stub.TopUp(
                    billing_pb2.TopUpRequest(amount=BALANCE, idempotency_key=uuid.uuid4().hex),
                    metadata=metadata,
                )
            print(
                f"cpus={os.cpu_count()} duration={args.duration}s per run "
                f"billing-svc replicas={args.replicas}"
            )
            results = []
            for clients in args.clients:
                grpc_tps, service_us, client_us = await _grpc_tps(
                    clients_stubs, sessions, clients, args.duration, [p.pid for p in procs]
                )
                print(
                    f"grpc    clients={clients:<3} charges/s={grpc_tps:9.1f} "
                    f"(CPU per charge: billing-svc {service_us:.0f} us, client {client_us:.0f} us)",
                    flush=True,
                )
                noop_tps, noop_us, noop_client_us = await _grpc_tps(
                    noop_stubs, sessions, clients, args.duration, [noop.pid]
                )
                print(
                    f"no-op   clients={clients:<3} calls/s  ={noop_tps:9.1f} "
                    f"(CPU per call: server {noop_us:.0f} us, client {noop_client_us:.0f} us)",
                    flush=True,
                )
                pg_tps = await asyncio.to_thread(
                    pgbench, dsn, PGBENCH_CHARGE, clients=clients, seconds=args.duration
                )
                print(f"pgbench clients={clients:<3} tps      ={pg_tps:9.1f}", flush=True)
                results.append((clients, grpc_tps, noop_tps, pg_tps))
            print()
            print(
                f"{'clients':>7} {'grpc_tps':>10} {'noop_tps':>10} {'pgbench_tps':>12} "
                f"{'grpc/pgbench':>13} {'noop/pgbench':>13} {'svc/noop':>9}"
            )
            for clients, grpc_tps, noop_tps, pg_tps in results:
                print(
                    f"{clients:>7} {grpc_tps:>10.1f} {noop_tps:>10.1f} {pg_tps:>12.1f} "
                    f"{grpc_tps / pg_tps:>13.2f} {noop_tps / pg_tps:>13.2f} "
                    f"{grpc_tps / noop_tps:>9.2f}"
                )
        finally:
            for channel in (*channels, noop_channel):
                await channel.close(None)
            noop.terminate()
            noop.wait(timeout=30)
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
            await auth.stop(None)


def _service_env(
    dsn: str, prefix: str, grpc_port: int, auth_port: int, pool_size: int
) -> dict[str, str]:
    return {
        **os.environ,
        "BILLING_GRPC_HOST": "127.0.0.1",
        "BILLING_GRPC_PORT": str(grpc_port),
        "BILLING_HTTP_HOST": "127.0.0.1",
        "BILLING_HTTP_PORT": str(free_port()),
        "BILLING_DATABASE_URL": dsn,
        "BILLING_DB_POOL_MIN_SIZE": str(pool_size),
        "BILLING_DB_POOL_MAX_SIZE": str(pool_size),
        "BILLING_REDIS_URL": redis_server_url(),
        "BILLING_REDIS_KEY_PREFIX": prefix,
        "BILLING_AUTH_ADDR": f"127.0.0.1:{auth_port}",
        "BILLING_MAX_AMOUNT": str(BALANCE),
        "BILLING_LOG_LEVEL": "WARNING",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument(
        "--replicas", type=int, default=1, help="billing-svc processes, clients spread over them"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
