"""A stalled Redis (SIGSTOP) fails wallet calls and logins fast with 503, and the suite
recovers by itself once Redis resumes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import RedisServerProcess, running_suite

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServerProcess]:
    with RedisServerProcess(tmp_path_factory.mktemp("stall_redis")) as server:
        yield server


@pytest.fixture(scope="module")
def stall_stack(
    redis_server: RedisServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_suite(
        "e2e_stall",
        tmp_path_factory.mktemp("stall_stack"),
        redis_url=redis_server.url,
        env={"GATEWAY_DEFAULT_DEADLINE_SECONDS": "30"},
    ) as suite:
        yield suite


def test_stalled_redis_answers_503_fast_and_recovers(
    stall_stack: Stack, redis_server: RedisServerProcess
) -> None:
    email = f"stall-{uuid.uuid4().hex[:12]}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    with httpx.Client(base_url=stall_stack.http_url("gateway"), timeout=30) as api:
        assert api.post("/v1/auth/register", json=credentials).status_code == 200
        login = api.post("/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        assert api.get("/v1/wallet", headers=auth).status_code == 200

        redis_server.pause()
        try:
            for _ in range(3):
                started = time.monotonic()
                wallet = api.get("/v1/wallet", headers=auth)
                took = time.monotonic() - started
                assert wallet.status_code == 503, wallet.text
                assert took < 3.0, f"wallet call took {took:.1f}s"

                started = time.monotonic()
                top_up = api.post(
                    "/v1/wallet/top-ups",
                    json={"amount": "100"},
                    headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                )
                took = time.monotonic() - started
                assert top_up.status_code == 503, top_up.text
                assert took < 3.0, f"top-up took {took:.1f}s"

                started = time.monotonic()
                stalled_login = api.post("/v1/auth/login", json=credentials)
                took = time.monotonic() - started
                assert stalled_login.status_code == 503, stalled_login.text
                assert took < 4.0, f"login took {took:.1f}s"
        finally:
            redis_server.resume()

        deadline = time.monotonic() + 15
        while True:
            wallet = api.get("/v1/wallet", headers=auth)
            if wallet.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert wallet.status_code == 200, wallet.text
        again = api.post("/v1/auth/login", json=credentials)
        assert again.status_code == 200, again.text
