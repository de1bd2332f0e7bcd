"""Gateway test fixtures: a signing key, in-process gRPC test doubles of auth-svc and
billing-svc, real Redis under a temporary key prefix, and the real gateway app on top
(httpx over ASGI, with the app's lifespan running)."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import grpc_tools  # type: ignore[import-untyped]
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.api import annotations_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_tools import protoc
from starlette.applications import Starlette

from gateway.backends import Backend
from gateway.bootstrap import build_app
from gateway.config import GatewaySettings
from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_devstack.testing import temp_redis_prefix
from tollgate_kit.ended_sessions import ensure_epoch
from tollgate_kit.errors import StatusError
from tollgate_kit.redis_client import RedisClient, create_redis
from tollgate_kit.tokens import session_key

ISSUER, AUDIENCE, KID = "tollgate-auth", "tollgate", "test-key-1"


class Keys:
    """An Ed25519 signing key, published by the auth double's GetJwks."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()

    def jwk(self) -> auth_pb2.Jwk:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return auth_pb2.Jwk(kty="OKP", crv="Ed25519", x=x, kid=KID, alg="EdDSA", use="sig")

    def sign(self, *, kid: str = KID, key: Ed25519PrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "sid": uuid.uuid4().hex,
            "token_use": "access",
        }
        payload.update(claims)
        return jwt.encode(payload, key or self.private, algorithm="EdDSA", headers={"kid": kid})


@dataclass
class Recorded:
    """What the test doubles saw: requests and their metadata, by method name."""

    requests: dict[str, list[Any]] = field(default_factory=dict)
    metadata: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self.requests.setdefault(method, []).append(request)
        self.metadata.setdefault(method, []).append(dict(context.invocation_metadata() or ()))


async def _fail(context: grpc.aio.ServicerContext[Any, Any], error: StatusError) -> Any:
    await context.abort(error.code, error.message, error.trailing_metadata())


def _user(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            token = str(value).split(" ", 1)[1]
            return str(jwt.decode(token, options={"verify_signature": False})["sub"])
    return ""


class FakeAuth(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, keys: Keys, recorded: Recorded) -> None:
        self.keys, self.recorded = keys, recorded

    async def GetJwks(self, request: Any, context: Any) -> auth_pb2.GetJwksResponse:
        self.recorded.add("GetJwks", request, context)
        return auth_pb2.GetJwksResponse(keys=[self.keys.jwk()])

    async def Register(self, request: Any, context: Any) -> auth_pb2.RegisterResponse:
        self.recorded.add("Register", request, context)
        if request.email == "taken@example.com":
            return await _fail(
                context,
                StatusError(grpc.StatusCode.ALREADY_EXISTS, "email taken", reason="EMAIL_TAKEN"),
            )
        return auth_pb2.RegisterResponse(
            user_id="user-new", email=request.email, account_state=auth_pb2.AccountState.ACTIVE
        )

    async def Login(self, request: Any, context: Any) -> auth_pb2.LoginResponse:
        self.recorded.add("Login", request, context)
        token = self.keys.sign(sub="user-login")
        return auth_pb2.LoginResponse(
            access_token=token, refresh_token="r", token_type="Bearer", expires_in=900
        )

    async def CloseAccount(self, request: Any, context: Any) -> auth_pb2.CloseAccountResponse:
        """ "slow" plays a closure still running when the call answers (as auth-svc: 202)."""
        self.recorded.add("CloseAccount", request, context)
        if request.password == "slow":
            await context.send_initial_metadata((("x-http-code", "202"),))
            return auth_pb2.CloseAccountResponse(account_state=auth_pb2.AccountState.CLOSING)
        return auth_pb2.CloseAccountResponse(account_state=auth_pb2.AccountState.CLOSED)

    async def Me(self, request: Any, context: Any) -> auth_pb2.MeResponse:
        self.recorded.add("Me", request, context)
        created = Timestamp(seconds=1_700_000_000)
        return auth_pb2.MeResponse(
            user_id=_user(context),
            email="a@example.com",
            email_verified=True,
            created_at=created,
            account_state=auth_pb2.AccountState.ACTIVE,
        )


class FakeBilling(billing_pb2_grpc.BillingServiceServicer):
    def __init__(self, recorded: Recorded) -> None:
        self.recorded = recorded

    async def GetWallet(self, request: Any, context: Any) -> billing_pb2.GetWalletResponse:
        self.recorded.add("GetWallet", request, context)
        await context.send_initial_metadata((("x-backend", "billing"),))
        context.set_trailing_metadata((("x-ledger-version", "7"),))
        return billing_pb2.GetWalletResponse(balance=12345678901234, currency="EUR")

    async def TopUp(self, request: Any, context: Any) -> billing_pb2.TopUpResponse:
        self.recorded.add("TopUp", request, context)
        tx = billing_pb2.Transaction(
            id="tx-1", amount=request.amount, kind=billing_pb2.Transaction.TOP_UP, currency="EUR"
        )
        return billing_pb2.TopUpResponse(transaction=tx, balance=request.amount)

    async def Charge(self, request: Any, context: Any) -> billing_pb2.ChargeResponse:
        self.recorded.add("Charge", request, context)
        if request.description == "slow":
            await asyncio.sleep(5)
        if request.description == "boom":
            raise RuntimeError("SELECT secret FROM wallets -- must never leak")
        if request.amount > 1000:
            return await _fail(
                context,
                StatusError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "insufficient funds",
                    reason="INSUFFICIENT_FUNDS",
                    metadata={"balance": "1000"},
                ),
            )
        tx = billing_pb2.Transaction(
            id="ch-1",
            amount=-request.amount,
            kind=billing_pb2.Transaction.CHARGE,
            description=request.description,
            currency="EUR",
        )
        return billing_pb2.ChargeResponse(transaction=tx, balance=1000 - request.amount)

    async def Refund(self, request: Any, context: Any) -> billing_pb2.RefundResponse:
        self.recorded.add("Refund", request, context)
        tx = billing_pb2.Transaction(
            id="rf-1",
            amount=request.amount,
            kind=billing_pb2.Transaction.REFUND,
            refund_of=request.charge_id,
            currency="EUR",
        )
        return billing_pb2.RefundResponse(transaction=tx, balance=request.amount)

    async def ListTransactions(
        self, request: Any, context: Any
    ) -> billing_pb2.ListTransactionsResponse:
        self.recorded.add("ListTransactions", request, context)
        txs = [billing_pb2.Transaction(id=f"tx-{i}", amount=i) for i in range(request.page_size)]
        return billing_pb2.ListTransactionsResponse(transactions=txs, next_page_token="next")


@dataclass
class Backends:
    address: str
    server: grpc.aio.Server
    recorded: Recorded


async def start_server(register: Callable[[grpc.aio.Server], None]) -> tuple[grpc.aio.Server, str]:
    """A grpc.aio server on a free port with the standard health service (SERVING)."""
    server = grpc.aio.server()
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server, f"127.0.0.1:{port}"


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
async def backends(keys: Keys) -> AsyncIterator[Backends]:
    recorded = Recorded()

    def register(server: grpc.aio.Server) -> None:
        auth_pb2_grpc.add_AuthServiceServicer_to_server(FakeAuth(keys, recorded), server)
        billing_pb2_grpc.add_BillingServiceServicer_to_server(FakeBilling(recorded), server)

    server, address = await start_server(register)
    try:
        yield Backends(address, server, recorded)
    finally:
        await server.stop(None)


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    async with temp_redis_prefix("gw", redis_url) as prefix:
        yield prefix


@pytest.fixture
async def redis(redis_prefix: str, redis_url: str) -> AsyncIterator[RedisClient]:
    client = create_redis(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@dataclass
class Session:
    token: str
    session_id: str
    user: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def open_session(
    keys: Keys, redis: RedisClient, redis_prefix: str
) -> Callable[..., Awaitable[Session]]:
    """Signs an access token and opens its session in Redis, as auth-svc would."""

    async def open_(user: str = "user-1", **claims: Any) -> Session:
        # auth-svc makes sure the ended-sessions epoch exists before a session does, or a
        # gateway started later would take the session for one a Redis restart lost.
        await ensure_epoch(redis, redis_prefix)
        session_id = uuid.uuid4().hex
        await redis.hset(session_key(redis_prefix, session_id), mapping={"user_id": user})
        token = keys.sign(sub=user, sid=session_id, **claims)
        return Session(token, session_id, user)

    return open_


GatewayFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def gateway_factory(backends: Backends, redis_prefix: str, redis_url: str) -> GatewayFactory:
    """Builds the gateway with settings overrides; yields an httpx client talking to it."""

    @asynccontextmanager
    async def make(
        *, backend_list: list[Backend] | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        settings = GatewaySettings(
            **{
                "auth_addr": backends.address,
                "billing_addr": backends.address,
                "redis_url": redis_url,
                "redis_key_prefix": redis_prefix,
                "rate_limit_per_minute": 100_000,
                "rate_limit_burst": 10_000,
                "login_rate_limit_per_minute": 100_000,
                "login_rate_limit_burst": 10_000,
                "workers": 1,
                **overrides,
            }
        )
        app = build_app(settings, backends=backend_list)
        async with gateway_client(app) as client:
            yield client

    return make


@asynccontextmanager
async def gateway_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gateway") as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_factory() as client:
        yield client


_TEST_PROTOS = Path(__file__).resolve().parent / "protos"
_ECHO_PROTO = "tollgate/testing/v1/echo.proto"


@pytest.fixture(scope="session")
def echo_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """``tollgate.testing.v1.echo_pb2``, generated from tests/protos into a temp dir."""
    out = tmp_path_factory.mktemp("echo_proto")
    googleapis_root = Path(annotations_pb2.__file__).parents[2]
    well_known_root = Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main(
        [
            "protoc",
            f"-I{_TEST_PROTOS}",
            f"-I{googleapis_root}",
            f"-I{well_known_root}",
            f"--python_out={out}",
            _ECHO_PROTO,
        ]
    )
    if status != 0:
        pytest.fail(f"protoc failed on {_ECHO_PROTO} ({status})")
    spec = importlib.util.spec_from_file_location(
        "tollgate_testing_echo_pb2", out / _ECHO_PROTO.replace(".proto", "_pb2.py")
    )
    if spec is None or spec.loader is None:
        pytest.fail("cannot load the generated echo_pb2")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
