"""``python -m auth_svc migrate`` against a fresh database, as the launcher runs it."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
import pytest

from auth_svc.bootstrap import build
from auth_svc.config import AuthSettings
from tollgate_devstack.testing import temp_database
from tollgate_kit.service import main


async def run_module(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "auth_svc",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


async def test_migrate_creates_the_schema() -> None:
    async with temp_database("auth_main") as dsn:
        code, output = await run_module("migrate", env={"AUTH_DATABASE_URL": dsn})
        assert code == 0, output
        conn = await asyncpg.connect(dsn)
        try:
            tables = {
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = $1", "public"
                )
            }
        finally:
            await conn.close()
    assert {"users", "outbox", "email_verification_tokens", "alembic_version"} <= tables
    assert '"msg": "migrated"' in output


def test_unknown_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main("auth_svc", AuthSettings, build, ["frobnicate"]) == 2
    assert "usage: python -m auth_svc [serve|migrate]" in capsys.readouterr().err
