"""/graphql over the same backends; errors carry extensions {code, reason}."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from tollgate_devstack.testing import free_port

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


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"w{i}: wallet {{ balance }}" for i in range(count)) + " }"


async def test_root_fields_per_operation_are_capped(
    gateway_factory: Any, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    async with gateway_factory(graphql_max_root_fields=3) as gateway:
        body = await _graphql(gateway, _aliases(3), session.headers)
        assert sorted(body["data"]) == ["w0", "w1", "w2"]
        calls = len(backends.recorded.requests["GetWallet"])

        too_many = [
            _aliases(4),
            # Fragments count as what they expand to.
            "{ ...F w9: wallet { balance } } fragment F on Query { "
            "a: wallet { balance } b: wallet { balance } c: wallet { balance } }",
            "{ ... on Query { a: wallet { balance } b: wallet { balance } } "
            "c: wallet { balance } d: me { userId } }",
        ]
        for query in too_many:
            response = await gateway.post(
                "/graphql", json={"query": query}, headers=session.headers
            )
            assert response.status_code == 400, query
            assert response.json() == {
                "errors": [
                    {
                        "message": "an operation may select at most 3 root fields",
                        "extensions": {
                            "code": "INVALID_ARGUMENT",
                            "reason": "GRAPHQL_TOO_COMPLEX",
                        },
                    }
                ]
            }
        # Refused before any resolver ran.
        assert len(backends.recorded.requests["GetWallet"]) == calls


async def test_login_limit_lets_logins_through_when_redis_is_down(gateway_factory: Any) -> None:
    async with gateway_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0") as gateway:
        body = await _graphql(
            gateway,
            'mutation { login(email: "a@example.com", password: "pw") { tokenType } }',
        )
    # No Redis error text reaches the client: the login limiter fails open, as on REST.
    assert body == {"data": {"login": {"tokenType": "Bearer"}}}


async def test_a_forwarded_for_grpc_cannot_carry_is_a_400(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/graphql",
        json={"query": 'mutation { login(email: "a@example.com", password: "pw") { tokenType } }'},
        headers=[(b"x-forwarded-for", b"1.2.3.4\xe9")],
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "the x-forwarded-for header must be printable ASCII",
                "extensions": {"code": "INVALID_ARGUMENT", "reason": "INVALID_HEADER"},
            }
        ]
    }


async def test_each_root_field_costs_one_rate_limit_token(
    gateway_factory: Any, open_session: Any, backends: Any
) -> None:
    """Ten aliased wallet reads are ten backend calls: they take ten tokens of the user's
    budget, not one (one request once bought up to ten calls)."""
    session = await open_session()
    async with gateway_factory(rate_limit_per_minute=1, rate_limit_burst=12) as gateway:
        calls = len(backends.recorded.requests.get("GetWallet", []))
        first = await gateway.post(
            "/graphql", json={"query": _aliases(10)}, headers=session.headers
        )
        assert first.status_code == 200, first.text
        assert sorted(first.json()["data"]) == [f"w{i}" for i in range(10)]
        # 2 tokens are left: a 3-call operation is refused whole, before any backend call.
        refused = await gateway.post(
            "/graphql", json={"query": _aliases(3)}, headers=session.headers
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["errors"][0]["extensions"] == {
            "code": "RESOURCE_EXHAUSTED",
            "reason": "RATE_LIMITED",
        }
        assert len(backends.recorded.requests["GetWallet"]) == calls + 10
        # The request's own token was taken (1 left), and a single call still fits.
        one = await gateway.post("/graphql", json={"query": _aliases(1)}, headers=session.headers)
        assert one.status_code == 200, one.text
        rest = await gateway.get("/v1/wallet", headers=session.headers)
        assert rest.status_code == 429


async def _charge_amount(gateway: httpx.AsyncClient, session: Any, amount: str) -> httpx.Response:
    """A GraphQL charge whose amount is the literal ``amount``."""
    query = f'mutation {{ charge(amount: {amount}, idempotencyKey: "k") {{ balance }} }}'
    return await gateway.post("/graphql", json={"query": query}, headers=session.headers)


@pytest.mark.parametrize("amount", ['"1_0"', '" 10"', '"+10"', '"010"', '"\\u0661\\u0660"'])
async def test_int64_strings_are_read_as_the_rest_api_reads_them(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any, amount: str
) -> None:
    response = await _charge_amount(gateway, await open_session(), amount)
    assert response.status_code == 400
    assert "Int64 must be an integer or a decimal string" in response.json()["errors"][0]["message"]
    assert "Charge" not in backends.recorded.requests


@pytest.mark.parametrize(("amount", "charged"), [('"1e2"', 100), ('"25.0"', 25), ("7", 7)])
async def test_int64_strings_take_whole_json_numbers_as_the_rest_api_does(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any, amount: str, charged: int
) -> None:
    response = await _charge_amount(gateway, await open_session(), amount)
    assert response.status_code == 200, response.text
    assert backends.recorded.requests["Charge"][-1].amount == charged


async def test_nested_fragments_are_counted_in_linear_time(gateway_factory: Any) -> None:
    # Each level spreads the next twice: expanding naively doubles the work per level.
    depth = 60
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(depth)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{depth} on Query {{ wallet {{ balance }} }}"
    async with gateway_factory(graphql_max_root_fields=1) as gateway:
        started = time.monotonic()
        response = await gateway.post("/graphql", json={"query": query})
        elapsed = time.monotonic() - started
        # One response key, however often it is spread; and the same key twice is one call.
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        twice = await gateway.post("/graphql", json={"query": "{ me { userId } me { email } }"})
        assert twice.status_code == 200
    assert elapsed < 2


async def test_introspection_fields_count_and_the_whole_answer_is_bounded(
    gateway_factory: Any,
) -> None:
    # Anonymous, one rate-limit token: thousands of aliased __schema once froze a worker for
    # seconds and built hundreds of MB of JSON.
    aliased = " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(11))
    wide = "{ __schema { types { name fields { name args { name type { name kind } } } } } }"
    async with gateway_factory(graphql_max_root_fields=10, graphql_max_fields=8) as gateway:
        response = await gateway.post("/graphql", json={"query": "{ " + aliased + " }"})
        assert response.status_code == 400
        assert "at most 10 root fields" in response.json()["errors"][0]["message"]
        response = await gateway.post("/graphql", json={"query": wide})
        assert response.status_code == 400
        assert "at most 8 fields in all" in response.json()["errors"][0]["message"]
        # The same fields selected twice, or spread twice, are one field each.
        repeated = (
            "{ __schema { ...T ...T types { name } } } fragment T on __Schema { types { name } }"
        )
        response = await gateway.post("/graphql", json={"query": repeated})
        assert response.status_code == 200, response.text
        # A document is parsed up to a number of tokens, not to the end of a huge body.
        huge = "{ me { " + "userId " * 25_000 + "} }"
        response = await gateway.post("/graphql", json={"query": huge})
        assert response.status_code == 400
        assert "tokens" in response.json()["errors"][0]["message"]


async def test_the_standard_introspection_query_fits_the_default_limits(
    gateway: httpx.AsyncClient,
) -> None:
    # What GraphiQL and code generators send.
    response = await gateway.post("/graphql", json={"query": get_introspection_query()})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"
