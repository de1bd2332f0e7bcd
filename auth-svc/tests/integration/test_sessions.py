"""Sessions in Redis: the round trip, rotation, reuse detection, logout and revocation."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import grpc
import jwt
import pytest

from tollgate.auth.v1 import auth_pb2
from tollgate_devstack import testing as devstack
from tollgate_kit.db import database_name
from tollgate_kit.errors import error_reason
from tollgate_kit.redis_client import create_redis
from tollgate_kit.tokens import session_key

# The tests of the session and login-throttle keys run on one Redis node and on a real
# three-master Redis Cluster; the rest (bcrypt timing, outages) on the node.
ON_NODE_AND_CLUSTER = pytest.mark.parametrize("redis_url", ["node", "cluster"], indirect=True)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def refresh(auth: Any, token: str) -> auth_pb2.RefreshResponse:
    response: auth_pb2.RefreshResponse = await auth.stub.Refresh(
        auth_pb2.RefreshRequest(refresh_token=token)
    )
    return response


async def refused(call: Any) -> tuple[grpc.StatusCode, str | None]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), error_reason(caught.value)


@ON_NODE_AND_CLUSTER
async def test_register_login_refresh_logout_round_trip(auth: Any) -> None:
    registered = await auth.register("ann@example.com")
    login = await auth.login("ANN@example.com")
    me = await auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(login.access_token))
    assert me.user_id == registered.user_id

    rotated = await refresh(auth, login.refresh_token)
    assert rotated.token_type == "Bearer"
    assert rotated.refresh_token != login.refresh_token
    me = await auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(rotated.access_token))
    assert me.user_id == registered.user_id

    await auth.stub.Logout(auth_pb2.LogoutRequest(), metadata=bearer(rotated.access_token))
    for token in (login.access_token, rotated.access_token):
        assert await refused(auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(token))) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "SESSION_REVOKED",
        )
    assert await refused(refresh(auth, rotated.refresh_token)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REVOKED",
    )
    assert await auth.metric("auth_login_total", {"result": "success"}) == 1
    assert await auth.metric("auth_refresh_total", {"result": "success"}) == 1


@ON_NODE_AND_CLUSTER
async def test_session_hash_in_redis_has_the_documented_fields_and_ttl(auth: Any) -> None:
    await auth.register("ann@example.com")
    login = await auth.login("ann@example.com")
    claims = jwt.decode(login.refresh_token, options={"verify_signature": False})
    redis = create_redis(auth.settings.redis_url)
    try:
        key = session_key(auth.settings.redis_key_prefix, claims["sid"])
        stored = {k.decode(): v.decode() for k, v in (await redis.hgetall(key)).items()}
        ttl = await redis.ttl(key)
    finally:
        await redis.aclose()
    assert stored["user_id"] == claims["sub"]
    assert stored["refresh_jti"] == claims["jti"]
    assert stored["family"] == claims["jti"]
    assert float(stored["created_at"]) <= float(stored["last_refreshed_at"])
    assert 30 * 24 * 3600 - 10 <= ttl <= 30 * 24 * 3600


@ON_NODE_AND_CLUSTER
async def test_a_reused_refresh_token_revokes_the_session_and_the_rotated_token(
    auth: Any,
) -> None:
    await auth.register("ann@example.com")
    login = await auth.login("ann@example.com")
    rotated = await refresh(auth, login.refresh_token)

    assert await refused(refresh(auth, login.refresh_token)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "REFRESH_TOKEN_REUSED",
    )
    # The attacker's (or victim's) newer pair died with the session.
    assert (await refused(refresh(auth, rotated.refresh_token)))[0] is (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert (
        await refused(auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(rotated.access_token)))
    )[0] is grpc.StatusCode.UNAUTHENTICATED
    assert await auth.metric("auth_refresh_total", {"result": "reused"}) == 1


@ON_NODE_AND_CLUSTER
async def test_concurrent_refreshes_with_one_token_succeed_exactly_once(auth: Any) -> None:
    await auth.register("ann@example.com")
    for _ in range(5):
        login = await auth.login("ann@example.com")
        results = await asyncio.gather(
            *(refresh(auth, login.refresh_token) for _ in range(8)), return_exceptions=True
        )
        successes = [r for r in results if isinstance(r, auth_pb2.RefreshResponse)]
        failures = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(successes) == 1
        assert len(failures) == 7
        assert all(f.code() is grpc.StatusCode.UNAUTHENTICATED for f in failures)
        # The losers were reuse of a retired token, so (strict RFC 9700) the session ended.
        assert (await refused(refresh(auth, successes[0].refresh_token)))[0] is (
            grpc.StatusCode.UNAUTHENTICATED
        )


@ON_NODE_AND_CLUSTER
async def test_list_and_revoke_sessions_of_the_signed_in_user(auth: Any) -> None:
    await auth.register("ann@example.com")
    first = await auth.login("ann@example.com")
    second = await auth.login("ann@example.com")
    listed = await auth.stub.ListSessions(
        auth_pb2.ListSessionsRequest(), metadata=bearer(first.access_token)
    )
    assert len(listed.sessions) == 2
    current = [s for s in listed.sessions if s.current]
    other = [s for s in listed.sessions if not s.current]
    assert len(current) == 1
    assert len(other) == 1
    assert all(s.created_at.seconds and s.last_refreshed_at.seconds for s in listed.sessions)

    await auth.stub.RevokeSession(
        auth_pb2.RevokeSessionRequest(session_id=other[0].session_id),
        metadata=bearer(first.access_token),
    )
    assert (
        await refused(auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(second.access_token)))
    )[0] is grpc.StatusCode.UNAUTHENTICATED
    listed = await auth.stub.ListSessions(
        auth_pb2.ListSessionsRequest(), metadata=bearer(first.access_token)
    )
    assert [s.session_id for s in listed.sessions] == [current[0].session_id]


@ON_NODE_AND_CLUSTER
async def test_another_users_session_cannot_be_revoked(auth: Any) -> None:
    await auth.register("ann@example.com")
    await auth.register("bob@example.com")
    ann = await auth.login("ann@example.com")
    bob = await auth.login("bob@example.com")
    bob_sid = jwt.decode(bob.access_token, options={"verify_signature": False})["sid"]
    for session_id in (bob_sid, "no-such-session", ""):
        assert await refused(
            auth.stub.RevokeSession(
                auth_pb2.RevokeSessionRequest(session_id=session_id),
                metadata=bearer(ann.access_token),
            )
        ) == (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")
    await auth.stub.Me(auth_pb2.MeRequest(), metadata=bearer(bob.access_token))


async def test_wrong_password_and_unknown_email_get_the_same_answer(auth: Any) -> None:
    await auth.register("ann@example.com")
    wrong = await refused(auth.login("ann@example.com", "not the password"))
    unknown = await refused(auth.login("nobody@example.com"))
    garbage = await refused(auth.login("not an email"))
    assert (
        wrong
        == unknown
        == garbage
        == (
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_CREDENTIALS",
        )
    )
    assert await auth.metric("auth_login_total", {"result": "invalid_credentials"}) == 3


async def wrong_login_time(auth: Any, email: str) -> float:
    """Seconds a refused login of ``email`` with a wrong password took (median of 5)."""
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(5):
        started = loop.time()
        with pytest.raises(grpc.aio.AioRpcError):
            await auth.login(email, "not the password")
        times.append(loop.time() - started)
    return sorted(times)[2]


async def test_unknown_email_costs_a_bcrypt_check_like_a_wrong_password(
    settings_for: Any, start_auth: Any
) -> None:
    async with start_auth(settings_for(bcrypt_cost=10)) as auth:
        await auth.register("ann@example.com")
        wrong = await wrong_login_time(auth, "ann@example.com")
        unknown = await wrong_login_time(auth, "nobody@example.com")
    # A cost-10 check takes tens of ms; skipping it would make "unknown" ~1 ms.
    assert unknown > 0.5 * wrong
    assert wrong > 0.5 * unknown


@ON_NODE_AND_CLUSTER
async def test_login_is_rate_limited_per_email_and_client(
    settings_for: Any, start_auth: Any
) -> None:
    async with start_auth(settings_for(login_rate_limit=3)) as auth:
        await auth.register("ann@example.com")
        for _ in range(3):
            with pytest.raises(grpc.aio.AioRpcError):
                await auth.login("ann@example.com", "wrong password")
        # Even the right password is refused now: guessing cannot continue.
        assert await refused(auth.login("ann@example.com")) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "TOO_MANY_LOGIN_ATTEMPTS",
        )
        # Another spelling of the same address shares the budget.
        assert await refused(auth.login("ann@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com")) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "TOO_MANY_LOGIN_ATTEMPTS",
        )
        # Another email from the same client, or the same email forwarded for another client
        # by the gateway, has its own budget.
        await auth.register("bob@example.com")
        await auth.login("bob@example.com")
        ann = auth_pb2.LoginRequest(email="ann@example.com", password="correct horse battery")
        await auth.stub.Login(ann, metadata=(("x-forwarded-for", "203.0.113.9"),))
        # The address the gateway resolved through its trusted proxies wins over the last
        # hop: these three use 198.51.100.4's budget, not what is left of 203.0.113.9's.
        for _ in range(3):
            await auth.stub.Login(
                ann,
                metadata=(
                    ("x-forwarded-for", "203.0.113.9"),
                    ("x-tollgate-client-address", "198.51.100.4"),
                ),
            )
        assert await auth.metric("auth_login_total", {"result": "rate_limited"}) == 2


@ON_NODE_AND_CLUSTER
async def test_every_spelling_that_reaches_an_account_shares_its_login_budget(
    settings_for: Any, start_auth: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    # The database decides which spellings are one account (lower() in its locale), and it
    # folds "İ" (U+0130) to "i" where Python's lower() makes "i̇": counting attempts per
    # spelling gave every "i" of an address a budget of its own.
    if await db.fetchval("SELECT lower('İnfo')") != "info":
        pytest.skip("this database's locale keeps İ apart from i")
    async with start_auth(settings_for(login_rate_limit=3)) as auth:
        await auth.register("info@example.com")
        await auth.login("İnfo@example.com")  # the same account
        for spelling in ("info@example.com", "İnfo@example.com"):
            assert await refused(auth.login(spelling, "wrong password")) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "INVALID_CREDENTIALS",
            )
        for spelling in ("info@example.com", "İnfo@example.com", "INFO@example.com"):
            assert await refused(auth.login(spelling)) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "TOO_MANY_LOGIN_ATTEMPTS",
            )
        # The same without an account: the budget must not tell which addresses have one.
        for _ in range(3):
            await refused(auth.login("İnone@example.com", "wrong password"))
        assert await refused(auth.login("inone@example.com")) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "TOO_MANY_LOGIN_ATTEMPTS",
        )


async def test_a_raised_bcrypt_cost_reveals_no_account_and_stored_hashes_catch_up(
    settings_for: Any, start_auth: Any, db: asyncpg.Connection[asyncpg.Record]
) -> None:
    async with start_auth(settings_for(bcrypt_cost=4)) as auth:
        await auth.register("ann@example.com")
    stored = "SELECT password_hash FROM users"
    async with start_auth(settings_for(bcrypt_cost=9)) as auth:
        wrong = await wrong_login_time(auth, "ann@example.com")
        unknown = await wrong_login_time(auth, "nobody@example.com")
        # Unknown emails are checked at cost 9 (~30 ms); ann's cost-4 hash alone takes ~1 ms.
        assert unknown > 0.5 * wrong
        assert wrong > 0.5 * unknown
        assert (await db.fetchval(stored)).startswith("$2b$04$")  # wrong passwords change nothing
        await auth.login("ann@example.com")
        assert (await db.fetchval(stored)).startswith("$2b$09$")
        await auth.login("ann@example.com")  # the new hash holds the same password


async def test_redis_out_of_reach_answers_unavailable(settings_for: Any, start_auth: Any) -> None:
    dead_redis = f"redis://127.0.0.1:{devstack.free_port()}/0"
    async with start_auth(settings_for(redis_url=dead_redis)) as auth:
        await auth.register("ann@example.com")  # PostgreSQL only
        assert await refused(auth.login("ann@example.com")) == (
            grpc.StatusCode.UNAVAILABLE,
            "AUTH_UNAVAILABLE",
        )
        assert await refused(refresh(auth, "not-even-a-token")) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_INVALID",
        )


async def test_database_out_of_reach_answers_unavailable_then_recovers(
    settings_for: Any, start_auth: Any, database_url: str
) -> None:
    target = urlsplit(database_url)
    proxy = devstack.TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    try:
        settings = settings_for(database_url=devstack.through_port(database_url, proxy.port))
        async with start_auth(settings) as auth:
            await auth.register("ann@example.com")
            auth.relay_errors_expected = True
            await proxy.cut()
            unavailable = (grpc.StatusCode.UNAVAILABLE, "AUTH_UNAVAILABLE")
            assert await refused(auth.login("ann@example.com")) == unavailable
            assert await refused(auth.register("bob@example.com")) == unavailable
            await proxy.start()
            await auth.login("ann@example.com")
            await auth.register("bob@example.com")
    finally:
        await proxy.cut()


async def test_a_rehash_the_database_refuses_does_not_fail_the_login(
    settings_for: Any, start_auth: Any, db: asyncpg.Connection[asyncpg.Record], database_url: str
) -> None:
    async with start_auth(settings_for(bcrypt_cost=4)) as auth:
        await auth.register("ann@example.com")
    # A standby mid-failover: every write fails as read-only.
    name = database_name(database_url)
    await db.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        async with start_auth(settings_for(bcrypt_cost=5)) as auth:
            auth.relay_errors_expected = True  # the outbox relay cannot claim rows either
            await auth.login("ann@example.com")
    finally:
        await db.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    assert (await db.fetchval("SELECT password_hash FROM users")).startswith("$2b$04$")
