"""/healthz, /readyz, /metrics, CORS and the recover middleware."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.request_id import request_info

pytestmark = pytest.mark.integration


async def test_healthz_and_readyz(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert all(ready.json()["checks"].values())


async def test_metrics_use_the_route_template(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()
    headers = {**session.headers, "Idempotency-Key": "k"}
    await gateway.post("/v1/wallet/charges/ch-1/refunds", json={"amount": 1}, headers=headers)
    await gateway.post("/v1/wallet/charges/ch-2/refunds", json={"amount": 1}, headers=headers)
    await gateway.get("/v1/wallet")
    await gateway.get("/no/such/thing")
    text = (await gateway.get("/metrics")).text
    assert (
        'http_requests_total{method="POST",route="/v1/wallet/charges/{charge_id}/refunds",'
        'status="200"} 2.0' in text
    )
    assert 'http_requests_total{method="GET",route="/v1/wallet",status="401"} 1.0' in text
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "ch-1" not in text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="POST"' in text
    assert (
        'grpc_client_handled_total{grpc_code="OK",grpc_method="Refund",'
        'grpc_service="tollgate.billing.v1.BillingService"} 2.0' in text
    )
    assert "grpc_client_handling_seconds_bucket" in text


async def test_cors_allows_listed_origins_only(gateway_factory: Any) -> None:
    async with gateway_factory(cors_allow_origins="https://app.example.com") as gateway:
        preflight = await gateway.options(
            "/v1/wallet",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        other = await gateway.options(
            "/v1/wallet",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        simple = await gateway.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == "https://app.example.com"


async def test_unexpected_exception_is_a_bare_500(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    gateway.app.state.runtime.backends.call = broken  # type: ignore[attr-defined]
    response = await gateway.get("/v1/wallet", headers=session.headers)
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "code": 13,
        "message": "internal error",
        "details": [request_info(request_id)],
    }
    assert "secret" not in response.text
