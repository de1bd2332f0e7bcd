"""REST charges with one and with two replicas of the gateway and of billing-svc, each replica
pinned to a core of its own, so a reader sees how throughput grows with replicas.

    .venv/bin/python bench/replicas.py [--seconds 10] [--connections 32]

Starts the suite with the launcher of ``make run`` with ``replicas=2`` (one worker per gateway
process; the local PostgreSQL and Redis), signs in 32 users and tops their wallets up. Then,
in one run:

1. **one replica**: billing-2 is stopped (the gateway's round_robin then sends every call to
   billing), gateway and billing are pinned (``taskset``) to core 0, and ``wrk`` posts charges
   to the gateway;
2. **two replicas**: billing-2 is back, gateway-2 and billing-2 pinned to core 1, and two
   ``wrk`` processes (half the connections each) post charges to both gateways at once.

auth-svc, email-svc, PostgreSQL, Redis and ``wrk`` are not pinned. Prints the figures and
their ratio. Never part of the test run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _harness import WrkResult, process_tree, sign_in_users, write_lines, wrk
from prometheus_client.parser import text_string_to_metric_families
from rest_charge import BALANCE, CHARGE_BODY, USERS, Report, _machine, _pin

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import running_suite


def _pin_replicas(stack: Stack, names: list[str], cpus: str) -> None:
    _pin([pid for name in names for pid in process_tree(stack.process(name).pid)], cpus)


def _charges(
    stack: Stack, gateways: list[str], tokens: Path, connections: int, seconds: float
) -> WrkResult:
    """``wrk`` on each gateway at once (``connections`` split between them), summed."""
    share = max(1, connections // len(gateways))
    urls = [stack.http_url(name) + "/v1/wallet/charges" for name in gateways]

    def one(url: str, run: str) -> WrkResult:
        return wrk(
            url,
            tokens,
            connections=share,
            seconds=seconds,
            method="POST",
            body=CHARGE_BODY,
            key_prefix=run,
            threads=1 if len(gateways) > 1 else 2,
        )

    tag = f"r{time.monotonic_ns()}"
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(one, urls, [f"{tag}g{i}" for i in range(len(urls))]))
    return WrkResult(
        requests=sum(r.requests for r in results),
        seconds=max(r.seconds for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
    )


def _charges_served(stack: Stack, name: str) -> float:
    """Charges billing replica ``name`` has answered (its gRPC server's counter)."""
    text = httpx.get(stack.http_url(name) + "/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "grpc_server_handled_total"
        and sample.labels.get("grpc_method") == "Charge"
    )


def run(args: argparse.Namespace, report: Report) -> None:
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores")
    env = {
        "GATEWAY_WORKERS": "1",
        "AUTH_BCRYPT_COST": "4",
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_RATE_LIMIT_BURST": "100000000",
    }
    report(f"# Replicas — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    report()
    report(
        f"Machine: {_machine()}. {args.connections} wrk connections in all; {args.seconds:g} s "
        "per measured run after a 3 s warm-up; one run each."
    )
    report()
    with (
        tempfile.TemporaryDirectory(prefix="tollgate-bench-") as data_dir,
        running_suite(
            "bench", Path(data_dir), env=env, log_sink=lambda _n, _l: None, replicas=2
        ) as stack,
    ):
        tokens_file = write_lines(sign_in_users(stack.http_url("gateway"), USERS, top_up=BALANCE))
        everywhere = f"0-{(os.cpu_count() or 1) - 1}"
        try:
            stack.terminate("billing-2")
            _pin_replicas(stack, ["gateway", "billing"], "0")
            _charges(stack, ["gateway"], tokens_file, args.connections, 3)  # warm-up
            one = _charges(stack, ["gateway"], tokens_file, args.connections, args.seconds)

            stack.start_process("billing-2")
            _pin_replicas(stack, ["gateway-2", "billing-2"], "1")
            both = ["gateway", "gateway-2"]
            _charges(stack, both, tokens_file, args.connections, 3)  # warm-up
            before = [_charges_served(stack, name) for name in ("billing", "billing-2")]
            two = _charges(stack, both, tokens_file, args.connections, args.seconds)
            served = [
                _charges_served(stack, name) - was
                for name, was in zip(("billing", "billing-2"), before, strict=True)
            ]
        finally:
            for name in ("gateway", "gateway-2", "billing", "billing-2"):
                if stack.process(name).poll() is None:
                    _pin_replicas(stack, [name], everywhere)
            tokens_file.unlink()
    report("## REST charges by replicas of the gateway and billing-svc (one core each)")
    report()
    report("| replicas | cores | charges/s | p50 ms | p99 ms | errors |")
    report("|---|---|---|---|---|---|")
    for count, result in ((1, one), (2, two)):
        report(
            f"| {count} | {count} | {result.rps:,.0f} | {result.p50_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.errors} |"
        )
    report()
    report(f"2 replicas / 1 replica: {two.rps / one.rps:.2f}")
    report()
    share = served[0] / max(sum(served), 1)
    report(
        f"With two, billing and billing-2 answered {share:.0%} / {1 - share:.0%} of the charges."
    )
    report()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    report(
        f"Load average at the end: {load} on {os.cpu_count()} cores. With one replica, the "
        "unpinned PostgreSQL, Redis and wrk have the second core to themselves; with two they "
        "share both cores with the replicas: on a machine this small, the ratio shows where "
        "the CPU goes rather than what a second node adds (see deploy/README.md)."
    )
    report()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--markdown", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    report = Report()
    run(args, report)
    if args.markdown is not None:
        args.markdown.write_text("\n".join(report.lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
