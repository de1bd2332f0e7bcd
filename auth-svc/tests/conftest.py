"""Fixtures of auth-svc's tests: a migrated temporary database, a Redis key prefix, an
in-process email-svc double, and the real auth-svc served on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families

from auth_svc.bootstrap import build
from auth_svc.config import AuthSettings
from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_devstack.testing import (
    free_port,
    redis_server_url,
    temp_database,
    temp_redis_prefix,
)
from tollgate_kit.db import migrations_dir, upgrade
from tollgate_kit.errors import StatusError
from tollgate_kit.logs import configure_logging
from tollgate_kit.server import serve

TEST_BCRYPT_COST = 4
PASSWORD = "correct horse battery"


# --- waiting ---------------------------------------------------------------------------


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], within: float = 5.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def eventually() -> Callable[..., Awaitable[None]]:
    return wait_for


# --- PostgreSQL and Redis ----------------------------------------------------------------


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with temp_database("auth") as dsn:
        await upgrade(dsn, migrations_dir("auth_svc"))
        yield dsn


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    """A direct connection to the test database, for arranging and inspecting rows."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    async with temp_redis_prefix("auth", redis_url) as prefix:
        yield prefix


# --- email-svc double --------------------------------------------------------------------


class RecordingEmailService(email_pb2_grpc.EmailServiceServicer):
    """Stands in for email-svc: records every SendEmail and answers with the scripted
    failures first. It does not deduplicate, so a double delivery shows up in ``sent``."""

    def __init__(self) -> None:
        self.attempts: list[email_pb2.SendEmailRequest] = []
        self.metadata: list[dict[str, str]] = []
        self.sent: list[email_pb2.SendEmailRequest] = []
        self.failures: list[grpc.StatusCode] = []
        self.delay = 0.0

    async def SendEmail(
        self, request: email_pb2.SendEmailRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> email_pb2.SendEmailResponse:
        self.attempts.append(request)
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        if self.failures:
            await context.abort(self.failures.pop(0), "simulated failure")
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent.append(request)
        return email_pb2.SendEmailResponse(message_id=request.message_id)


@dataclass
class EmailDouble:
    address: str
    service: RecordingEmailService


@contextlib.asynccontextmanager
async def serving_double(
    port: int, add: Callable[[Any, grpc.aio.Server], None], service: Any
) -> AsyncIterator[str]:
    """Serve a double on 127.0.0.1:``port`` for the block; yields its address."""
    server = grpc.aio.server()
    add(service, server)
    address = f"127.0.0.1:{port}"
    server.add_insecure_port(address)
    await server.start()
    try:
        yield address
    finally:
        await server.stop(None)


@contextlib.asynccontextmanager
async def email_double_on(port: int) -> AsyncIterator[EmailDouble]:
    service = RecordingEmailService()
    add = email_pb2_grpc.add_EmailServiceServicer_to_server
    async with serving_double(port, add, service) as address:
        yield EmailDouble(address=address, service=service)


@pytest.fixture
def email_double_factory() -> Callable[[int], contextlib.AbstractAsyncContextManager[EmailDouble]]:
    """Starts an email-svc double on a given port (e.g. one auth-svc already points at)."""
    return email_double_on


@pytest.fixture
async def email_double() -> AsyncIterator[EmailDouble]:
    async with email_double_on(free_port()) as double:
        yield double


# --- billing-svc double ------------------------------------------------------------------


async def refuse(context: grpc.aio.ServicerContext[Any, Any], reason: str) -> None:
    """Answer FAILED_PRECONDITION with an ErrorInfo ``reason``, as billing-svc does."""
    error = StatusError(grpc.StatusCode.FAILED_PRECONDITION, reason.lower(), reason=reason)
    await context.abort(error.code, error.message, trailing_metadata=error.trailing_metadata())


class RecordingWalletService(billing_pb2_grpc.WalletLifecycleServiceServicer):
    """Stands in for billing-svc's internal wallet service: records every call, keeps each
    user's wallet state and balance, and answers with the scripted failures first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.state: dict[str, str] = {}
        self.balance: dict[str, int] = {}
        self.failures: list[grpc.StatusCode] = []

    async def _fail_if_scripted(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        if self.failures:
            await context.abort(self.failures.pop(0), "simulated failure")

    async def OpenWallet(
        self, request: billing_pb2.OpenWalletRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> billing_pb2.OpenWalletResponse:
        await self._fail_if_scripted(context)
        self.calls.append(("open", request.user_id))
        if self.state.get(request.user_id) == "closed":
            await refuse(context, "WALLET_CLOSED")
        self.state[request.user_id] = "open"
        return billing_pb2.OpenWalletResponse(balance=self.balance.get(request.user_id, 0))

    async def CloseWallet(
        self, request: billing_pb2.CloseWalletRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> billing_pb2.CloseWalletResponse:
        await self._fail_if_scripted(context)
        self.calls.append(("check" if request.validate_only else "close", request.user_id))
        if self.balance.get(request.user_id, 0):
            await refuse(context, "WALLET_NOT_EMPTY")
        if not request.validate_only:
            self.state[request.user_id] = "closed"
        return billing_pb2.CloseWalletResponse()

    async def ReopenWallet(
        self, request: billing_pb2.ReopenWalletRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> billing_pb2.ReopenWalletResponse:
        await self._fail_if_scripted(context)
        self.calls.append(("reopen", request.user_id))
        self.state[request.user_id] = "open"
        return billing_pb2.ReopenWalletResponse()


@dataclass
class BillingDouble:
    address: str
    service: RecordingWalletService


@pytest.fixture
async def billing_double() -> AsyncIterator[BillingDouble]:
    service = RecordingWalletService()
    add = billing_pb2_grpc.add_WalletLifecycleServiceServicer_to_server
    async with serving_double(free_port(), add, service) as address:
        yield BillingDouble(address=address, service=service)


# --- auth-svc ----------------------------------------------------------------------------


@dataclass
class RunningAuth:
    settings: AuthSettings
    stub: auth_pb2_grpc.AuthServiceAsyncStub
    channel: grpc.aio.Channel
    metrics_url: str
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by a test that takes the database away: the relay fails while it is gone.
    relay_errors_expected: bool = False

    async def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's value from the service's /metrics endpoint (0 when absent)."""
        async with httpx.AsyncClient() as client:
            response = await client.get(self.metrics_url)
        response.raise_for_status()
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and sample.labels == (labels or {}):
                    return float(sample.value)
        return 0.0

    async def register(self, email: str, password: str = PASSWORD) -> auth_pb2.RegisterResponse:
        return await self.stub.Register(auth_pb2.RegisterRequest(email=email, password=password))

    async def login(self, email: str, password: str = PASSWORD) -> auth_pb2.LoginResponse:
        return await self.stub.Login(auth_pb2.LoginRequest(email=email, password=password))


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def auth_metadata() -> Callable[[str], tuple[tuple[str, str], ...]]:
    return bearer


def make_settings(database_url: str, redis_prefix: str, **overrides: Any) -> AuthSettings:
    values: dict[str, Any] = {
        "grpc_host": "127.0.0.1",
        "grpc_port": free_port(),
        "http_host": "127.0.0.1",
        "http_port": free_port(),
        "database_url": database_url,
        "database_pool_size": 5,
        "redis_url": redis_server_url(),
        "redis_key_prefix": redis_prefix,
        "bcrypt_cost": TEST_BCRYPT_COST,
        "public_url": "http://tollgate.test",
        "login_rate_limit": 1000,
        "outbox_poll_seconds": 0.2,
        "outbox_backoff_base_seconds": 0.05,
        "outbox_backoff_max_seconds": 0.2,
        "outbox_send_timeout_seconds": 2.0,
        "outbox_lease_seconds": 5.0,
        "shutdown_grace_seconds": 1.0,
        "email_verification_ttl": timedelta(hours=48),
        "saga_poll_seconds": 0.2,
        "saga_backoff_base_seconds": 0.05,
        "saga_backoff_max_seconds": 0.2,
        "saga_lease_seconds": 5.0,
        "saga_step_timeout_seconds": 3.0,
        "billing_timeout_seconds": 1.0,
    }
    values.update(overrides)
    return AuthSettings(**values)


@contextlib.asynccontextmanager
async def running(
    settings: AuthSettings, tracer_provider: TracerProvider | None = None
) -> AsyncIterator[RunningAuth]:
    """auth-svc built by its real bootstrap and served by the kit's runner, in-process."""
    app = await build(settings, tracer_provider=tracer_provider)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    metrics_url = f"http://127.0.0.1:{settings.http_port}/metrics"
    channel: grpc.aio.Channel | None = None
    try:
        # The ops port opens after the gRPC server has started, so once it answers the
        # channel connects at the first try (a refused first try costs a 1 s backoff).
        async def ops_up() -> bool:
            if task.done():
                task.result()  # surfaces a startup failure
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(metrics_url)).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(ops_up, within=10, what="auth-svc to start")
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{settings.grpc_port}")
        await asyncio.wait_for(channel.channel_ready(), timeout=10)
        instance = RunningAuth(
            settings=settings,
            stub=auth_pb2_grpc.AuthServiceStub(channel),
            channel=channel,
            metrics_url=metrics_url,
        )
        yield instance
        # The relay logs and survives its own failures; a test must not hide one.
        if not instance.relay_errors_expected:
            assert await instance.metric("auth_outbox_relay_errors_total") == 0
    finally:
        if channel is not None:
            await channel.close(grace=None)
        stop.set()
        await task


@pytest.fixture
def settings_for(
    database_url: str,
    redis_prefix: str,
    redis_url: str,
    tmp_path: Path,
    email_double: EmailDouble,
    billing_double: BillingDouble,
) -> Callable[..., AuthSettings]:
    """Settings of a test instance; keyword arguments override single fields."""

    def factory(**overrides: Any) -> AuthSettings:
        overrides.setdefault("keys_dir", tmp_path / "keys")
        overrides.setdefault("email_addr", email_double.address)
        overrides.setdefault("billing_addr", billing_double.address)
        overrides.setdefault("redis_url", redis_url)
        return make_settings(overrides.pop("database_url", database_url), redis_prefix, **overrides)

    return factory


@pytest.fixture
def start_auth() -> Callable[[AuthSettings], contextlib.AbstractAsyncContextManager[RunningAuth]]:
    return running


@pytest.fixture
async def auth(settings_for: Callable[..., AuthSettings]) -> AsyncIterator[RunningAuth]:
    async with running(settings_for()) as instance:
        yield instance


# --- logs --------------------------------------------------------------------------------


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Logging configured as in production (JSON lines on stdout); call the result for what
    has been logged so far."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("auth-svc", "DEBUG")
    capsys.readouterr()
    try:
        yield lambda: capsys.readouterr().out
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
