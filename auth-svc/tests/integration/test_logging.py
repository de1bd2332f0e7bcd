"""Logs are JSON lines and never contain a password or a token."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import pytest

from tollgate.auth.v1 import auth_pb2

PASSWORD = "Sup3r-secret-passphrase"


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def test_no_password_or_token_is_ever_logged(
    json_logs: Callable[[], str],
    settings_for: Any,
    start_auth: Any,
    email_double: Any,
    eventually: Any,
) -> None:
    secrets: list[str] = [PASSWORD, "wrong-" + PASSWORD]
    email_double.service.failures[:] = [grpc.StatusCode.UNAVAILABLE]
    async with start_auth(settings_for(login_rate_limit=4)) as auth:
        await auth.register("ann@example.com", PASSWORD)
        with pytest.raises(grpc.aio.AioRpcError):
            await auth.register("ann@example.com", PASSWORD)
        with pytest.raises(grpc.aio.AioRpcError):
            await auth.register("bob@example.com", "x" * 80)
        secrets.append("x" * 80)

        async def mailed() -> bool:
            return bool(email_double.service.sent)

        await eventually(mailed, what="the welcome mail (after one retry)")
        url = email_double.service.sent[0].params["verification_url"]
        [verification] = parse_qs(urlsplit(url).query)["token"]
        secrets.append(verification)
        await auth.stub.VerifyEmail(auth_pb2.VerifyEmailRequest(token=verification))
        with pytest.raises(grpc.aio.AioRpcError):
            await auth.stub.VerifyEmail(auth_pb2.VerifyEmailRequest(token=verification))

        login = await auth.login("ann@example.com", PASSWORD)
        with pytest.raises(grpc.aio.AioRpcError):
            await auth.login("ann@example.com", "wrong-" + PASSWORD)
        rotated = await auth.stub.Refresh(
            auth_pb2.RefreshRequest(refresh_token=login.refresh_token)
        )
        with pytest.raises(grpc.aio.AioRpcError):  # reuse → session revoked
            await auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=login.refresh_token))
        with pytest.raises(grpc.aio.AioRpcError):
            await auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(rotated.access_token))
        for _ in range(3):  # up to and past the rate limit
            with pytest.raises(grpc.aio.AioRpcError):
                await auth.login("ann@example.com", "wrong-" + PASSWORD)
        secrets += [login.access_token, login.refresh_token]
        secrets += [rotated.access_token, rotated.refresh_token]

    output = json_logs()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    events = {line["msg"] for line in lines}
    # The flows above did log, as JSON, through the production configuration.
    assert {"user_registered", "email_verified", "login_succeeded"} <= events
    assert {"refresh_token_reused", "outbox_retry_scheduled", "outbox_delivered"} <= events
    assert all(line["service"] == "auth-svc" for line in lines)
    for secret in secrets:
        assert secret not in output
        # Not even a recognisable piece of a token (its signature part).
        assert secret.rsplit(".", 1)[-1] not in output
