"""Callers inside the suite are authenticated (mutual TLS with the devstack's CA): a process
without a certificate, with one of another CA, or a service the policy does not name is
refused — only auth-svc may send mail, only the gateway may log users in."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest

from tollgate.auth.v1 import auth_pb2, auth_pb2_grpc
from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_devstack.dev_ca import ensure_dev_ca
from tollgate_devstack.stack import Stack
from tollgate_kit.mtls import ServiceTls, open_channel

pytestmark = pytest.mark.e2e


def _mail() -> email_pb2.SendEmailRequest:
    return email_pb2.SendEmailRequest(
        message_id=f"e2e-identity-{uuid.uuid4().hex}",
        to="victim@example.com",
        template="verify_email",
        params={"verification_url": "https://evil.example/app/verify-email?token=x"},
    )


async def _send_as(channel: grpc.aio.Channel) -> grpc.StatusCode:
    try:
        await email_pb2_grpc.EmailServiceStub(channel).SendEmail(_mail(), timeout=10)
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


async def test_only_auth_svc_may_send_mail(stack: Stack, tmp_path: Path) -> None:
    # No certificate at all: the handshake fails.
    async with grpc.aio.insecure_channel(stack.grpc_addr("email")) as plaintext:
        assert await _send_as(plaintext) == grpc.StatusCode.UNAVAILABLE
    # A certificate naming "auth", from a CA the suite does not trust.
    rogue_files = ensure_dev_ca(tmp_path / "rogue", ["auth"])["auth"]
    rogue = ServiceTls.load(rogue_files.ca, rogue_files.cert, rogue_files.key)
    async with open_channel(stack.grpc_addr("email"), rogue, "email") as channel:
        assert await _send_as(channel) == grpc.StatusCode.UNAVAILABLE
    # Real services of the suite that have no business sending mail.
    for caller in ("gateway", "billing"):
        async with stack.grpc_channel("email", caller=caller) as channel:
            assert await _send_as(channel) == grpc.StatusCode.PERMISSION_DENIED, caller


async def test_only_the_gateway_may_log_users_in(stack: Stack) -> None:
    login = auth_pb2.LoginRequest(email="nobody@example.com", password="x" * 12)
    async with stack.grpc_channel("auth", caller="billing") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Login(login, timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # What billing-svc does need from auth-svc: the keys that verify access tokens.
        jwks = await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=10)
        assert len(jwks.keys) >= 1
    async with stack.grpc_channel("auth", caller="gateway") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await auth_pb2_grpc.AuthServiceStub(channel).Login(login, timeout=10)
        assert unknown.value.code() == grpc.StatusCode.UNAUTHENTICATED
