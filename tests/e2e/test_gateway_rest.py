"""The REST contract through the real gateway, auth-svc and billing-svc processes on real
PostgreSQL and Redis (curl-style requests with httpx)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tollgate_devstack.stack import Stack

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.http_url("gateway"), timeout=15) as client:
        yield client


def _email() -> str:
    return f"gw-{uuid.uuid4().hex[:12]}@example.com"


def _key() -> str:
    return uuid.uuid4().hex


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _signed_in(api: httpx.Client) -> tuple[str, dict[str, Any]]:
    email = _email()
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return email, login.json()


def _reason(response: httpx.Response) -> str:
    return str(response.json()["details"][0]["reason"])


def test_the_whole_contract_in_order(api: httpx.Client) -> None:
    email = _email()
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    assert registered.json()["email"] == email
    user_id = registered.json()["userId"]

    login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["tokenType"] == "Bearer"
    assert tokens["expiresIn"] > 0
    auth = _bearer(tokens["accessToken"])

    me = api.get("/v1/auth/me", headers=auth)
    assert me.status_code == 200, me.text
    assert me.json()["userId"] == user_id
    assert me.json()["email"] == email
    assert me.json()["emailVerified"] is False
    assert me.json()["createdAt"].endswith("Z")

    wallet = api.get("/v1/wallet", headers=auth)
    assert wallet.status_code == 200, wallet.text
    assert wallet.json()["balance"] == "0"
    assert wallet.json()["currency"]

    top_up = api.post(
        "/v1/wallet/top-ups", json={"amount": "1000"}, headers={**auth, "Idempotency-Key": _key()}
    )
    assert top_up.status_code == 200, top_up.text
    assert top_up.json()["balance"] == "1000"
    assert top_up.json()["transaction"]["kind"] == "TOP_UP"
    assert top_up.json()["transaction"]["amount"] == "1000"

    charge = api.post(
        "/v1/wallet/charges",
        json={"amount": "300", "description": "coffee"},
        headers={**auth, "Idempotency-Key": _key()},
    )
    assert charge.status_code == 200, charge.text
    charged = charge.json()["transaction"]
    assert (charged["kind"], charged["amount"], charged["description"]) == (
        "CHARGE",
        "-300",
        "coffee",
    )
    assert charge.json()["balance"] == "700"

    refund = api.post(
        f"/v1/wallet/charges/{charged['id']}/refunds",
        json={"amount": "100"},
        headers={**auth, "Idempotency-Key": _key()},
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["transaction"]["kind"] == "REFUND"
    assert refund.json()["transaction"]["refundOf"] == charged["id"]
    assert refund.json()["balance"] == "800"

    first = api.get("/v1/wallet/transactions", params={"pageSize": 2}, headers=auth)
    assert first.status_code == 200, first.text
    assert [tx["kind"] for tx in first.json()["transactions"]] == ["REFUND", "CHARGE"]
    assert first.json()["nextPageToken"]
    rest = api.get(
        "/v1/wallet/transactions",
        params={"pageSize": 2, "pageToken": first.json()["nextPageToken"]},
        headers=auth,
    )
    assert [tx["kind"] for tx in rest.json()["transactions"]] == ["TOP_UP"]
    assert rest.json()["nextPageToken"] == ""

    refreshed = api.post("/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    new_auth = _bearer(refreshed.json()["accessToken"])
    assert api.get("/v1/wallet", headers=new_auth).status_code == 200

    logout = api.post("/v1/auth/logout", json={}, headers=new_auth)
    assert logout.status_code == 200, logout.text
    assert logout.json() == {}
    # Logout ends the session: every access token of it is refused at once.
    for old in (auth, new_auth):
        blocked = api.get("/v1/wallet", headers=old)
        assert blocked.status_code == 401
        assert blocked.headers["www-authenticate"].startswith("Bearer")
        assert _reason(blocked) == "SESSION_REVOKED"


def test_jwks_is_public(api: httpx.Client) -> None:
    response = api.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    assert all(key["kid"] and key["alg"] == "EdDSA" for key in keys)


def test_idempotent_charge_replay_returns_the_same_transaction(api: httpx.Client) -> None:
    _, tokens = _signed_in(api)
    auth = _bearer(tokens["accessToken"])
    top_up = {**auth, "Idempotency-Key": _key()}
    api.post("/v1/wallet/top-ups", json={"amount": 500}, headers=top_up)
    key = _key()
    body = {"amount": 200, "description": "once"}
    first = api.post("/v1/wallet/charges", json=body, headers={**auth, "Idempotency-Key": key})
    again = api.post("/v1/wallet/charges", json=body, headers={**auth, "Idempotency-Key": key})
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["transaction"]["id"] == again.json()["transaction"]["id"]
    assert api.get("/v1/wallet", headers=auth).json()["balance"] == "300"
    other = api.post(
        "/v1/wallet/charges",
        json={"amount": 201, "description": "once"},
        headers={**auth, "Idempotency-Key": key},
    )
    assert other.status_code == 400
    assert _reason(other) == "IDEMPOTENCY_KEY_REUSED"


def test_insufficient_funds_is_400_with_reason(api: httpx.Client) -> None:
    _, tokens = _signed_in(api)
    response = api.post(
        "/v1/wallet/charges",
        json={"amount": 1, "description": "too much"},
        headers={**_bearer(tokens["accessToken"]), "Idempotency-Key": _key()},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 9
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert body["details"][0]["reason"] == "INSUFFICIENT_FUNDS"


def test_verify_email_with_a_bad_token_is_a_client_error(api: httpx.Client) -> None:
    response = api.post("/v1/auth/verify-email", json={"token": "not-a-real-token"})
    assert 400 <= response.status_code < 500
    assert response.json()["code"] in (3, 5, 9, 16)


def test_protected_routes_need_a_token(api: httpx.Client) -> None:
    for method, path in [
        ("GET", "/v1/auth/me"),
        ("POST", "/v1/auth/logout"),
        ("GET", "/v1/wallet"),
        ("POST", "/v1/wallet/top-ups"),
        ("POST", "/v1/wallet/charges"),
        ("POST", "/v1/wallet/charges/x/refunds"),
        ("GET", "/v1/wallet/transactions"),
    ]:
        response = api.request(method, path, json={} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == 16


def test_wrong_password_is_refused(api: httpx.Client) -> None:
    email, _ = _signed_in(api)
    response = api.post("/v1/auth/login", json={"email": email, "password": "wrong"})
    assert response.status_code == 401
    assert response.json()["code"] == 16


def test_unknown_route_and_method(api: httpx.Client) -> None:
    assert api.get("/v1/nope").status_code == 404
    assert api.delete("/v1/wallet").status_code == 405


def test_gateway_ops_endpoints(api: httpx.Client) -> None:
    assert api.get("/healthz").status_code == 200
    assert api.get("/readyz").json()["status"] == "ready"
    assert api.get("/openapi.json").json()["paths"]["/v1/wallet"]["get"]
    assert api.get("/docs").status_code == 200
    metrics = api.get("/metrics").text
    assert 'route="/v1/wallet"' in metrics
    assert 'grpc_client_handled_total{grpc_code="OK",grpc_method="GetWallet"' in metrics


# -- rate limits, against a second gateway process with strict limits ---------------------


@pytest.fixture(scope="module")
def strict_gateway(gateway_replica: Any) -> Iterator[str]:
    """A second gateway replica on the same backends and Redis, with small limits."""
    limits = {
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "60",
        "GATEWAY_RATE_LIMIT_BURST": "3",
        "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": "60",
        "GATEWAY_LOGIN_RATE_LIMIT_BURST": "2",
        # The per-email limit is under test; the per-address one must not interfere.
        "GATEWAY_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE": "100000",
        "GATEWAY_LOGIN_ADDRESS_RATE_LIMIT_BURST": "100000",
    }
    with gateway_replica("strict_gateway", limits) as url:
        yield url


def _until(send: Any, status: int, deadline: float = 10.0) -> httpx.Response:
    end = time.monotonic() + deadline
    while True:
        response: httpx.Response = send()
        if response.status_code == status or time.monotonic() > end:
            return response
        time.sleep(0.1)


def test_user_rate_limit_refuses_then_recovers(api: httpx.Client, strict_gateway: str) -> None:
    _, tokens = _signed_in(api)
    auth = _bearer(tokens["accessToken"])
    with httpx.Client(base_url=strict_gateway, timeout=15) as strict:
        statuses = [strict.get("/v1/wallet", headers=auth).status_code for _ in range(4)]
        assert statuses[:3] == [200, 200, 200]
        refused = strict.get("/v1/wallet", headers=auth)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["ratelimit-limit"] == "3"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert _reason(refused) == "RATE_LIMITED"
        recovered = _until(lambda: strict.get("/v1/wallet", headers=auth), 200)
        assert recovered.status_code == 200


def test_login_rate_limit_refuses_then_recovers(api: httpx.Client, strict_gateway: str) -> None:
    email, _ = _signed_in(api)
    body = {"email": email, "password": PASSWORD}
    with httpx.Client(base_url=strict_gateway, timeout=15) as strict:
        statuses = [strict.post("/v1/auth/login", json=body).status_code for _ in range(3)]
        assert statuses[:2] == [200, 200]
        assert statuses[2] == 429
        other = strict.post("/v1/auth/login", json={"email": _email(), "password": "x"})
        assert other.status_code != 429
        recovered = _until(lambda: strict.post("/v1/auth/login", json=body), 200)
        assert recovered.status_code == 200
