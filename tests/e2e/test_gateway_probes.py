"""The probes of issue 13 against the real suite: one idempotency key per money call (in the
header only), an OpenAPI document that says what is refused, 400s in our own words with an
ErrorInfo reason, HEAD on GET routes, JWKS without the other key type's members."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest

from tollgate_devstack.stack import Stack

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
# Text of Python's own exceptions that once reached clients.
PYTHON_WORDS = ("int()", "float()", "'list'", "'dict'", "utf-8-sig", "Traceback", "NoneType")


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.http_url("gateway"), timeout=15) as client:
        yield client


@pytest.fixture
def auth(api: httpx.Client) -> dict[str, str]:
    email = f"probe-{uuid.uuid4().hex[:12]}@example.com"
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['accessToken']}"}


def _balance(api: httpx.Client, auth: dict[str, str]) -> int:
    response = api.get("/v1/wallet", headers=auth)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


def _reasons(response: httpx.Response) -> list[str]:
    """The ErrorInfo reasons of an error (other detail types may come along)."""
    return [
        detail.get("reason")
        for detail in response.json()["details"]
        if detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    ]


def test_a_body_idempotency_key_is_refused_so_two_keys_never_move_money_twice(
    api: httpx.Client, auth: dict[str, str]
) -> None:
    top_ups = "/v1/wallet/top-ups"
    both = api.post(
        top_ups,
        json={"amount": 500, "idempotencyKey": "key-b"},
        headers={**auth, "Idempotency-Key": "key-a"},
    )
    body_only = api.post(top_ups, json={"amount": 500, "idempotencyKey": "key-b"}, headers=auth)
    proto_name = api.post(top_ups, json={"amount": 500, "idempotency_key": "key-b"}, headers=auth)
    for refused in (both, body_only, proto_name):
        assert refused.status_code == 400, refused.text
        assert _reasons(refused) == ["FIELD_BELONGS_IN_HEADER"]
        assert "Idempotency-Key header" in refused.json()["message"]
    assert _balance(api, auth) == 0
    first = api.post(top_ups, json={"amount": 500}, headers={**auth, "Idempotency-Key": "key-a"})
    again = api.post(top_ups, json={"amount": 500}, headers={**auth, "Idempotency-Key": "key-a"})
    assert first.status_code == again.status_code == 200
    assert _balance(api, auth) == 500


def test_whitespace_around_the_idempotency_key_is_not_part_of_it(
    api: httpx.Client, auth: dict[str, str], stack: Stack
) -> None:
    # httpx refuses to send the padding; http.client sends the bytes as given.
    url = urlsplit(stack.http_url("gateway"))
    answers = []
    for key in ("ows-key", "ows-key  \t", " ows-key"):
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=15)
        try:
            connection.request(
                "POST",
                "/v1/wallet/top-ups",
                body=b'{"amount": 7}',
                headers={**auth, "Idempotency-Key": key, "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            answers.append((response.status, json.loads(response.read())))
        finally:
            connection.close()
    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert len({body["transaction"]["id"] for _, body in answers}) == 1
    assert _balance(api, auth) == 7


def test_the_openapi_document_says_what_the_gateway_refuses(
    api: httpx.Client, auth: dict[str, str]
) -> None:
    document = api.get("/openapi.json").json()
    for path in (
        "/v1/wallet/top-ups",
        "/v1/wallet/charges",
        "/v1/wallet/charges/{charge_id}/refunds",
    ):
        operation = document["paths"][path]["post"]
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [(p["name"], p["required"]) for p in headers] == [("Idempotency-Key", True)]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert "idempotencyKey" not in body["properties"]
        # {} is invalid by the document exactly where the gateway answers 400.
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({}, body)
    refused = api.post("/v1/wallet/charges", json={}, headers={**auth, "Idempotency-Key": "k"})
    assert refused.status_code == 400
    login = document["components"]["schemas"]["tollgate.auth.v1.LoginRequest"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({}, login)
    assert api.post("/v1/auth/login", json={}).status_code in (400, 401)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"amount": [1]}',
            "field amount must be an integer (a JSON number or a string of digits)",
        ),
        (
            b'{"amount": {"a": 1}}',
            "field amount must be an integer (a JSON number or a string of digits)",
        ),
        (
            b'{"amount": true}',
            "field amount must be an integer (a JSON number or a string of digits)",
        ),
        (
            b'{"amount": 1.5}',
            "field amount must be an integer (a JSON number or a string of digits)",
        ),
        (b'{"amount": 1e30}', "value out of range for field amount"),
        (b'{"amount": 5, "description": 7}', "field description must be a string"),
        (b'\xef\xbb\xbf{"amount": 5}', "malformed JSON body: a byte order mark starts it"),
        (b'{"amount": 5', "malformed JSON body: ',' was expected at line 1 column 13"),
        (b'\xff{"amount": 5}', "the request body is not valid UTF-8"),
        (b"[1, 2]", "the request body must be a JSON object"),
        (b'{"amount": NaN}', "malformed JSON body: NaN is not valid JSON"),
    ],
)
def test_bad_bodies_are_400_in_our_words_with_a_reason(
    api: httpx.Client, auth: dict[str, str], body: bytes, message: str
) -> None:
    response = api.post(
        "/v1/wallet/charges",
        content=body,
        headers={**auth, "Idempotency-Key": "bad-body", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    payload = response.json()
    assert payload["message"] == message
    assert not any(word in payload["message"] for word in PYTHON_WORDS)
    assert _reasons(response)
    assert all(_reasons(response))


@pytest.mark.parametrize(
    ("method", "path", "headers", "query"),
    [
        ("GET", "/v1/wallet/transactions", {}, "pageSize=abc"),
        ("GET", "/v1/wallet/transactions", {}, "pageSize=99999999999"),
        ("GET", "/v1/wallet", {"Grpc-Timeout": "forever"}, ""),
        ("POST", "/v1/wallet/top-ups", {"Idempotency-Key": "cl\u00e9"}, ""),
        ("GET", "/v1/wallet/transactions", {"Grpc-Metadata-x-bin": "!!"}, ""),
        ("POST", "/v1/wallet/charges/%zz/refunds", {"Idempotency-Key": "k"}, ""),
    ],
)
def test_every_400_carries_an_error_info_reason(
    api: httpx.Client,
    auth: dict[str, str],
    method: str,
    path: str,
    headers: dict[str, str],
    query: str,
) -> None:
    encoded = {key: value.encode("utf-8") for key, value in headers.items()}
    response = api.request(
        method,
        f"{path}?{query}" if query else path,
        headers={**auth, **encoded},
        json={"amount": 1} if method == "POST" else None,
    )
    assert response.status_code == 400, response.text
    reasons = _reasons(response)
    assert reasons, response.text
    assert all(reasons), response.text
    assert not any(word in response.json()["message"] for word in PYTHON_WORDS)


def test_head_on_get_routes(api: httpx.Client, auth: dict[str, str]) -> None:
    for path in ("/v1/wallet", "/v1/wallet/transactions", "/.well-known/jwks.json", "/healthz"):
        get = api.get(path, headers=auth)
        head = api.head(path, headers=auth)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers.get("content-length") == get.headers.get("content-length")
    assert api.head("/v1/wallet/top-ups").status_code == 405


def test_jwks_publishes_only_the_members_of_each_key_type(api: httpx.Client) -> None:
    keys: list[dict[str, Any]] = api.get("/.well-known/jwks.json").json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "OKP"
        assert key["crv"] == "Ed25519"
        assert key["x"]
        assert "n" not in key
        assert "e" not in key


def test_a_refresh_with_an_access_token_says_so_in_good_english(
    api: httpx.Client, auth: dict[str, str]
) -> None:
    access = auth["Authorization"].removeprefix("Bearer ")
    response = api.post("/v1/auth/refresh", json={"refreshToken": access})
    assert response.status_code == 401
    assert "not an refresh" not in response.text
