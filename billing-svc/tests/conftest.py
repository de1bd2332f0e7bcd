"""Shared fixtures of billing-svc's tests.

Integration tests run the real service (``tollgate_kit.server.serve``) on free ports against a
real PostgreSQL database (migrated once per session) and a real Redis, and call it over a real
gRPC channel. Auth is real too: a tiny AuthService answers ``GetJwks`` with a test Ed25519 key,
tokens are minted with PyJWT, and sessions are written to Redis where auth-svc would put them.
After every test that used the service, the ledger invariants are checked over all wallets.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from billing_svc.bootstrap import build
from billing_svc.config import BillingSettings
from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_devstack.testing import (
    free_port,
    postgres_server_url,
    redis_server_url,
    temp_redis_prefix,
    unique_name,
)
from tollgate_kit.db import drop_database, migrations_dir, upgrade, with_database
from tollgate_kit.server import serve
from tollgate_kit.tokens import session_key

ISSUER = "tollgate-auth"
AUDIENCE = "tollgate"
MAX_AMOUNT = 1_000_000

# Every wallet's balance is the sum of its transactions; every charge's refunded_total is the
# sum of its refunds and never more than the charge; no balance is negative.
LEDGER_VIOLATIONS = """
SELECT 'balance' AS rule, w.user_id, w.balance AS stored, coalesce(sum(t.amount), 0) AS expected
  FROM wallets w
  LEFT JOIN transactions t ON t.user_id = w.user_id AND t.currency = w.currency
 GROUP BY w.user_id, w.currency, w.balance
HAVING w.balance <> coalesce(sum(t.amount), 0) OR w.balance < 0
UNION ALL
SELECT 'refunds', c.user_id, c.refunded_total, coalesce(sum(r.amount), 0)
  FROM transactions c
  LEFT JOIN transactions r ON r.refund_of = c.id
 WHERE c.kind = 'CHARGE'
 GROUP BY c.id, c.user_id, c.refunded_total, c.amount
HAVING c.refunded_total <> coalesce(sum(r.amount), 0) OR c.refunded_total > -c.amount
"""


async def ledger_violations(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(LEDGER_VIOLATIONS))
    finally:
        await conn.close()


@pytest.fixture
def ledger_check() -> Callable[[str], Awaitable[list[asyncpg.Record]]]:
    """The invariant check run after every test that used the service."""
    return ledger_violations


@pytest.fixture(scope="session")
def billing_database() -> Iterator[str]:
    """One migrated database for the session; tests keep apart by using fresh user ids.

    Created and dropped by plain calls, each in its own event loop: an async context manager
    entered in one ``asyncio.run`` is finalised when that loop closes (its database dropped
    at once, then re-created by the migration and never dropped: one leaked per run)."""
    dsn = with_database(postgres_server_url(), unique_name("t_billing"))
    try:
        asyncio.run(upgrade(dsn, migrations_dir("billing_svc")))  # creates the database
        yield dsn
    finally:
        asyncio.run(drop_database(dsn))


@dataclass
class SigningKey:
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")

    def jwk(self) -> auth_pb2.Jwk:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return auth_pb2.Jwk(kty="OKP", kid=self.kid, use="sig", alg="EdDSA", crv="Ed25519", x=x)

    def token(self, user_id: str, session_id: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "sid": session_id,
            "token_use": "access",
        }
        claims.update(overrides)
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey()


class _JwksOnlyAuth(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, key: SigningKey) -> None:
        self._key = key

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.GetJwksResponse:
        return auth_pb2.GetJwksResponse(keys=[self._key.jwk()])


@pytest.fixture
async def auth_addr(signing_key: SigningKey) -> AsyncIterator[str]:
    """A stand-in auth-svc that only publishes the test key's JWKS."""
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(_JwksOnlyAuth(signing_key), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@dataclass
class Billing:
    """The running service and what a test needs to talk to it."""

    stub: billing_pb2_grpc.BillingServiceAsyncStub
    lifecycle: billing_pb2_grpc.WalletLifecycleServiceAsyncStub
    settings: BillingSettings
    redis: Redis
    key: SigningKey
    dsn: str

    async def session(
        self, user_id: str | None = None, *, open_wallet: bool = True
    ) -> tuple[tuple[str, str], ...]:
        """Open a session for ``user_id`` (a fresh user by default, whose wallet is opened as
        sign-up does): call metadata."""
        user_id = user_id or f"user-{uuid.uuid4().hex}"
        if open_wallet:
            await self.lifecycle.OpenWallet(
                billing_pb2.OpenWalletRequest(user_id=user_id, idempotency_key=uuid.uuid4().hex)
            )
        session_id = uuid.uuid4().hex
        await self.redis.hset(
            session_key(self.settings.redis_key_prefix, session_id), mapping={"user_id": user_id}
        )
        return (("authorization", f"Bearer {self.key.token(user_id, session_id)}"),)

    async def funded(self, amount: int) -> tuple[tuple[str, str], ...]:
        """A new user's session with ``amount`` topped up."""
        metadata = await self.session()
        await self.stub.TopUp(
            billing_pb2.TopUpRequest(amount=amount, idempotency_key=uuid.uuid4().hex),
            metadata=metadata,
        )
        return metadata

    async def metric(self, name: str, **labels: str) -> float:
        """A sample of the service's /metrics (0 when absent)."""
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{self.settings.http_port}/metrics")).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line[len(prefix) :])
        return 0.0


BillingFactory = Callable[..., AbstractAsyncContextManager[Billing]]


@pytest.fixture
def billing_factory(
    billing_database: str,
    auth_addr: str,
    signing_key: SigningKey,
    span_exporter: InMemorySpanExporter,
) -> BillingFactory:
    """Starts billing-svc on free ports with settings overrides; the ledger invariants are
    asserted after it stops."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Billing]:
        async with temp_redis_prefix("billing") as prefix:
            settings = BillingSettings(
                **{
                    "grpc_host": "127.0.0.1",
                    "grpc_port": free_port(),
                    "http_host": "127.0.0.1",
                    "http_port": free_port(),
                    "database_url": billing_database,
                    "db_pool_max_size": 20,
                    "redis_url": redis_server_url(),
                    "redis_key_prefix": prefix,
                    "auth_addr": auth_addr,
                    "max_amount": MAX_AMOUNT,
                    "shutdown_grace_seconds": 0.5,
                    **overrides,
                }
            )
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(span_exporter))
            app = await build(settings, tracer_provider=provider)
            stop = asyncio.Event()
            server = asyncio.create_task(serve(app, stop))
            redis = Redis.from_url(redis_server_url())
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{settings.grpc_port}")
            try:
                await asyncio.wait_for(channel.channel_ready(), timeout=10)
                yield Billing(
                    stub=billing_pb2_grpc.BillingServiceStub(channel),
                    lifecycle=billing_pb2_grpc.WalletLifecycleServiceStub(channel),
                    settings=settings,
                    redis=redis,
                    key=signing_key,
                    dsn=billing_database,
                )
            finally:
                await channel.close(None)
                stop.set()
                await server
                await redis.aclose()
                provider.shutdown()
        assert await ledger_violations(billing_database) == []

    return start


@pytest.fixture
async def billing(billing_factory: BillingFactory) -> AsyncIterator[Billing]:
    """billing-svc serving on free ports; the ledger invariants are asserted afterwards."""
    async with billing_factory() as service:
        yield service
