"""Email verification: the link in the welcome mail, single use, expiry."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import grpc
import pytest

from tollgate.auth.v1 import auth_pb2
from tollgate_kit.errors import error_reason


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def mailed_token(email_double: Any, eventually: Any, recipient: str) -> str:
    async def mailed() -> bool:
        return any(r.to == recipient for r in email_double.service.sent)

    await eventually(mailed, what="the welcome mail")
    [mail] = [r for r in email_double.service.sent if r.to == recipient]
    assert mail.template == "welcome"
    url = urlsplit(mail.params["verification_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://tollgate.test/app/verify-email"
    [token] = parse_qs(url.query)["token"]
    return token


async def verify(auth: Any, token: str) -> tuple[grpc.StatusCode, str | None]:
    try:
        await auth.stub.VerifyEmail(auth_pb2.VerifyEmailRequest(token=token))
    except grpc.aio.AioRpcError as err:
        return err.code(), error_reason(err)
    return grpc.StatusCode.OK, None


async def test_the_mailed_link_verifies_the_email_once(
    auth: Any, email_double: Any, eventually: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    await auth.register("ann@example.com")
    token = await mailed_token(email_double, eventually, "ann@example.com")
    # Only the SHA-256 of the token is stored.
    stored = await db.fetchval("SELECT token_hash FROM email_verification_tokens")
    assert stored == hashlib.sha256(token.encode()).digest()

    login = await auth.login("ann@example.com")
    me = await auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(login.access_token))
    assert not me.email_verified

    assert await verify(auth, token) == (grpc.StatusCode.OK, None)
    me = await auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(login.access_token))
    assert me.email_verified

    assert await verify(auth, token) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERIFICATION_TOKEN_USED",
    )


async def test_an_expired_token_is_refused(
    auth: Any, email_double: Any, eventually: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    await auth.register("ann@example.com")
    token = await mailed_token(email_double, eventually, "ann@example.com")
    expires_in = await db.fetchval("SELECT expires_at - created_at FROM email_verification_tokens")
    assert expires_in.total_seconds() == 48 * 3600
    await db.execute("UPDATE email_verification_tokens SET expires_at = now() - interval '1s'")
    assert await verify(auth, token) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERIFICATION_TOKEN_EXPIRED",
    )
    assert await db.fetchval("SELECT email_verified_at FROM users") is None


@pytest.mark.parametrize("token", ["", "   ", "not-a-real-token", "x" * 500])
async def test_unknown_tokens_are_invalid_arguments(auth: Any, token: str) -> None:
    assert await verify(auth, token) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VERIFICATION_TOKEN_INVALID",
    )
