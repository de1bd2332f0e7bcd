"""Fixtures of email-svc's tests: a migrated temp database, mail catchers (in-process and as
a real process), SMTP servers that misbehave, and the service running in-process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from grpc_health.v1 import health_pb2, health_pb2_grpc

from email_svc.bootstrap import build
from email_svc.config import EmailSettings
from tollgate.email.v1 import email_pb2_grpc
from tollgate_devstack.mailcatcher import MailCatcher
from tollgate_devstack.mailcatcher.client import MailpitClient
from tollgate_devstack.testing import free_port, temp_database
from tollgate_kit.db import migrations_dir, upgrade
from tollgate_kit.server import GrpcApp, serve


@pytest.fixture
async def email_dsn() -> AsyncIterator[str]:
    async with temp_database("email") as dsn:
        await upgrade(dsn, migrations_dir("email_svc"))
        yield dsn


@pytest.fixture
async def db(email_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(email_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def catcher() -> AsyncIterator[MailCatcher]:
    async with MailCatcher(smtp_port=0, http_port=0) as running:
        yield running


@pytest.fixture
async def mail(catcher: MailCatcher) -> AsyncIterator[MailpitClient]:
    async with MailpitClient(catcher.http_url) as client:
        yield client


class CatcherProcess:
    """``python -m tollgate_devstack.mailcatcher`` on fixed ports, stoppable and restartable."""

    def __init__(self, log_path: Path) -> None:
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self._log_path.open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tollgate_devstack.mailcatcher",
                    "--host",
                    "127.0.0.1",
                    "--smtp-port",
                    str(self.smtp_port),
                    "--http-port",
                    str(self.http_port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        self._proc = self._spawn()
        async with MailpitClient(self.url) as client:
            await client.wait_until_ready()

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=15)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._proc = None


@pytest.fixture
async def catcher_process(tmp_path: Path) -> AsyncIterator[CatcherProcess]:
    process = CatcherProcess(tmp_path / "mailcatcher.log")
    await process.start()
    try:
        yield process
    finally:
        process.stop()


@dataclass
class RunningService:
    settings: EmailSettings
    app: GrpcApp
    stub: email_pb2_grpc.EmailServiceAsyncStub


async def wait_serving(channel: grpc.aio.Channel, within: float = 15.0) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + within
    while True:
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.05)


def service_settings(dsn: str, smtp_port: int, **overrides: Any) -> EmailSettings:
    values: dict[str, Any] = {
        "grpc_host": "127.0.0.1",
        "grpc_port": free_port(),
        "http_host": "127.0.0.1",
        "http_port": free_port(),
        "database_url": dsn,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_timeout_seconds": 3.0,
        "shutdown_grace_seconds": 2.0,
        **overrides,
    }
    return EmailSettings(**values)


@asynccontextmanager
async def run_email_service(
    dsn: str, smtp_port: int, **overrides: Any
) -> AsyncIterator[RunningService]:
    """email-svc served by ``tollgate_kit.server.serve`` in this event loop."""
    settings = service_settings(dsn, smtp_port, **overrides)
    app = await build(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{settings.grpc_port}") as channel:
            await wait_serving(channel)
            yield RunningService(settings, app, email_pb2_grpc.EmailServiceStub(channel))
    finally:
        stop.set()
        await task


EmailServiceFactory = Callable[..., AbstractAsyncContextManager[RunningService]]


@pytest.fixture
def email_service_factory(email_dsn: str) -> EmailServiceFactory:
    def factory(smtp_port: int, **overrides: Any) -> AbstractAsyncContextManager[RunningService]:
        return run_email_service(email_dsn, smtp_port, **overrides)

    return factory


@pytest.fixture
async def email_service(
    email_service_factory: EmailServiceFactory, catcher: MailCatcher
) -> AsyncIterator[RunningService]:
    async with email_service_factory(catcher.smtp_port) as running:
        yield running


class _Refusing:
    """aiosmtpd handler that answers RCPT TO with a fixed reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        return self.reply


@asynccontextmanager
async def refusing_smtp_server(reply: str) -> AsyncIterator[int]:
    """An SMTP server that refuses every recipient with ``reply``; yields its port."""
    async with smtp_server(lambda: SMTP(_Refusing(reply), hostname="refusing.test")) as port:
        yield port


@asynccontextmanager
async def smtp_server(session: Callable[[], SMTP]) -> AsyncIterator[int]:
    """An aiosmtpd server in this event loop, one ``session()`` per connection; yields its
    port and closes every connection on exit."""
    loop = asyncio.get_running_loop()
    sessions: list[SMTP] = []

    def protocol() -> SMTP:
        sessions.append(session())
        return sessions[-1]

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for session in sessions:
            if session.transport is not None:
                session.transport.close()
        await server.wait_closed()
        await asyncio.sleep(0)


@asynccontextmanager
async def silent_smtp_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never says a word (a hung mail server)."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


@pytest.fixture
def refusing_smtp() -> Callable[[str], AbstractAsyncContextManager[int]]:
    return refusing_smtp_server


@pytest.fixture
def serve_smtp() -> Callable[[Callable[[], SMTP]], AbstractAsyncContextManager[int]]:
    return smtp_server


@pytest.fixture
async def silent_smtp_port() -> AsyncIterator[int]:
    async with silent_smtp_server() as port:
        yield port
