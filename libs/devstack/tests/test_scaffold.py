"""A service written by the template lints, type-checks, keeps the layering contracts' shape,
migrates a real PostgreSQL database and serves until SIGTERM: a new service starts from a
template that works, copying nothing from the others."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import asyncpg
import httpx
import pytest

from tollgate_devstack.scaffold import TEMPLATE, NewService, main, render, scaffold
from tollgate_devstack.testing import free_port, temp_database

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def demo(tmp_path: Path) -> Path:
    return scaffold(NewService("demo", grpc_port=free_port(), http_port=free_port()), tmp_path)


def run(args: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def env_with(source: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(source), **extra}


def test_every_placeholder_is_filled(tmp_path: Path) -> None:
    target = demo(tmp_path)
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert "src/demo_svc/__main__.py" in written
    assert "src/demo_svc/usecases/ports.py" in written
    assert "migrations/versions/0001_initial.py" in written
    assert len(written) == len(list(TEMPLATE.rglob("*.tmpl")))
    for path in target.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), path


def test_refuses_a_bad_name_an_unknown_placeholder_and_an_existing_directory(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="lower-case"):
        NewService("Demo-Svc", 1, 2)
    with pytest.raises(KeyError, match="unknown placeholder"):
        render("{{nope}}", {})
    demo(tmp_path)
    with pytest.raises(FileExistsError):
        demo(tmp_path)
    assert main(["demo", "--root", str(tmp_path)]) == 2


def test_the_new_service_lints_and_type_checks(tmp_path: Path) -> None:
    target = demo(tmp_path)
    isort = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]["isort"]
    first_party = [*isort["known-first-party"], "demo_svc"]
    ruff = [str(BIN / "ruff"), "--config", str(ROOT / "pyproject.toml")]
    known = f"lint.isort.known-first-party = {first_party!r}"
    run([*ruff, "check", "--config", known, str(target)])
    run([*ruff, "format", "--check", str(target)])
    run(
        [str(BIN / "mypy"), "--config-file", str(ROOT / "pyproject.toml"), "-p", "demo_svc"],
        cwd=target / "src",
        env=env_with(target / "src", MYPY_CACHE_DIR=str(tmp_path / "mypy-cache")),
    )
    run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=target,
        env=env_with(target / "src"),
    )


async def test_the_new_service_migrates_serves_and_stops(tmp_path: Path) -> None:
    target = demo(tmp_path)
    http_port = free_port()
    async with temp_database("scaffold") as dsn:
        env = env_with(
            target / "src",
            DEMO_DATABASE_URL=dsn,
            DEMO_GRPC_PORT=str(free_port()),
            DEMO_HTTP_PORT=str(http_port),
            DEMO_GRPC_HOST="127.0.0.1",
            DEMO_HTTP_HOST="127.0.0.1",
        )
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "demo_svc", "migrate", env=env, cwd=tmp_path
        )
        assert await asyncio.wait_for(migrate.wait(), 60) == 0
        conn = await asyncpg.connect(dsn)
        try:
            schemas = await conn.fetchval(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'demo'"
            )
        finally:
            await conn.close()
        assert schemas == 1

        served = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "demo_svc", env=env, cwd=tmp_path
        )
        try:
            await wait_ready(f"http://127.0.0.1:{http_port}/readyz")
        finally:
            if served.returncode is None:
                served.send_signal(signal.SIGTERM)
            status = await asyncio.wait_for(served.wait(), 30)
        assert status == 0


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(150):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered 200")
