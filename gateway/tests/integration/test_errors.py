"""Errors: grpc-gateway's status table, the JSON status body with google.rpc details,
and nothing internal ever in a response."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from gateway.backends import Backend
from gateway.bootstrap import AUTH_SERVICE, BILLING_SERVICE
from gateway.request_id import request_info
from tollgate_devstack.testing import free_port

pytestmark = pytest.mark.integration


async def test_backend_error_details_become_json_any(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()
    response = await gateway.post(
        "/v1/wallet/charges",
        json={"amount": 5000},
        headers={**session.headers, "Idempotency-Key": "k"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 9,
        "message": "insufficient funds",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "INSUFFICIENT_FUNDS",
                "domain": "tollgate.dev",
                "metadata": {"balance": "1000"},
            },
            request_info(response.headers["x-request-id"]),
        ],
    }


async def test_already_exists_is_409(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/auth/register", json={"email": "taken@example.com", "password": "x"}
    )
    assert response.status_code == 409
    assert response.json()["details"][0]["reason"] == "EMAIL_TAKEN"


async def test_backend_crash_is_500_without_internal_text(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()
    response = await gateway.post(
        "/v1/wallet/charges",
        json={"amount": 1, "description": "boom"},
        headers={**session.headers, "Idempotency-Key": "k"},
    )
    assert response.status_code == 500
    assert response.json() == {
        "code": 2,
        "message": "internal error",
        "details": [request_info(response.headers["x-request-id"])],
    }
    assert "SELECT" not in response.text


async def test_grpc_timeout_header_is_the_deadline(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()
    response = await gateway.post(
        "/v1/wallet/charges",
        json={"amount": 1, "description": "slow"},
        headers={**session.headers, "Idempotency-Key": "k", "Grpc-Timeout": "100m"},
    )
    assert response.status_code == 504
    assert response.json() == {
        "code": 4,
        "message": "deadline exceeded",
        "details": [request_info(response.headers["x-request-id"])],
    }


async def test_a_grpc_timeout_below_the_minimum_is_raised_to_it(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    # A microsecond deadline would fail any call as a server-side DEADLINE_EXCEEDED: a way
    # for anyone to push the 5xx share over the alerts' threshold.
    session = await open_session()
    for timeout in ("1u", "1n", "1m"):
        response = await gateway.get(
            "/v1/wallet", headers={**session.headers, "Grpc-Timeout": timeout}
        )
        assert response.status_code == 200, (timeout, response.text)


async def test_invalid_grpc_timeout_is_400(gateway: httpx.AsyncClient, open_session: Any) -> None:
    session = await open_session()
    response = await gateway.get("/v1/wallet", headers={**session.headers, "Grpc-Timeout": "soon"})
    assert response.status_code == 400
    assert response.json()["code"] == 3


async def test_default_deadline_applies(gateway_factory: Any, open_session: Any) -> None:
    session = await open_session()
    async with gateway_factory(default_deadline_seconds=0.2) as gateway:
        response = await gateway.post(
            "/v1/wallet/charges",
            json={"amount": 1, "description": "slow"},
            headers={**session.headers, "Idempotency-Key": "k"},
        )
    assert response.status_code == 504


async def test_backend_down_is_503(gateway_factory: Any, open_session: Any, backends: Any) -> None:
    session = await open_session()
    down = f"127.0.0.1:{free_port()}"
    backend_list = [Backend(AUTH_SERVICE, backends.address), Backend(BILLING_SERVICE, down)]
    async with gateway_factory(backend_list=backend_list) as gateway:
        response = await gateway.get("/v1/wallet", headers=session.headers)
        ready = await gateway.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "code": 14,
        "message": "service unavailable",
        "details": [request_info(response.headers["x-request-id"])],
    }
    assert ready.status_code == 503
    assert ready.json()["checks"] == {
        "tollgate.auth.v1.AuthService": True,
        "tollgate.billing.v1.BillingService": False,
        "redis": True,
        "ended_sessions_feed": True,
    }


async def test_malformed_json_is_400(gateway: httpx.AsyncClient, open_session: Any) -> None:
    session = await open_session()
    response = await gateway.post(
        "/v1/wallet/top-ups",
        content=b'{"amount": ',
        headers={**session.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert body["message"] == "malformed JSON body: a value was expected at line 1 column 12"
    assert [detail.get("reason") for detail in body["details"]] == ["MALFORMED_JSON", None]


async def test_wrong_type_is_400(gateway: httpx.AsyncClient, open_session: Any) -> None:
    session = await open_session()
    response = await gateway.post(
        "/v1/wallet/top-ups", json={"amount": "ten"}, headers=session.headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == 3


async def test_body_over_the_limit_is_413(gateway_factory: Any, open_session: Any) -> None:
    session = await open_session()
    async with gateway_factory(body_limit_bytes=64) as gateway:
        response = await gateway.post(
            "/v1/wallet/charges",
            json={"amount": 1, "description": "x" * 100},
            headers=session.headers,
        )
        login = await gateway.post("/v1/auth/login", content=b"{" + b" " * 100 + b"}")
    assert response.status_code == 413
    assert response.json()["code"] == 3
    assert login.status_code == 413


async def test_unknown_route_is_404(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "code": 5,
        "message": "Not Found",
        "details": [request_info(response.headers["x-request-id"])],
    }


async def test_wrong_method_is_405_with_allow(gateway: httpx.AsyncClient) -> None:
    response = await gateway.delete("/v1/wallet")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json() == {
        "code": 12,
        "message": "Method Not Allowed",
        "details": [request_info(response.headers["x-request-id"])],
    }


async def test_head_on_a_get_route_answers_its_headers_without_the_body(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()
    get = await gateway.get("/v1/wallet", headers=session.headers)
    head = await gateway.head("/v1/wallet", headers=session.headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == get.headers["content-length"]
    assert (await gateway.head("/healthz")).status_code == 200
    # Not signed in: the GET's 401, headers only.
    refused = await gateway.head("/v1/wallet")
    assert refused.status_code == 401
    assert refused.content == b""


async def test_wrong_method_can_answer_like_grpc_gateway(gateway_factory: Any) -> None:
    async with gateway_factory(method_not_allowed_status=501) as gateway:
        response = await gateway.put("/v1/auth/login", json={})
    assert response.status_code == 501
    assert response.json()["code"] == 12


async def test_auth_svc_down_before_any_key_is_503_not_401(
    gateway_factory: Any, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    down = f"127.0.0.1:{free_port()}"
    backend_list = [Backend(AUTH_SERVICE, down), Backend(BILLING_SERVICE, backends.address)]
    async with gateway_factory(backend_list=backend_list, auth_addr=down) as gateway:
        response = await gateway.get("/v1/wallet", headers=session.headers)
    # The token may well be good: "retry later", not "log in again".
    assert response.status_code == 503
    assert response.json() == {
        "code": 14,
        "message": "service unavailable",
        "details": [request_info(response.headers["x-request-id"])],
    }


async def test_a_huge_grpc_timeout_is_capped_not_overflowed(
    gateway_factory: Any, open_session: Any
) -> None:
    session = await open_session()
    async with gateway_factory(max_deadline_seconds=0.3) as gateway:
        ok = await gateway.get(
            "/v1/wallet", headers={**session.headers, "Grpc-Timeout": "99999999H"}
        )
        started = time.monotonic()
        slow = await gateway.post(
            "/v1/wallet/charges",
            json={"amount": 1, "description": "slow"},
            headers={**session.headers, "Idempotency-Key": "k", "Grpc-Timeout": "99999999H"},
        )
        waited = time.monotonic() - started
    assert ok.status_code == 200  # not an instant 504 from an overflowed deadline
    assert slow.status_code == 504  # the cap, not the client's years, bounds the call
    assert 0.25 < waited < 3


async def test_metrics_and_readiness_stay_inside_the_cluster(gateway_factory: Any) -> None:
    # The test client's peer is 203.0.113.9; as a trusted proxy that forwards a client, it
    # plays the ingress.
    forwarded = {"X-Forwarded-For": "198.51.100.7"}
    async with gateway_factory(trusted_proxies=["203.0.113.9"]) as gateway:
        metrics = await gateway.get("/metrics", headers=forwarded)
        ready = await gateway.get("/readyz", headers=forwarded)
        health = await gateway.get("/healthz", headers=forwarded)
        # Prometheus in the same pod CIDR scrapes the pod itself and forwards nothing.
        scraped = await gateway.get("/metrics")
    assert (metrics.status_code, ready.status_code, health.status_code) == (404, 404, 200)
    assert metrics.json() == {"code": 5, "message": "not found", "details": []}
    assert scraped.status_code == 200
    async with gateway_factory(trusted_proxies=["203.0.113.9"], ops_through_proxies=True) as open_:
        assert (await open_.get("/metrics", headers=forwarded)).status_code == 200


async def test_an_unpaired_surrogate_escape_is_a_bad_request_not_a_crash(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    before = len(backends.recorded.requests.get("Charge", []))
    for body in (b'{"amount": 5, "x\\udfff": 1}', b'{"amount": 5, "description": "\\ud800"}'):
        response = await gateway.post(
            "/v1/wallet/charges",
            content=body,
            headers={**session.headers, "Idempotency-Key": "k", "Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 3
        assert "unpaired surrogate" in response.json()["message"]
    # Anyone can send these, before any login: no 500, no stack trace in the log.
    response = await gateway.post(
        "/v1/auth/login",
        content=b'{"email": "a@example.com", "password": "x", "\\udc00": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert len(backends.recorded.requests.get("Charge", [])) == before


async def test_the_idempotency_key_header_must_be_one_printable_ascii_value(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    auth = list(session.headers.items())
    charge = {"amount": "5", "description": "coffee"}
    cases = [
        ([("Idempotency-Key", "clé".encode())], "printable ASCII"),
        ([("Idempotency-Key", b"a"), ("Idempotency-Key", b"b")], "more than one"),
    ]
    for headers, message in cases:
        response = await gateway.post("/v1/wallet/charges", json=charge, headers=auth + headers)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 3
        assert message in response.json()["message"]
    # Routes without an idempotency key ignore the header, as they always did.
    wallet = await gateway.get("/v1/wallet", headers=auth + cases[0][0])
    assert wallet.status_code == 200, wallet.text
    # The same key twice is one key.
    same = [("Idempotency-Key", b"k-1"), ("Idempotency-Key", b"k-1")]
    response = await gateway.post("/v1/wallet/charges", json=charge, headers=auth + same)
    assert response.status_code == 200, response.text
    assert backends.recorded.requests["Charge"][-1].idempotency_key == "k-1"
