"""The sign-up and account-closure sagas end to end (issue 11, "Done when"): the real
gateway, auth-svc (saga runner), billing-svc, email-svc and the mail catcher on real
PostgreSQL and Redis. These tests stop and SIGKILL processes, so they run on a stack of their
own, with a quick saga backoff."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tollgate_devstack.mailcatcher import MailpitClient
from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import running_suite

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
SAGA_ENV = {
    "AUTH_SAGA_POLL_SECONDS": "0.2",
    "AUTH_SAGA_BACKOFF_BASE_SECONDS": "0.2",
    "AUTH_SAGA_BACKOFF_MAX_SECONDS": "1",
    "AUTH_SAGA_LEASE_SECONDS": "10",
    "AUTH_SAGA_STEP_TIMEOUT_SECONDS": "5",
    "AUTH_BILLING_TIMEOUT_SECONDS": "2",
    "AUTH_OUTBOX_SEND_TIMEOUT_SECONDS": "3",
}


@pytest.fixture(scope="module")
def saga_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_suite("e2e_saga", tmp_path_factory.mktemp("saga_stack"), env=SAGA_ENV) as suite:
        yield suite


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


async def _until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


class Api:
    def __init__(self, stack: Stack) -> None:
        self.http = httpx.AsyncClient(base_url=stack.http_url("gateway"), timeout=20)

    async def register(self, email: str) -> dict[str, Any]:
        response = await self.http.post(
            "/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def login(self, email: str) -> dict[str, str]:
        response = await self.http.post(
            "/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['accessToken']}"}

    async def money(self, kind: str, amount: int, auth: dict[str, str]) -> httpx.Response:
        return await self.http.post(
            f"/v1/wallet/{kind}",
            json={"amount": str(amount)},
            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
        )

    async def close(self, auth: dict[str, str], password: str = PASSWORD) -> httpx.Response:
        return await self.http.post("/v1/auth/me:close", json={"password": password}, headers=auth)

    async def state(self, auth: dict[str, str]) -> str:
        response = await self.http.get("/v1/auth/me", headers=auth)
        assert response.status_code == 200, response.text
        return str(response.json()["accountState"])


@pytest.fixture
async def api(saga_stack: Stack) -> AsyncIterator[Api]:
    client = Api(saga_stack)
    try:
        yield client
    finally:
        await client.http.aclose()


async def _mail_to(stack: Stack, address: str) -> list[str]:
    async with MailpitClient(stack.http_url("mailcatcher")) as mail:
        return [m.subject for m in await mail.messages() if address in m.recipients]


async def test_sign_up_and_closure_through_the_gateway(saga_stack: Stack, api: Api) -> None:
    email = _email("close")
    registered = await api.register(email)
    assert registered["accountState"] == "ACTIVE"
    auth, other = await api.login(email), await api.login(email)
    assert await api.state(auth) == "ACTIVE"
    wallet = await api.http.get("/v1/wallet", headers=auth)
    assert wallet.json()["balance"] == "0"  # opened by the saga, not on first use
    assert (await api.money("top-ups", 700, auth)).status_code == 200
    assert (await api.money("charges", 700, auth)).status_code == 200

    closed = await api.close(auth)

    assert closed.status_code == 200, closed.text
    assert closed.json() == {"accountState": "CLOSED"}
    for headers in (auth, other):  # every session ended at once
        assert (await api.http.get("/v1/auth/me", headers=headers)).status_code == 401

    async def wallet_refused() -> bool:
        return (await api.http.get("/v1/wallet", headers=other)).status_code == 401

    await _until(wallet_refused, 1.5, "billing to refuse the ended session")

    async def goodbye() -> bool:
        return "Your Tollgate account is closed" in await _mail_to(saga_stack, email)

    await _until(goodbye, 15, "the goodbye mail")
    user_id = uuid.UUID(registered["userId"])
    auth_db = await asyncpg.connect(saga_stack.database_dsn("auth"))
    billing_db = await asyncpg.connect(saga_stack.database_dsn("billing"))
    try:
        row = await auth_db.fetchrow(
            "SELECT state, email, password_hash FROM users WHERE id = $1", user_id
        )
        assert dict(row or {}) == {"state": "CLOSED", "email": None, "password_hash": None}
        for table, column in (("users", "email"), ("outbox", "recipient")):
            found = await auth_db.fetchval(
                f"SELECT count(*) FROM {table} WHERE lower({column}) = lower($1)",
                email,
            )
            assert found == 0, f"{email} still in {table}"
        assert (
            await auth_db.fetchval(
                "SELECT count(*) FROM email_verification_tokens WHERE user_id = $1", user_id
            )
            == 0
        )
        ledger = await billing_db.fetch(
            "SELECT kind, amount FROM transactions WHERE user_id = $1 ORDER BY ts", str(user_id)
        )
        assert [(r["kind"], r["amount"]) for r in ledger] == [("TOP_UP", 700), ("CHARGE", -700)]
        assert (
            await billing_db.fetchval("SELECT state FROM wallets WHERE user_id = $1", str(user_id))
            == "closed"
        )
    finally:
        await auth_db.close()
        await billing_db.close()
    again = await api.register(email)  # the address may sign up again, as a new user
    assert again["userId"] != registered["userId"]


async def test_closure_over_graphql_and_account_state_in_me(saga_stack: Stack, api: Api) -> None:
    email = _email("graphql")
    await api.register(email)
    auth = await api.login(email)

    async def graphql(query: str) -> dict[str, Any]:
        response = await api.http.post("/graphql", json={"query": query}, headers=auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert (await graphql("{ me { accountState } }"))["data"] == {"me": {"accountState": "ACTIVE"}}
    wrong = await graphql('mutation { closeAccount(password: "not it at all") { accountState } }')
    assert wrong["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    closed = await graphql(
        f'mutation {{ closeAccount(password: "{PASSWORD}") {{ accountState }} }}'
    )
    assert closed["data"] == {"closeAccount": {"accountState": "CLOSED"}}


async def test_closure_refused_with_a_balance_or_a_wrong_password_changes_nothing(
    saga_stack: Stack, api: Api
) -> None:
    email = _email("refused")
    await api.register(email)
    auth = await api.login(email)
    assert (await api.money("top-ups", 250, auth)).status_code == 200

    wrong = await api.close(auth, password="not the password at all")
    assert wrong.status_code == 401
    with_money = await api.close(auth)
    assert with_money.status_code == 400
    assert with_money.json()["details"][0]["reason"] == "WALLET_NOT_EMPTY"

    assert await api.state(auth) == "ACTIVE"
    assert (await api.http.get("/v1/wallet", headers=auth)).json()["balance"] == "250"
    assert (await api.money("charges", 250, auth)).status_code == 200
    assert await _mail_to(saga_stack, email) == [
        "Welcome to Tollgate - please verify your email address"
    ]


async def test_sign_up_waits_for_billing_and_resumes_after_auth_is_killed(
    saga_stack: Stack, api: Api
) -> None:
    email = _email("pending")
    saga_stack.terminate("billing")
    try:
        registered = await api.register(email)
        assert registered["accountState"] == "PENDING"
        auth = await api.login(email)  # login works while PENDING
        assert await api.state(auth) == "PENDING"
        saga_stack.kill("auth")  # SIGKILL mid-saga: only the saga row remembers
    finally:
        saga_stack.start_process("billing")
    saga_stack.start_process("auth")

    async def active() -> bool:
        # The gateway reconnects to the restarted auth-svc meanwhile (503 until then).
        response = await api.http.get("/v1/auth/me", headers=auth)
        return response.status_code == 200 and response.json()["accountState"] == "ACTIVE"

    await _until(active, 20, "the sign-up saga to resume and finish")

    async def welcomed() -> bool:
        return bool(await _mail_to(saga_stack, email))

    await _until(welcomed, 15, "the welcome mail, released by the saga")
    wallet = await api.http.get("/v1/wallet", headers=auth)
    assert wallet.status_code == 200
    assert registered["userId"]
