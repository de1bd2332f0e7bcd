"""Every HttpRule feature of the transcoder's test proto, served through the real gateway:
nested path fields, additional_bindings, body "*" and a body field, repeated and enum
query parameters, `**` captures, custom verbs and methods, response_body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.backends import Backend
from gateway.bootstrap import AUTH_SERVICE

pytestmark = pytest.mark.integration


@pytest.fixture
async def echo_gateway(
    gateway_factory: Any, echo_backend: Any, backends: Any
) -> AsyncIterator[httpx.AsyncClient]:
    service, address = echo_backend
    backend_list = [Backend(AUTH_SERVICE, backends.address), Backend(service, address)]
    async with gateway_factory(backend_list=backend_list) as client:
        yield client


@pytest.fixture
async def auth(open_session: Any) -> dict[str, str]:
    session = await open_session()
    headers: dict[str, str] = session.headers
    return headers


async def test_nested_path_field_and_query(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    response = await echo_gateway.get(
        "/v1/echoes/abc?big=9007199254740993&color=GREEN&tags=a&tags=b&inner.count=3&flag=true",
        headers=auth,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["inner"]["id"] == "abc"
    assert body["inner"]["count"] == 3
    assert body["big"] == "9007199254740993"
    assert body["color"] == "GREEN"
    assert body["tags"] == ["a", "b"]
    assert body["flag"] is True
    # grpc-gateway's defaults: unset scalars are emitted, unset messages are null.
    assert body["small"] == 0
    assert body["when"] is None


async def test_additional_binding(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    response = await echo_gateway.get("/v1/rooms/r1/echoes/x", headers=auth)
    assert response.status_code == 200
    assert (response.json()["room"], response.json()["inner"]["id"]) == ("rooms/r1", "x")


async def test_body_star_with_path_winning(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    response = await echo_gateway.patch(
        "/v1/echoes/from-path",
        json={"id": "from-body", "customName": "n", "when": "2024-01-02T03:04:05Z"},
        headers={**auth, "Idempotency-Key": "ik"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "from-path"
    assert body["customName"] == "n"
    assert body["when"] == "2024-01-02T03:04:05Z"
    assert body["idempotencyKey"] == "ik"


async def test_body_field_and_query_rest(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    response = await echo_gateway.post(
        "/v1/rooms/r2/echoes?requestId=q1", json={"id": "e1"}, headers=auth
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["room"], body["idempotencyKey"]) == ("e1", "rooms/r2", "q1")


async def test_response_body_and_repeated_enums(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    response = await echo_gateway.get("/v1/echoes?ids=a&ids=b&colors=RED&colors=2", headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert [echo["id"] for echo in body] == ["a", "b"]
    assert body[0]["colors"] == ["RED", "GREEN"]


async def test_deep_wildcard_and_scalar_response_body(
    echo_gateway: httpx.AsyncClient, auth: Any
) -> None:
    file = await echo_gateway.get("/v1/files/a/b/c.txt", headers=auth)
    assert file.json() == {"path": "a/b/c.txt", "content": "aGVsbG8="}
    content = await echo_gateway.get("/v1/files/a/b/c.txt/content", headers=auth)
    assert content.json() == "aGVsbG8="


async def test_literal_beats_variable_and_custom_verb(
    echo_gateway: httpx.AsyncClient, auth: Any
) -> None:
    latest = await echo_gateway.get("/v1/operations/latest", headers=auth)
    assert latest.json()["name"] == "operations/latest"
    some = await echo_gateway.get("/v1/operations/op1", headers=auth)
    assert some.json()["name"] == "operations/op1"
    cancel = await echo_gateway.post(
        "/v1/operations/op1:cancel", json={"reason": "done"}, headers=auth
    )
    assert cancel.json() == {"name": "operations/op1", "done": True}


async def test_custom_http_method_and_delete(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    locked = await echo_gateway.request("LOCK", "/v1/locks/l1", headers=auth)
    assert locked.json() == {"locked": True}
    deleted = await echo_gateway.delete("/v1/echoes/e1", headers=auth)
    assert (deleted.status_code, deleted.json()) == (200, {})


async def test_unbound_method_is_not_routed(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    response = await echo_gateway.post(
        "/tollgate.testing.v1.EchoService/Ping", json={}, headers=auth
    )
    assert response.status_code == 404


async def test_wrong_types_are_400(echo_gateway: httpx.AsyncClient, auth: Any) -> None:
    query = await echo_gateway.get("/v1/echoes/abc?small=notanumber", headers=auth)
    assert (query.status_code, query.json()["code"]) == (400, 3)
    body = await echo_gateway.patch("/v1/echoes/x", json={"flag": "maybe"}, headers=auth)
    assert (body.status_code, body.json()["code"]) == (400, 3)


async def test_echo_routes_are_in_openapi(echo_gateway: httpx.AsyncClient) -> None:
    paths = (await echo_gateway.get("/openapi.json")).json()["paths"]
    assert "/v1/echoes/{inner.id}" in paths
    assert "post" in paths["/v1/{name}:cancel"] or any(":cancel" in path for path in paths)
