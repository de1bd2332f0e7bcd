"""`python -m tollgate_devstack run` — what `make run` calls."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from tollgate_devstack.services import available_services
from tollgate_devstack.stack import Stack, StackError, config_from_env, port_keys
from tollgate_devstack.testing import free_port


def _run(data_dir: Path, free_ports: bool) -> int:
    config = config_from_env(os.environ, data_dir)
    if free_ports:
        config.ports = {key: free_port() for key in port_keys(available_services())}
    stack = Stack(config)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stack.start()
    except StackError as err:
        print(f"tollgate: could not start the suite: {err}", flush=True)
        return 1
    names = [spec.name for spec in stack.specs]
    lines = ["", "Tollgate is running:"]
    if "gateway" in names:
        gateway = stack.http_url("gateway")
        lines += [
            f"  gateway      {gateway}  (docs {gateway}/docs, app {gateway}/app/)",
        ]
    for spec in stack.specs:
        if spec.default_grpc_port is not None:
            lines.append(
                f"  {spec.name:<12} grpc {stack.grpc_addr(spec.name)}  "
                f"metrics {stack.http_url(spec.name)}/metrics"
            )
    if config.start_mailcatcher:
        lines.append(
            f"  mail         {stack.http_url('mailcatcher')}/api/v1/messages  "
            f"(SMTP 127.0.0.1:{stack.smtp_port})"
        )
    where = (
        f"embedded PostgreSQL/Redis and signing keys under {data_dir}"
        if not config.database_url
        else f"your PostgreSQL/Redis below; signing keys under {data_dir}"
    )
    lines += [
        f"  data         {where}",
        f"  postgres     {stack.database_url}",
        f"  redis        {stack.redis_url}",
        "Ctrl-C stops it.",
        "",
    ]
    print("\n".join(lines), flush=True)
    code = 0
    while not stopping.wait(1.0):
        # A service that dies is not restarted: say so and stop, rather than look running.
        dead = stack.exited()
        if dead:
            name, returncode = dead[0]
            print(f"tollgate: {name} exited with code {returncode}; stopping", flush=True)
            code = 1
            break
    print("tollgate: stopping…", flush=True)
    stack.stop()
    print("tollgate: stopped", flush=True)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(prog="tollgate_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole suite until Ctrl-C")
    run.add_argument("--data-dir", type=Path, default=Path(".data"))
    run.add_argument(
        "--free-ports", action="store_true", help="pick free ports instead of the defaults"
    )
    args = parser.parse_args()
    if args.command == "run":
        return _run(args.data_dir.resolve(), args.free_ports)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
