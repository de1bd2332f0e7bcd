"""An ended session stops its tokens at every service within a second — through the
gateway and at billing-svc called directly — with no Redis lookup per call: logout,
refresh-token reuse, and across a restart of Redis (which loses every session)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import RedisServerProcess, running_suite
from tollgate_kit.ended_sessions import EPOCH_MARGIN_SECONDS

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServerProcess]:
    with RedisServerProcess(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def suite(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServerProcess
) -> Iterator[Stack]:
    # Two gateway workers: each follows the feed on its own.
    with running_suite(
        "ended",
        tmp_path_factory.mktemp("stack"),
        env={"GATEWAY_WORKERS": "2"},
        redis_url=redis_server.url,
        log_sink=lambda _n, _l: None,
    ) as stack:
        yield stack


def sign_in(api: httpx.Client) -> dict[str, str]:
    email = f"ended-{uuid.uuid4().hex[:10]}@example.com"
    api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    body: dict[str, str] = login.json()
    return body


def wallet_status(api: httpx.Client, token: str) -> int:
    return api.get("/v1/wallet", headers={"Authorization": f"Bearer {token}"}).status_code


def billing_code(stack: Stack, token: str) -> grpc.StatusCode:
    """GetWallet called on billing-svc directly, as the gateway calls it."""

    async def call() -> grpc.StatusCode:
        channel = stack.grpc_channel("billing", caller="gateway")
        try:
            await billing_pb2_grpc.BillingServiceStub(channel).GetWallet(
                billing_pb2.GetWalletRequest(),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=5,
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
        finally:
            await channel.close(None)
        return grpc.StatusCode.OK

    return asyncio.run(call())


def seconds_until(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not met within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


def stopped_everywhere(api: httpx.Client, stack: Stack, token: str) -> bool:
    # Several gateway requests: they land on either worker.
    gateway = all(wallet_status(api, token) == 401 for _ in range(4))
    return gateway and billing_code(stack, token) == grpc.StatusCode.UNAUTHENTICATED


def test_logout_stops_the_token_at_the_gateway_and_at_billing_within_a_second(
    suite: Stack,
) -> None:
    with httpx.Client(base_url=suite.http_url("gateway"), timeout=10) as api:
        tokens = sign_in(api)
        access = tokens["accessToken"]
        assert wallet_status(api, access) == 200
        assert billing_code(suite, access) == grpc.StatusCode.OK
        logout = api.post("/v1/auth/logout", json={}, headers={"Authorization": f"Bearer {access}"})
        assert logout.status_code == 200, logout.text
        ended_at = time.monotonic()
        seconds_until(lambda: stopped_everywhere(api, suite, access))
        assert time.monotonic() - ended_at < 1.0
        answer = api.get("/v1/wallet", headers={"Authorization": f"Bearer {access}"})
        assert answer.json()["details"][0]["reason"] == "SESSION_REVOKED"


def test_refresh_reuse_stops_the_access_token_everywhere_within_a_second(suite: Stack) -> None:
    with httpx.Client(base_url=suite.http_url("gateway"), timeout=10) as api:
        tokens = sign_in(api)
        refresh = {"refreshToken": tokens["refreshToken"]}
        assert api.post("/v1/auth/refresh", json=refresh).status_code == 200
        reused = api.post("/v1/auth/refresh", json=refresh)
        assert reused.status_code == 401, reused.text
        ended_at = time.monotonic()
        seconds_until(lambda: stopped_everywhere(api, suite, tokens["accessToken"]))
        assert time.monotonic() - ended_at < 1.0


def test_after_a_redis_restart_old_tokens_stop_and_logout_still_reaches_everyone(
    suite: Stack, redis_server: RedisServerProcess, tmp_path: Path
) -> None:
    with httpx.Client(base_url=suite.http_url("gateway"), timeout=10) as api:
        before = sign_in(api)["accessToken"]
        assert wallet_status(api, before) == 200
        # Tokens carry whole seconds, and an epoch admits tokens a few seconds older than
        # itself (clock skew): the restart falls well after the token.
        time.sleep(EPOCH_MARGIN_SECONDS + 1.1)
        redis_server.__exit__()  # no persistence: every session is gone with it
        redis_server.__enter__()
        # The lost session's token is refused everywhere once the services reconnect.
        seconds_until(lambda: stopped_everywhere(api, suite, before))

        def signed_in() -> bool:
            try:
                sign_in(api)
            except AssertionError:
                return False  # a pooled connection still pointed at the old server
            return True

        seconds_until(signed_in)
        after = sign_in(api)["accessToken"]
        assert wallet_status(api, after) == 200
        assert billing_code(suite, after) == grpc.StatusCode.OK
        logout = api.post("/v1/auth/logout", json={}, headers={"Authorization": f"Bearer {after}"})
        assert logout.status_code == 200, logout.text
        ended_at = time.monotonic()
        seconds_until(lambda: stopped_everywhere(api, suite, after))
        assert time.monotonic() - ended_at < 1.0
