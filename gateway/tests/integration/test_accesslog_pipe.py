"""Two gateway workers logging to one pipe never interleave inside a line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

WORKER = """
import sys
from tollgate_kit.logs import configure_logging
configure_logging("gateway", "INFO")
from gateway.accesslog import AccessLog
log = AccessLog(max_lines=256)
for i in range(6000):
    log.logger.info("http_request", worker=sys.argv[1], i=i, route="/v1/wallet/" + "x" * 200)
log.flush()
"""


def test_workers_sharing_stdout_write_whole_lines() -> None:
    read, write = os.pipe()
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, name], stdout=write) for name in ("a", "b")
    ]
    os.close(write)
    with open(read, "rb") as pipe:
        output = pipe.read()
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    lines = output.decode().splitlines()
    assert len(lines) == 12000
    for line in lines:
        json.loads(line)  # raises on a torn or merged line
