"""``python -m email_svc`` as a real process: migrate, serve, SIGKILL mid-send, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import grpc
import pytest

from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_devstack.mailcatcher import MailCatcher
from tollgate_devstack.testing import free_port, temp_database

pytestmark = pytest.mark.integration


def _env(dsn: str, grpc_port: int, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "EMAIL_DATABASE_URL": dsn,
        "EMAIL_GRPC_HOST": "127.0.0.1",
        "EMAIL_GRPC_PORT": str(grpc_port),
        "EMAIL_HTTP_HOST": "127.0.0.1",
        "EMAIL_HTTP_PORT": str(free_port()),
        "EMAIL_SMTP_HOST": "127.0.0.1",
        "EMAIL_SMTP_PORT": str(smtp_port),
        "EMAIL_SMTP_TIMEOUT_SECONDS": "30",
        "EMAIL_SEND_LEASE_SECONDS": "120",
        "OTEL_SDK_DISABLED": "true",
    }


# Reconnect quickly while the process is still starting (gRPC's default backoff is 1 s+).
_FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 200),
]


@contextmanager
def _email_svc(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "email_svc"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def _sending_sessions(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval(
        """SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'idle in transaction'"""
    )
    return count


async def test_sigkill_mid_send_then_restart_sends_exactly_once_without_waiting_for_a_lease(
    tmp_path: Path, silent_smtp_port: int
) -> None:
    log_path = tmp_path / "email-svc.log"
    message_id = "outbox-1"
    request = email_pb2.SendEmailRequest(
        message_id=message_id,
        to="alice@example.com",
        template="welcome",
        params={"verification_url": "https://tollgate.test/verify?token=t"},
    )
    async with temp_database("email") as dsn:
        grpc_port = free_port()
        migrate = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "email_svc", "migrate"],
            env=_env(dsn, grpc_port, silent_smtp_port),
            capture_output=True,
            timeout=120,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr

        db = await asyncpg.connect(dsn)
        try:
            # 1. email-svc hangs in SMTP (the server never answers) and is SIGKILLed.
            with _email_svc(_env(dsn, grpc_port, silent_smtp_port), log_path) as proc:
                async with grpc.aio.insecure_channel(
                    f"127.0.0.1:{grpc_port}", options=_FAST_RECONNECT
                ) as channel:
                    await asyncio.wait_for(channel.channel_ready(), 30)
                    stub = email_pb2_grpc.EmailServiceStub(channel)
                    call = asyncio.ensure_future(stub.SendEmail(request, timeout=60))
                    deadline = time.monotonic() + 15
                    while await _sending_sessions(db) == 0:
                        assert time.monotonic() < deadline, "the send never started"
                        await asyncio.sleep(0.05)
                    proc.send_signal(signal.SIGKILL)
                    with pytest.raises(grpc.aio.AioRpcError):
                        await call
            assert (
                await db.fetchval("SELECT state FROM email_sends WHERE message_id = $1", message_id)
                == "pending"
            )

            # 2. A new process with a working SMTP server sends it at once, exactly once.
            async with MailCatcher(smtp_port=0, http_port=0) as catcher:
                env = _env(dsn, grpc_port, catcher.smtp_port)
                with _email_svc(env, log_path) as proc:
                    async with grpc.aio.insecure_channel(
                        f"127.0.0.1:{grpc_port}", options=_FAST_RECONNECT
                    ) as channel:
                        await asyncio.wait_for(channel.channel_ready(), 30)
                        stub = email_pb2_grpc.EmailServiceStub(channel)
                        started = time.monotonic()
                        first = await stub.SendEmail(request, timeout=10)
                        elapsed = time.monotonic() - started
                        again = await stub.SendEmail(request, timeout=10)
                    proc.send_signal(signal.SIGTERM)
                    assert proc.wait(timeout=20) == 0
                assert (first.duplicate, again.duplicate) == (False, True)
                assert elapsed < 30  # far below the 120 s lease: the killed session freed the id
                assert [m.message_id for m in catcher.messages()] == [
                    f"{message_id}@tollgate.local"
                ]
        finally:
            await db.close()
    assert '"msg": "service_stopped"' in log_path.read_text()
