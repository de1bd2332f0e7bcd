from __future__ import annotations

from typing import Any

import asyncpg
import grpc
import pytest

from tollgate_kit.errors import error_reason

PASSWORD = "correct horse battery"


async def test_register_creates_a_user_with_a_bcrypt_hash_at_the_configured_cost(
    auth: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    response = await auth.register("Ann.Lee@Example.COM")
    assert response.email == "Ann.Lee@example.com"
    row = await db.fetchrow("SELECT * FROM users WHERE id = $1::uuid", response.user_id)
    assert row is not None
    assert row["email"] == "Ann.Lee@example.com"
    assert row["password_hash"].startswith("$2b$04$")
    assert PASSWORD not in row["password_hash"]
    assert row["email_verified_at"] is None


async def test_auth_register_total_rises_by_one_per_registration(auth: Any) -> None:
    success = {"result": "success"}
    before = await auth.metric("auth_register_total", success)
    await auth.register("one@example.com")
    assert await auth.metric("auth_register_total", success) == before + 1
    await auth.register("two@example.com")
    assert await auth.metric("auth_register_total", success) == before + 2
    with pytest.raises(grpc.aio.AioRpcError):
        await auth.register("two@example.com")
    assert await auth.metric("auth_register_total", success) == before + 2
    assert await auth.metric("auth_register_total", {"result": "email_taken"}) == 1


async def test_an_existing_email_in_another_case_already_exists(auth: Any) -> None:
    await auth.register("ann@example.com")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await auth.register("ANN@EXAMPLE.com")
    assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(caught.value) == "EMAIL_TAKEN"
    assert "already exists" in (caught.value.details() or "")


@pytest.mark.parametrize(
    "email", ["", "   ", "not-an-email", "ann@", "@example.com", "a b@example.com", "ann@host"]
)
async def test_empty_and_garbage_emails_are_invalid_arguments(auth: Any, email: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await auth.register(email)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(caught.value) == "INVALID_EMAIL"
    assert await auth.metric("auth_register_total", {"result": "invalid_email"}) == 1


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("a" * 72, True),
        ("a" * 73, False),
        ("é" * 36, True),  # 72 bytes
        ("é" * 36 + "a", False),  # 73 bytes
        ("😀" * 18, True),  # 72 bytes, 18 characters
        ("😀" * 19, False),  # 76 bytes
        ("a" * 71 + "é", False),  # 73 bytes, 72 characters
        ("a" * 7, False),
    ],
)
async def test_the_72_byte_boundary_is_enforced_not_truncated(
    auth: Any, password: str, accepted: bool
) -> None:
    if accepted:
        await auth.register("ann@example.com", password)
        login = await auth.login("ann@example.com", password)
        assert login.access_token
        # Truncation would let a longer password with the same first 72 bytes in.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await auth.login("ann@example.com", password + "x")
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        return
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await auth.register("ann@example.com", password)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(caught.value) == "INVALID_PASSWORD"
    assert await auth.metric("auth_register_total", {"result": "invalid_password"}) == 1
