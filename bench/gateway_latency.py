"""Added latency of the gateway: GET /v1/wallet through the gateway vs a direct gRPC
GetWallet call to billing-svc, and the gateway's requests per second, in one run.

Starts the whole suite with the same launcher as the e2e tests (real auth-svc,
billing-svc, gateway; the test PostgreSQL and Redis), signs a user in, then:

1. latency, sequential, one connection each, interleaved rounds so drift hits both sides:
   direct gRPC (grpc.aio, one channel) vs HTTP/1.1 keep-alive to the gateway (a minimal
   asyncio client, so the HTTP client's own cost stays near the gRPC client's);
2. throughput: wrk (Debian package) when installed, else an asyncio load loop.

    .venv/bin/python bench/gateway_latency.py [--requests 3000] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _harness import sign_in_users

from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_devstack.testing import running_suite
from tollgate_kit.mtls import ServiceTls, open_channel


class RawHttp:
    """HTTP/1.1 keep-alive GETs over one asyncio connection (no parsing beyond need)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self._host, self._port = host, port
        self._request = (
            f"GET /v1/wallet HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)

    async def get(self) -> bytes:
        if self._reader is None or self._writer is None:
            raise RuntimeError("not connected")
        self._writer.write(self._request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return await self._reader.readexactly(length)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _timed(call: object, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


async def _latency(
    gateway_url: str, billing_addr: str, token: str, requests: int
) -> tuple[list[float], list[float]]:
    # As the gateway reaches billing-svc: over mutual TLS with its certificate when the suite
    # runs it (the parent passes the files), so both sides pay the same transport.
    tls = ServiceTls.load(
        *(_optional_path(f"GATEWAY_TLS_{part}_FILE") for part in ("CA", "CERT", "KEY"))
    )
    channel = open_channel(billing_addr, tls, "billing")
    stub = billing_pb2_grpc.BillingServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)

    async def direct() -> None:
        await stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=metadata, timeout=10)

    url = httpx.URL(gateway_url)
    http = RawHttp(url.host, url.port or 80, token)
    await http.connect()
    try:
        await _timed(direct, 300)
        await _timed(http.get, 300)
        grpc_samples: list[float] = []
        gateway_samples: list[float] = []
        rounds = 6
        for _ in range(rounds):
            grpc_samples += await _timed(direct, requests // rounds)
            gateway_samples += await _timed(http.get, requests // rounds)
    finally:
        await http.close()
        await channel.close(None)
    return grpc_samples, gateway_samples


def _wrk(url: str, token: str, seconds: int, connections: int) -> float | None:
    if shutil.which("wrk") is None:
        return None
    threads = max(1, min(4, os.cpu_count() or 1))
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-H",
            f"Authorization: Bearer {token}",
            url + "/v1/wallet",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split(":", 1)[1])
    return None


async def _load_loop(url: str, token: str, seconds: float, connections: int) -> float:
    parsed = httpx.URL(url)
    clients = [RawHttp(parsed.host, parsed.port or 80, token) for _ in range(connections)]
    await asyncio.gather(*(client.connect() for client in clients))
    done = 0
    end = time.perf_counter() + seconds

    async def worker(client: RawHttp) -> None:
        nonlocal done
        while time.perf_counter() < end:
            await client.get()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(client.close() for client in clients))
    return done / elapsed


def _optional_path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value) if value else None


def _sign_in(base_url: str) -> str:
    (token,) = sign_in_users(base_url, 1, top_up=1000)
    return token


def _measure(gateway_url: str, billing_addr: str, token: str, requests: int) -> int:
    """Child process: the timing loops, away from the launcher's log-pump threads (which
    would otherwise contend for the GIL with the client on every gateway log line)."""
    grpc_samples, gateway_samples = asyncio.run(
        _latency(gateway_url, billing_addr, token, requests)
    )
    print(json.dumps({"grpc": grpc_samples, "gateway": gateway_samples}))
    return 0


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--measure":
        return _measure(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    env = {
        "GATEWAY_WORKERS": str(args.workers),
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_RATE_LIMIT_BURST": "100000000",
        "BILLING_LOG_LEVEL": "WARNING",
        "AUTH_LOG_LEVEL": "WARNING",
    }
    with (
        tempfile.TemporaryDirectory(prefix="tollgate-bench-") as data_dir,
        running_suite("bench", Path(data_dir), env=env, log_sink=lambda _n, _l: None) as stack,
    ):
        token = _sign_in(stack.http_url("gateway"))
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                stack.http_url("gateway"),
                stack.grpc_addr("billing"),
                token,
                str(args.requests),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **stack.tls_files("gateway").env("GATEWAY_")},
        )
        samples = json.loads(child.stdout)
        grpc_samples, gateway_samples = samples["grpc"], samples["gateway"]
        rps = _wrk(stack.http_url("gateway"), token, args.seconds, args.connections)
        tool = "wrk"
        if rps is None:
            tool = "asyncio loop"
            rps = asyncio.run(
                _load_loop(stack.http_url("gateway"), token, args.seconds, args.connections)
            )

    ms = 1000.0
    g50, g99 = _percentile(grpc_samples, 0.5) * ms, _percentile(grpc_samples, 0.99) * ms
    h50, h99 = _percentile(gateway_samples, 0.5) * ms, _percentile(gateway_samples, 0.99) * ms
    print(
        f"GET /v1/wallet, {len(gateway_samples)} sequential requests each, "
        f"gateway workers={args.workers}, cores={os.cpu_count()}"
    )
    print(
        f"  direct gRPC GetWallet : p50 {g50:7.3f} ms   p99 {g99:7.3f} ms   "
        f"mean {statistics.mean(grpc_samples) * ms:7.3f} ms"
    )
    print(
        f"  via gateway (REST)    : p50 {h50:7.3f} ms   p99 {h99:7.3f} ms   "
        f"mean {statistics.mean(gateway_samples) * ms:7.3f} ms"
    )
    print(
        f"  added by the gateway  : p50 {h50 - g50:+7.3f} ms   p99 {h99 - g99:+7.3f} ms   "
        f"(ratio p50 {h50 / g50:.2f}x, p99 {h99 / g99:.2f}x)"
    )
    print(
        f"  throughput ({tool}, {args.connections} connections, {args.seconds}s): "
        f"{rps:,.0f} requests/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
