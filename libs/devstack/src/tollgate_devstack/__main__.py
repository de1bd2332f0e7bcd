"""`python -m tollgate_devstack run` — what `make run` calls."""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path
from types import FrameType

from tollgate_devstack.services import available_services, port_keys
from tollgate_devstack.stack import Stack, StackError, StartCancelled, config_from_env
from tollgate_devstack.supervisor import CrashLoop, RestartPolicy, Supervisor
from tollgate_devstack.testing import free_port


class _StopRequest:
    """Set by SIGINT/SIGTERM. Only a plain attribute is written in the handler: make forwards
    the signal, so two arrive in a row, and a handler that takes a lock (``Event.set``) can run
    again while its first run holds that lock, on the same thread — a deadlock."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, _: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None


def _say(message: str) -> None:
    print(f"tollgate: {message}", flush=True)


def banner(stack: Stack, data_dir: Path) -> list[str]:
    """What `make run` prints once the suite is ready: every process's addresses."""
    names = [spec.name for spec in stack.specs]
    lines = ["", "Tollgate is running:"]
    if "gateway" in names:
        for replica in stack.replicas("gateway"):
            gateway = stack.http_url(replica)
            lines += [
                f"  {replica:<12} {gateway}  (docs {gateway}/docs, app {gateway}/app/)",
            ]
    for spec in stack.specs:
        if spec.default_grpc_port is not None:
            for replica in stack.replicas(spec.name):
                lines.append(
                    f"  {replica:<12} grpc {stack.grpc_addr(replica)}  "
                    f"metrics {stack.http_url(replica)}/metrics"
                )
    if stack.config.replicas > 1:
        lines.append(
            f"  ({stack.config.replicas} replicas of each service; callers balance over them all)"
        )
    if stack.config.start_mailcatcher:
        lines.append(
            f"  mail         {stack.http_url('mailcatcher')}/api/v1/messages  "
            f"(SMTP 127.0.0.1:{stack.smtp_port})"
        )
    where = (
        f"embedded PostgreSQL/Redis and signing keys under {data_dir}"
        if not stack.config.database_url
        else f"your PostgreSQL/Redis below; signing keys under {data_dir}"
    )
    lines += [
        f"  data         {where}",
        f"  postgres     {stack.database_url}",
        f"  redis        {stack.redis_url}",
        "Ctrl-C stops it.",
        "",
    ]
    return lines


def _run(data_dir: Path, free_ports: bool, policy: RestartPolicy) -> int:
    try:
        config = config_from_env(os.environ, data_dir)
    except StackError as err:
        _say(str(err))
        return 2
    if free_ports:
        config.ports = {
            key: free_port() for key in port_keys(available_services(), config.replicas)
        }
    stack = Stack(config)
    stop = _StopRequest()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        stack.start(cancelled=lambda: stop.requested)
    except StartCancelled:
        _say("stopped before the suite was ready")
        return 0
    except StackError as err:
        _say(f"could not start the suite: {err}")
        return 1
    print("\n".join(banner(stack, data_dir)), flush=True)
    code = 0
    supervisor = Supervisor(stack, policy, _say)
    while not stop.requested:
        try:
            supervisor.check()
        except CrashLoop as err:
            _say(f"{err}: crash loop; stopping")
            code = 1
            break
        # Sleep is cut short by a signal (its handler runs, then the loop sees the request).
        time.sleep(0.2)
    _say("stopping…")
    stack.stop()
    _say("stopped")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(prog="tollgate_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole suite until Ctrl-C")
    run.add_argument("--data-dir", type=Path, default=Path(".data"))
    run.add_argument(
        "--free-ports", action="store_true", help="pick free ports instead of the defaults"
    )
    defaults = RestartPolicy()
    run.add_argument(
        "--max-restarts",
        type=int,
        default=defaults.max_restarts,
        help="a service that exits more often than this within --restart-window stops the suite",
    )
    run.add_argument("--restart-window", type=float, default=defaults.window_seconds)
    args = parser.parse_args()
    if args.command == "run":
        policy = RestartPolicy(max_restarts=args.max_restarts, window_seconds=args.restart_window)
        return _run(args.data_dir.resolve(), args.free_ports, policy)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
