"""Where a REST charge's CPU goes: ``py-spy`` samples the gateway's workers and billing-svc
while ``wrk`` posts charges, and the hottest functions of each are printed.

    .venv/bin/python bench/profile_charge.py [--seconds 15] [--out DIR]

py-spy (PyPI) must be installed. The collapsed stacks are kept in ``--out`` (one file per
process) for flame graphs. Never part of the test run.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from _harness import process_tree, sign_in_users, write_lines, wrk

from tollgate_devstack.testing import running_suite

CHARGE_BODY = '{"amount":"1","description":"bench"}'


def top_functions(collapsed: Path, limit: int) -> tuple[int, list[tuple[str, int, int]]]:
    """Samples in all, and the functions with the most samples: (name, self, inclusive)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    names = [name for name, _ in own.most_common(limit)]
    return total, [(name, own[name], inclusive[name]) for name in names]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--native", action="store_true", help="C frames too (slower)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="profile-")))
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    env = {
        "GATEWAY_WORKERS": str(os.cpu_count() or 1),
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_RATE_LIMIT_BURST": "100000000",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="tollgate-profile-") as data_dir,
        running_suite("profile", Path(data_dir), env=env, log_sink=lambda _n, _l: None) as stack,
    ):
        gateway = stack.http_url("gateway")
        tokens_file = write_lines(sign_in_users(gateway, 32, top_up=100_000_000))
        url = gateway + "/v1/wallet/charges"
        wrk(
            url,
            tokens_file,
            connections=args.connections,
            seconds=3,
            method="POST",
            body=CHARGE_BODY,
            key_prefix="warm",
        )
        targets = {"billing": stack.process("billing").pid}
        for i, pid in enumerate(process_tree(stack.process("gateway").pid)[1:]):
            targets[f"gateway-worker-{i}"] = pid
        if len(targets) == 1:
            targets["gateway"] = stack.process("gateway").pid
        recorders = {
            name: subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--nonblocking",
                    "-r",
                    "200",
                    "-d",
                    str(args.seconds),
                    "-f",
                    "raw",
                    "-o",
                    str(args.out / f"{name}.txt"),
                    "-p",
                    str(pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in targets.items()
        }
        load = threading.Thread(
            target=wrk,
            args=(url, tokens_file),
            kwargs={
                "connections": args.connections,
                "seconds": args.seconds + 2,
                "method": "POST",
                "body": CHARGE_BODY,
                "key_prefix": "prof",
            },
        )
        load.start()
        for recorder in recorders.values():
            recorder.wait()
        load.join()
        tokens_file.unlink()
    for name in recorders:
        path = args.out / f"{name}.txt"
        if not path.exists():
            print(f"{name}: no profile")
            continue
        total, rows = top_functions(path, args.top)
        print(f"\n== {name}: {total} samples (self %, inclusive %) — {path}")
        for function, own, inclusive in rows:
            print(f"{100 * own / total:5.1f} {100 * inclusive / total:5.1f}  {function[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
