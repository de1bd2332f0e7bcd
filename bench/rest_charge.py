"""REST charges through the gateway, as users call them, beside pgbench and a one-hop peer.

    .venv/bin/python bench/rest_charge.py [--seconds 10] [--connections 8 32]
                                          [--growth] [--cores] [--storm] [--markdown FILE]

Starts the whole suite with the launcher of ``make run`` (gateway with one worker per core,
auth-svc, billing-svc, email-svc, default settings and log levels; the local PostgreSQL and
Redis), signs in 32 users over REST (bcrypt at its default cost) and tops their wallets up.
Then, in one run:

1. ``wrk`` (C) posts charges (``bench/wrk/rest.lua``: real bearer tokens, a unique
   ``Idempotency-Key`` per request) at each connection count while the CPU time of every
   process (gateway workers, billing-svc, the PostgreSQL processes working for billing,
   Redis) is read from ``/proc`` before and after: CPU per request, per process;
2. ``pgbench`` runs the service's own charge SQL with as many clients → ``rest/db``;
3. the peer (``bench/peers/starlette_peer.py``: one Starlette process, asyncpg, PyJWT, the
   same token and SQL function) takes the same ``wrk`` load → ``rest/peer``;
4. ``--growth``: the ledger grows to 1,000,000 rows over 10,000 wallets (one bench user holds
   100,000) and the charges run again; ``GET /v1/wallet/transactions``, first page and deep;
5. ``--cores``: REST charges with the services pinned (``taskset``) to one core, then two;
6. ``--storm``: ``GET /v1/wallet`` latency while ``wrk`` drives logins (a login storm);
and the resident memory of every service at idle and after the load.
Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from _harness import (
    PASSWORD,
    PGBENCH_CHARGE,
    CpuMeter,
    WrkResult,
    parse_wrk,
    pgbench,
    postgres_pids,
    process_tree,
    redis_pid,
    rss_mib,
    sign_in_users,
    write_lines,
    wrk,
)

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import free_port, running_suite

HERE = Path(__file__).resolve().parent
USERS = 32
BALANCE = 100_000_000
CHARGE_BODY = '{"amount":"1","description":"bench"}'
SERVICES = ("gateway", "billing", "auth", "email")
JWKS_PATH = "/.well-known/jwks.json"


@dataclass
class Report:
    """Lines for the terminal and, with ``--markdown``, a results file."""

    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)


@dataclass(frozen=True)
class Measured:
    result: WrkResult
    cpu_us: dict[str, float]


def _machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} cores ({model}), {mem_kib / 1024 / 1024:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _measure(
    url: str,
    tokens: Path,
    groups: dict[str, list[int]],
    *,
    connections: int,
    seconds: float,
    method: str = "POST",
    body: str | None = CHARGE_BODY,
    warmup: float = 3.0,
    refresh_groups: Callable[[], dict[str, list[int]]] | None = None,
) -> Measured:
    """A warm-up run, then a measured one with the CPU of each process group."""
    run = uuid.uuid4().hex[:8]
    if warmup:
        wrk(
            url,
            tokens,
            connections=connections,
            seconds=warmup,
            method=method,
            body=body,
            key_prefix=f"w{run}" if body else None,
        )
    if refresh_groups is not None:
        groups = refresh_groups()  # pools grow during the warm-up
    meter = CpuMeter(groups)
    meter.start()
    result = wrk(
        url,
        tokens,
        connections=connections,
        seconds=seconds,
        method=method,
        body=body,
        key_prefix=f"m{run}" if body else None,
    )
    cpu = meter.stop()
    per_request = {name: 1e6 * spent / max(result.requests, 1) for name, spent in cpu.items()}
    return Measured(result, per_request)


def _service_groups(stack: Stack, pg_dsn: str, billing_db: str) -> dict[str, list[int]]:
    groups = {name: process_tree(stack.process(name).pid) for name in ("gateway", "billing")}
    groups["postgres"] = postgres_pids(pg_dsn, billing_db)
    groups["redis"] = [redis_pid(stack.redis_url)]
    return groups


def _cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {us:,.0f} µs" for name, us in cpu.items())


async def _fund_pgbench_wallets(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(count):  # pgbench's :client_id counts from 0
            # Opened as billing-svc's OpenWallet does, then funded.
            await conn.execute(
                "INSERT INTO wallets (user_id, currency, balance) VALUES ($1, 'USD', 0) "
                "ON CONFLICT DO NOTHING",
                f"pg-{i}",
            )
            await conn.execute(
                "SELECT billing_top_up($1, 'USD', $2, $3, '\\x00'::bytea)",
                f"pg-{i}",
                BALANCE,
                uuid.uuid4().hex,
            )
    finally:
        await conn.close()


GROW_WALLETS = """
INSERT INTO wallets (user_id, currency, balance)
SELECT 'grow-' || g, 'USD', 0 FROM generate_series(1, $1::int) AS g
"""
GROW_ROWS = """
INSERT INTO transactions (user_id, currency, kind, amount, balance_after, idempotency_key,
                          request_fingerprint, ts)
SELECT $1::text || (g % $2::int + 1), 'USD', 'TOP_UP', 1, 0, 'grow-' || g, '\\x00'::bytea,
       now() - (g || ' seconds')::interval
  FROM generate_series($3::int, $4::int) AS g
"""
HOT_ROWS = """
INSERT INTO transactions (user_id, currency, kind, amount, balance_after, idempotency_key,
                          request_fingerprint, ts)
SELECT $1::text, 'USD', 'TOP_UP', 1, 0, 'grow-hot-' || g, '\\x00'::bytea,
       now() - interval '1 day' - (g || ' seconds')::interval
  FROM generate_series(1, $2::int) AS g
"""
# balance == sum(transactions) holds after the growth as before it.
GROW_BALANCES = """
UPDATE wallets w SET balance = s.total
  FROM (SELECT user_id, sum(amount) AS total FROM transactions
         WHERE user_id LIKE 'grow-%' OR user_id = $1::text GROUP BY user_id) s
 WHERE w.user_id = s.user_id AND w.currency = 'USD'
"""


async def _grow_ledger(dsn: str, hot_user: str, rows: int, wallets: int, hot_rows: int) -> float:
    """Grow the ledger to about ``rows`` rows; seconds it took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn, command_timeout=3600)
    try:
        existing = await conn.fetchval("SELECT count(*) FROM transactions")
        await conn.execute(GROW_WALLETS, wallets - 1)
        await conn.execute(HOT_ROWS, hot_user, hot_rows)
        spread = max(rows - hot_rows - existing, 0)
        batch = 200_000
        for first in range(1, spread + 1, batch):
            last = min(first + batch - 1, spread)
            await conn.execute(GROW_ROWS, "grow-", wallets - 1, first, last)
        await conn.execute(GROW_BALANCES, hot_user)
        await conn.execute("ANALYZE transactions")
        await conn.execute("ANALYZE wallets")
    finally:
        await conn.close()
    return time.perf_counter() - started


def _user_of(token: str) -> str:
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def _page_latency(base_url: str, token: str, pages: int) -> tuple[float, float]:
    """Median milliseconds of the first page of transactions and of the page ``pages`` deep
    (100 rows a page), following the cursors."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:
        page_token = ""
        cursors = []
        for _ in range(pages):
            answer = client.get(
                "/v1/wallet/transactions", params={"pageSize": 100, "pageToken": page_token}
            )
            answer.raise_for_status()
            page_token = answer.json()["nextPageToken"]
            cursors.append(page_token)
            if not page_token:
                break

        def median_ms(cursor: str) -> float:
            samples = []
            for _ in range(30):
                started = time.perf_counter()
                client.get(
                    "/v1/wallet/transactions", params={"pageSize": 100, "pageToken": cursor}
                ).raise_for_status()
                samples.append(time.perf_counter() - started)
            return sorted(samples)[len(samples) // 2] * 1000

        return median_ms(""), median_ms(cursors[-2] if len(cursors) > 1 else "")


def _pin(pids: Sequence[int], cpus: str) -> None:
    for pid in pids:
        subprocess.run(
            ["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True
        )


def _start_peer(dsn: str, jwks_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    peer = str(HERE / "peers" / "starlette_peer.py")
    args = [peer, "--port", str(port), "--dsn", dsn, "--jwks", jwks_url]
    return _start(args, url + "/v1/wallet/charges"), url


def run(args: argparse.Namespace, report: Report) -> None:
    cores = os.cpu_count() or 1
    env = {
        "GATEWAY_WORKERS": str(cores),
        "AUTH_BCRYPT_COST": str(args.bcrypt_cost),
        # The bench measures cost, not the per-user limit: 32 users at thousands a second.
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_RATE_LIMIT_BURST": "100000000",
        # auth-svc's own per-account login budget: the storm logs one account in.
        "AUTH_LOGIN_RATE_LIMIT": "100000000",
        **dict(item.split("=", 1) for item in args.env),
    }
    # The code before this work (a checkout on PYTHONPATH) has no mutual TLS to turn off.
    suite_options = {"tls": False} if args.no_tls else {}
    report(f"# REST charges — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    report()
    report(
        f"Machine: {_machine()}. wrk with 2 threads; {args.seconds:g} s per measured run "
        "after a 3 s warm-up; one run each."
    )
    report()
    with (
        tempfile.TemporaryDirectory(prefix="tollgate-bench-") as data_dir,
        running_suite(
            "bench", Path(data_dir), env=env, log_sink=lambda _n, _l: None, **suite_options
        ) as stack,
    ):
        gateway = stack.http_url("gateway")
        billing_dsn = stack.database_dsn("billing")
        billing_db = billing_dsn.rsplit("/", 1)[1].split("?", 1)[0]
        rss_idle = {
            name: sum(rss_mib(p) for p in process_tree(stack.process(name).pid))
            for name in SERVICES
        }
        tokens = sign_in_users(gateway, USERS, top_up=BALANCE)
        tokens_file = write_lines(tokens)
        asyncio.run(_fund_pgbench_wallets(billing_dsn, max(args.connections)))

        def groups() -> dict[str, list[int]]:
            return _service_groups(stack, billing_dsn, billing_db)

        charges = gateway + "/v1/wallet/charges"
        try:
            report("## Charges: gateway → billing-svc → PostgreSQL, pgbench, peer")
            report()
            report(
                "| connections | REST charges/s | p50 ms | p99 ms | errors | CPU µs per "
                "charge | pgbench TPS | rest/db | peer charges/s | peer CPU µs | "
                "rest/peer |"
            )
            report("|---|---|---|---|---|---|---|---|---|---|---|")
            peer = None if args.no_peer else _start_peer(billing_dsn, gateway + JWKS_PATH)
            try:
                for connections in args.connections:
                    rest = _measure(
                        charges,
                        tokens_file,
                        {},
                        connections=connections,
                        seconds=args.seconds,
                        refresh_groups=groups,
                    )
                    r = rest.result
                    line = (
                        f"| {connections} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
                        f"{r.errors} | {_cpu_text(rest.cpu_us)} |"
                    )
                    if peer is None:
                        report(line + " | | | | | |")
                        continue
                    db_tps = pgbench(
                        billing_dsn, PGBENCH_CHARGE, clients=connections, seconds=args.seconds
                    )
                    peer_run = _measure(
                        peer[1] + "/v1/wallet/charges",
                        tokens_file,
                        {"peer": process_tree(peer[0].pid)},
                        connections=connections,
                        seconds=args.seconds,
                    )
                    p = peer_run.result
                    report(
                        f"{line} {db_tps:,.0f} | {r.rps / db_tps:.2f} | {p.rps:,.0f} | "
                        f"{peer_run.cpu_us['peer']:,.0f} | {r.rps / p.rps:.2f} |"
                    )
            finally:
                if peer is not None:
                    peer[0].terminate()
                    peer[0].wait(timeout=30)
            report()
            if not args.no_peer:
                _floor(args, report, tokens_file)
            if args.growth:
                _growth(args, report, stack, tokens, tokens_file, groups)
            if args.cores and cores >= 2:
                _cores(args, report, stack, tokens_file)
            if args.storm:
                _storm(args, report, gateway, tokens_file)
            rss_after = {
                name: sum(rss_mib(p) for p in process_tree(stack.process(name).pid))
                for name in SERVICES
            }
            report("## Memory (RSS, MiB; the gateway's workers summed)")
            report()
            report("| service | idle | after the load |")
            report("|---|---|---|")
            for name in SERVICES:
                report(f"| {name} | {rss_idle[name]:.0f} | {rss_after[name]:.0f} |")
            report()
        finally:
            tokens_file.unlink()


def _start(args: list[str], url: str) -> subprocess.Popen[bytes]:
    """Start a bench server and wait until ``url`` answers."""
    proc = subprocess.Popen([sys.executable, *args])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{args} exited while starting")
        try:
            httpx.post(url, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{args} did not start")


def _floor(args: argparse.Namespace, report: Report, tokens_file: Path) -> None:
    """The same two hops doing nothing (bench/peers/floor.py), under the same load."""
    floor = str(HERE / "peers" / "floor.py")
    grpc_port, http_port = free_port(), free_port()
    noop = subprocess.Popen([sys.executable, floor, "grpc", "--port", str(grpc_port)])
    url = f"http://127.0.0.1:{http_port}/v1/wallet/charges"
    workers = str(os.cpu_count() or 1)
    forward = None
    try:
        forward = _start(
            [
                floor,
                "http",
                "--port",
                str(http_port),
                "--target",
                f"127.0.0.1:{grpc_port}",
                "--workers",
                workers,
            ],
            url,
        )
        report("## Floor: the same servers doing nothing (uvicorn → grpc.aio, no-op)")
        report()
        report("| connections | requests/s | p50 ms | p99 ms | CPU µs per request |")
        report("|---|---|---|---|---|")
        for connections in args.connections:
            measured = _measure(
                url,
                tokens_file,
                {"http floor": process_tree(forward.pid), "grpc floor": [noop.pid]},
                connections=connections,
                seconds=args.seconds,
            )
            r = measured.result
            report(
                f"| {connections} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
                f"{_cpu_text(measured.cpu_us)} |"
            )
        report()
    finally:
        for proc in (forward, noop):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)


def _growth(
    args: argparse.Namespace,
    report: Report,
    stack: Stack,
    tokens: list[str],
    tokens_file: Path,
    groups: Callable[[], dict[str, list[int]]],
) -> None:
    gateway = stack.http_url("gateway")
    charges = gateway + "/v1/wallet/charges"
    connections = max(args.connections)
    before = _measure(
        charges,
        tokens_file,
        {},
        connections=connections,
        seconds=args.seconds,
        refresh_groups=groups,
    )
    first_before, deep_before = _page_latency(gateway, tokens[0], 2)
    took = asyncio.run(
        _grow_ledger(stack.database_dsn("billing"), _user_of(tokens[0]), 1_000_000, 10_000, 100_000)
    )
    after = _measure(
        charges,
        tokens_file,
        {},
        connections=connections,
        seconds=args.seconds,
        refresh_groups=groups,
    )
    first_after, deep_after = _page_latency(gateway, tokens[0], 500)
    b, a = before.result, after.result
    report(f"## Growth: 1,000,000 ledger rows over 10,000 wallets (inserted in {took:.0f} s)")
    report()
    report("| ledger | charges/s | p50 ms | p99 ms | first page ms | deep page ms |")
    report("|---|---|---|---|---|---|")
    report(
        f"| as after the runs above | {b.rps:,.0f} | {b.p50_ms:.1f} | {b.p99_ms:.1f} | "
        f"{first_before:.1f} | {deep_before:.1f} (page 2) |"
    )
    report(
        f"| 1M rows, hot wallet 100k | {a.rps:,.0f} | {a.p50_ms:.1f} | {a.p99_ms:.1f} | "
        f"{first_after:.1f} | {deep_after:.1f} (page 500, rows 49,901-50,000) |"
    )
    report()
    report(f"p99 with 1M rows / before: {a.p99_ms / b.p99_ms:.2f} (target ≤ 1.20)")
    report()


def _cores(args: argparse.Namespace, report: Report, stack: Stack, tokens_file: Path) -> None:
    charges = stack.http_url("gateway") + "/v1/wallet/charges"
    pids = [p for name in SERVICES for p in process_tree(stack.process(name).pid)]
    connections = max(args.connections)
    results = {}
    try:
        for cpus in ("0", "0,1"):
            _pin(pids, cpus)
            results[cpus] = _measure(
                charges, tokens_file, {}, connections=connections, seconds=args.seconds
            ).result
    finally:
        _pin(pids, f"0-{(os.cpu_count() or 1) - 1}")
    one, two = results["0"], results["0,1"]
    report("## Scaling: services pinned to one core, then two (PostgreSQL, Redis, wrk free)")
    report()
    report("| services' cores | charges/s | p50 ms | p99 ms |")
    report("|---|---|---|---|")
    report(f"| 1 | {one.rps:,.0f} | {one.p50_ms:.1f} | {one.p99_ms:.1f} |")
    report(f"| 2 | {two.rps:,.0f} | {two.p50_ms:.1f} | {two.p99_ms:.1f} |")
    report()
    report(f"2 cores / 1 core: {two.rps / one.rps:.2f}")
    report()


def _check_seconds(cost: int) -> float:
    """Median seconds of one bcrypt check at ``cost`` on this machine."""
    import bcrypt

    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(cost))
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        bcrypt.checkpw(PASSWORD.encode(), hashed)
        samples.append(time.perf_counter() - started)
    return sorted(samples)[2]


def _storm(args: argparse.Namespace, report: Report, gateway: str, tokens_file: Path) -> None:
    """GET /v1/wallet at 4 connections, alone and beside a login storm of 16 connections."""
    email = f"storm-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(
        gateway + "/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=30
    )
    login_body = f'{{"email":"{email}","password":"{PASSWORD}"}}'
    wallet = gateway + "/v1/wallet"
    quiet = wrk(wallet, tokens_file, connections=4, seconds=args.seconds)
    storm = subprocess.Popen(
        [
            "wrk",
            "-t1",
            "-c16",
            f"-d{args.seconds + 4:g}s",
            "--timeout",
            "30s",
            "-s",
            str(HERE / "wrk" / "rest.lua"),
            gateway + "/v1/auth/login",
            "--",
            str(tokens_file),
            "1",
            "POST",
            login_body,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    loud = wrk(wallet, tokens_file, connections=4, seconds=args.seconds)
    out, _ = storm.communicate(timeout=args.seconds + 60)
    storm_result = parse_wrk(out)
    bound = (os.cpu_count() or 1) / _check_seconds(args.bcrypt_cost)
    # Successful logins only: a refused one costs no bcrypt.
    logins = (storm_result.requests - storm_result.errors) / storm_result.seconds
    report("## Login storm: GET /v1/wallet (4 connections) beside 16 connections logging in")
    report()
    report("| | wallet reads/s | p50 ms | p99 ms |")
    report("|---|---|---|---|")
    report(f"| alone | {quiet.rps:,.0f} | {quiet.p50_ms:.1f} | {quiet.p99_ms:.1f} |")
    report(f"| during the storm | {loud.rps:,.0f} | {loud.p50_ms:.1f} | {loud.p99_ms:.1f} |")
    report()
    report(
        f"successful logins/s during the storm: {logins:,.1f} (bcrypt cost {args.bcrypt_cost}, "
        f"{storm_result.errors} refused); the bcrypt bound (cores / check time) is "
        f"{bound:,.1f}/s: {logins / bound:.2f} of it. Targets: ≥ 0.9 of the bound, wallet p99 "
        "≤ 25 ms during the storm"
    )
    report()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--bcrypt-cost", type=int, default=12)
    parser.add_argument("--growth", action="store_true")
    parser.add_argument("--cores", action="store_true")
    parser.add_argument("--storm", action="store_true")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for every service (experiments)",
    )
    parser.add_argument("--no-tls", action="store_true", help="services without mutual TLS")
    parser.add_argument("--no-peer", action="store_true", help="skip pgbench and the peer")
    parser.add_argument("--markdown", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    report = Report()
    run(args, report)
    if args.markdown is not None:
        args.markdown.write_text("\n".join(report.lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
