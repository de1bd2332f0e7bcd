"""Mutual TLS between services: no certificate, a certificate of another CA, a service the
policy does not name, or a server that is not the one asked for — each is refused."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tollgate_devstack.dev_ca import TlsFiles, ensure_dev_ca
from tollgate_devstack.testing import free_port
from tollgate_kit.mtls import CallerPolicy, ServiceTls, channel_target, open_channel
from tollgate_kit.server import GrpcApp, serve

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import slow_service  # noqa: E402
from test_server_runner import serving  # noqa: E402

SLEEP = f"/{slow_service.SERVICE}/Sleep"


def _tls(files: TlsFiles) -> ServiceTls:
    tls = ServiceTls.load(files.ca, files.cert, files.key)
    assert tls is not None
    return tls


def _app(tmp_path: Path, *, tls: bool = True, reflection: bool = False) -> GrpcApp:
    app = slow_service.build(free_port(), free_port())
    update: dict[str, object] = {"grpc_reflection": reflection}
    if tls:
        files = ensure_dev_ca(tmp_path / "ca", ["slow"])["slow"]
        update |= {"tls_ca_file": files.ca, "tls_cert_file": files.cert, "tls_key_file": files.key}
    return dataclasses.replace(
        app,
        settings=app.settings.model_copy(update=update),
        callers={slow_service.SERVICE: ("auth",)},
    )


@asynccontextmanager
async def serving_tls(app: GrpcApp) -> AsyncIterator[str]:
    """``app`` served with mutual TLS; yields its address once it answers."""
    address = f"127.0.0.1:{app.settings.grpc_port}"
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    try:
        ca_dir = Path(str(app.settings.tls_ca_file)).parent
        async with open_channel(
            address, _tls(ensure_dev_ca(ca_dir, ["auth"])["auth"]), "slow"
        ) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=15, wait_for_ready=True)
        yield address
    finally:
        stop.set()
        await task


async def _call(address: str, tls: ServiceTls | None, server_name: str = "slow") -> bytes:
    async with open_channel(address, tls, server_name) as channel:
        reply: bytes = await channel.unary_unary(SLEEP)(b"1", timeout=5)
        return reply


async def test_a_named_caller_gets_through_and_others_are_refused(tmp_path: Path) -> None:
    app = _app(tmp_path)
    certs = ensure_dev_ca(tmp_path / "ca", ["auth", "gateway"])
    async with serving_tls(app) as address:
        assert await _call(address, _tls(certs["auth"])) == b"1"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(address, _tls(certs["gateway"]))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "gateway may not call" in (refused.value.details() or "")
        # Health is open to every verified peer (the gateway's readiness check).
        async with open_channel(address, _tls(certs["gateway"]), "slow") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_caller_without_a_certificate_is_refused(tmp_path: Path) -> None:
    async with serving_tls(_app(tmp_path)) as address:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(address, None)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_from_another_ca_is_refused(tmp_path: Path) -> None:
    rogue = ensure_dev_ca(tmp_path / "rogue", ["auth"])["auth"]  # the right name, wrong CA
    async with serving_tls(_app(tmp_path)) as address:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(address, _tls(rogue))
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_client_refuses_a_server_that_is_not_the_one_it_asked_for(
    tmp_path: Path,
) -> None:
    auth = ensure_dev_ca(tmp_path / "ca", ["auth"])["auth"]
    async with serving_tls(_app(tmp_path)) as address:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(address, _tls(auth), server_name="email")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def _reflection_status(channel: grpc.aio.Channel) -> grpc.StatusCode:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    try:
        async for _ in call:
            break
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


async def test_reflection_is_off_unless_configured_on(tmp_path: Path) -> None:
    async with serving(_app(tmp_path, tls=False)) as channel:
        assert await _reflection_status(channel) == grpc.StatusCode.UNIMPLEMENTED
    async with serving(_app(tmp_path, tls=False, reflection=True)) as channel:
        assert await _reflection_status(channel) == grpc.StatusCode.OK


def test_the_policy_names_methods_before_services() -> None:
    policy = CallerPolicy(
        {"pkg.Service": ("gateway",), "/pkg.Service/Keys": ("gateway", "billing")}
    )
    assert policy.allowed("/pkg.Service/Login") == frozenset({"gateway"})
    assert policy.allowed("/pkg.Service/Keys") == frozenset({"gateway", "billing"})
    assert policy.allowed("/other.Service/Any") == frozenset()
    assert policy.allowed("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") == (
        frozenset()
    )
    assert policy.allowed("/grpc.health.v1.Health/Check") is None


def test_tls_settings_come_in_threes(tmp_path: Path) -> None:
    files = ensure_dev_ca(tmp_path, ["auth"])["auth"]
    assert ServiceTls.load(None, None, None) is None
    with pytest.raises(ValueError, match="TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE"):
        ServiceTls.load(files.ca, files.cert, None)


@pytest.mark.parametrize(
    ("address", "target"),
    [
        ("auth:50051", "auth:50051"),
        ("10.0.0.5:50051,10.0.0.6:50051", "ipv4:10.0.0.5:50051,10.0.0.6:50051"),
        ("[::1]:1, [::2]:1", "ipv6:[::1]:1,[::2]:1"),
        ("10.0.0.5:50051,", "10.0.0.5:50051"),
    ],
)
def test_a_list_of_replicas_is_a_static_grpc_target(address: str, target: str) -> None:
    assert channel_target(address) == target
