"""The REST handler end to end: the real gateway app, gRPC test doubles, real Redis."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


async def test_get_wallet_is_transcoded_with_int64_as_string(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()
    response = await gateway.get("/v1/wallet", headers=session.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"balance": "12345678901234", "currency": "EUR"}


async def test_authorization_and_forwarded_for_reach_the_backend(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        **session.headers,
        "X-Forwarded-For": "198.51.100.1",
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
        "Grpc-Metadata-X-Tollgate-Client-Address": "6.6.6.6",
    }
    assert (await gateway.get("/v1/wallet", headers=headers)).status_code == 200
    metadata = backends.recorded.metadata["GetWallet"][-1]
    assert metadata["authorization"] == f"Bearer {session.token}"
    assert metadata["x-forwarded-for"] == "198.51.100.1, 203.0.113.9"
    # The peer is no trusted proxy, so it is the client; a client cannot claim another address.
    assert metadata["x-tollgate-client-address"] == "203.0.113.9"
    # The trace continues into the backend call.
    assert metadata["traceparent"].split("-")[1] == trace_id


async def test_idempotency_key_header_fills_the_request_field(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    response = await gateway.post(
        "/v1/wallet/charges",
        json={"amount": "250", "description": "coffee"},
        headers={**session.headers, "Idempotency-Key": "key-123"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["transaction"]["amount"] == "-250"
    assert body["transaction"]["kind"] == "CHARGE"
    charge = backends.recorded.requests["Charge"][-1]
    assert (charge.amount, charge.description, charge.idempotency_key) == (250, "coffee", "key-123")


async def test_path_parameter_is_bound(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    response = await gateway.post(
        "/v1/wallet/charges/ch-9/refunds",
        json={"amount": 5},
        headers={**session.headers, "Idempotency-Key": "r1"},
    )
    assert response.status_code == 200
    refund = backends.recorded.requests["Refund"][-1]
    assert (refund.charge_id, refund.amount, refund.idempotency_key) == ("ch-9", 5, "r1")
    assert response.json()["transaction"]["refundOf"] == "ch-9"


async def test_query_parameters_are_bound(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    response = await gateway.get(
        "/v1/wallet/transactions?pageSize=3&pageToken=abc", headers=session.headers
    )
    assert response.status_code == 200
    assert [tx["id"] for tx in response.json()["transactions"]] == ["tx-0", "tx-1", "tx-2"]
    assert response.json()["nextPageToken"] == "next"
    request = backends.recorded.requests["ListTransactions"][-1]
    assert (request.page_size, request.page_token) == (3, "abc")


async def test_grpc_metadata_headers_travel_both_ways(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    response = await gateway.get(
        "/v1/wallet",
        headers={
            **session.headers,
            "Grpc-Metadata-X-Tenant": "acme",
            "Grpc-Metadata-Trace-Bin": "AQID",
            # A client cannot smuggle a second authorization in through metadata.
            "Grpc-Metadata-Authorization": "Bearer forged",
        },
    )
    assert response.status_code == 200
    metadata = backends.recorded.metadata["GetWallet"][-1]
    assert metadata["x-tenant"] == "acme"
    assert metadata["trace-bin"] == b"\x01\x02\x03"
    assert metadata["authorization"] == f"Bearer {session.token}"
    assert response.headers["grpc-metadata-x-backend"] == "billing"
    assert response.headers["grpc-metadata-x-ledger-version"] == "7"


async def test_public_route_needs_no_token(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/auth/register", json={"email": "new@example.com", "password": "pw-123456"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "userId": "user-new",
        "email": "new@example.com",
        "accountState": "ACTIVE",
    }
    jwks = await gateway.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert jwks.json()["keys"][0]["kid"] == "test-key-1"


async def test_me_timestamp_is_rfc3339(gateway: httpx.AsyncClient, open_session: Any) -> None:
    session = await open_session("user-42")
    response = await gateway.get("/v1/auth/me", headers=session.headers)
    assert response.json() == {
        "userId": "user-42",
        "email": "a@example.com",
        "emailVerified": True,
        "createdAt": "2023-11-14T22:13:20Z",
        "accountState": "ACTIVE",
        "mfaEnabled": False,
    }


async def test_only_the_verified_authorization_header_is_forwarded(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    other = await open_session()
    headers = [
        ("Authorization", f"Bearer {session.token}"),
        ("Authorization", f"Bearer {other.token}"),
    ]
    assert (await gateway.get("/v1/wallet", headers=headers)).status_code == 200
    metadata = backends.recorded.metadata["GetWallet"][-1]
    assert metadata["authorization"] == f"Bearer {session.token}"


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/v1/auth/login", "X-Forwarded-For", b"1.2.3.4\xe9"),
        ("/v1/auth/login", "Authorization", b"Bearer \xe9"),
        ("/v1/auth/login", "Grpc-Metadata-X-A", b"v\xe9"),
    ],
)
async def test_header_bytes_grpc_cannot_carry_are_a_400(
    gateway: httpx.AsyncClient, backends: Any, path: str, name: str, value: bytes
) -> None:
    response = await gateway.post(
        path, json={"email": "a@example.com", "password": "pw"}, headers=[(name.encode(), value)]
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert body["message"].endswith("header must be printable ASCII")
    assert "Login" not in backends.recorded.requests


async def test_every_forwarded_for_line_counts(
    gateway_factory: Any, open_session: Any, backends: Any
) -> None:
    # A trusted proxy that adds its own header line (HAProxy's option forwardfor does): the
    # client's own first line must not win.
    session = await open_session()
    async with gateway_factory(trusted_proxies=["203.0.113.9"]) as gateway:
        headers = [
            (b"authorization", session.headers["Authorization"].encode()),
            (b"x-forwarded-for", b"6.6.6.6"),
            (b"x-forwarded-for", b"198.51.100.7"),
        ]
        assert (await gateway.get("/v1/wallet", headers=headers)).status_code == 200
    metadata = backends.recorded.metadata["GetWallet"][-1]
    assert metadata["x-tollgate-client-address"] == "198.51.100.7"
    assert metadata["x-forwarded-for"] == "6.6.6.6, 198.51.100.7, 203.0.113.9"


async def test_api_answers_are_never_cached(gateway: httpx.AsyncClient, open_session: Any) -> None:
    session = await open_session()
    answers = [
        await gateway.get("/v1/wallet", headers=session.headers),  # personal data
        await gateway.get("/v1/wallet"),  # an error
        await gateway.post(
            "/graphql", json={"query": "{ me { userId } }"}, headers=session.headers
        ),
    ]
    for response in answers:
        assert response.headers["cache-control"] == "no-store", response.request.url


async def test_a_closure_still_running_answers_202_and_a_finished_one_200(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session("user-9")
    done = await gateway.post("/v1/auth/me:close", json={"password": "pw"}, headers=session.headers)
    assert (done.status_code, done.json()) == (200, {"accountState": "CLOSED"})
    running = await gateway.post(
        "/v1/auth/me:close", json={"password": "slow"}, headers=session.headers
    )
    assert (running.status_code, running.json()) == (202, {"accountState": "CLOSING"})
    assert "grpc-metadata-x-http-code" not in running.headers
