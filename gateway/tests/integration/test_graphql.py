"""/graphql over the same backends; errors carry extensions {code, reason}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


async def _graphql(
    gateway: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    response = await gateway.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_queries_with_a_token(gateway: httpx.AsyncClient, open_session: Any) -> None:
    session = await open_session("user-7")
    body = await _graphql(
        gateway,
        "{ me { userId email } wallet { balance currency } "
        "transactions(pageSize: 2) { transactions { id kind } nextPageToken } }",
        session.headers,
    )
    assert "errors" not in body
    assert body["data"]["me"] == {"userId": "user-7", "email": "a@example.com"}
    assert body["data"]["wallet"] == {"balance": "12345678901234", "currency": "EUR"}
    assert body["data"]["transactions"]["nextPageToken"] == "next"
    assert len(body["data"]["transactions"]["transactions"]) == 2


async def test_user_operations_need_a_token(gateway: httpx.AsyncClient) -> None:
    body = await _graphql(gateway, "{ wallet { balance } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "TOKEN_MISSING"}


async def test_login_needs_no_token(gateway: httpx.AsyncClient) -> None:
    body = await _graphql(
        gateway,
        'mutation($e: String!) { login(email: $e, password: "pw") { tokenType expiresIn } }',
        e="a@example.com",
    )
    assert body["data"]["login"] == {"tokenType": "Bearer", "expiresIn": 900}


async def test_backend_errors_keep_code_and_reason(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    body = await _graphql(
        gateway,
        'mutation { charge(amount: "5000", idempotencyKey: "k1") { balance } }',
        session.headers,
    )
    assert body["errors"][0]["message"] == "insufficient funds"
    assert body["errors"][0]["extensions"] == {
        "code": "FAILED_PRECONDITION",
        "reason": "INSUFFICIENT_FUNDS",
    }
    assert backends.recorded.requests["Charge"][-1].idempotency_key == "k1"


async def test_mutation_result(gateway: httpx.AsyncClient, open_session: Any) -> None:
    session = await open_session()
    body = await _graphql(
        gateway,
        'mutation { topUp(amount: 500, idempotencyKey: "t1") '
        "{ balance transaction { amount kind currency } } }",
        session.headers,
    )
    assert body["data"]["topUp"] == {
        "balance": "500",
        "transaction": {"amount": "500", "kind": "TOP_UP", "currency": "EUR"},
    }


async def test_invalid_query_is_400(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/graphql", json={"query": "{ nope }"})
    assert response.status_code == 400
    assert response.json()["errors"]


async def test_get_may_not_mutate(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(
        "/graphql", params={"query": 'mutation { register(email: "a", password: "b") { userId } }'}
    )
    assert response.status_code == 405
