"""The OpenAPI document generated from the route table."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.headers import IDEMPOTENCY_KEY
from gateway.transcoding import RouteTable, build_openapi
from tollgate.auth.v1 import auth_pb2
from tollgate.billing.v1 import billing_pb2

PUBLIC = frozenset(
    {
        "tollgate.auth.v1.AuthService.Register",
        "tollgate.auth.v1.AuthService.Login",
        "tollgate.auth.v1.AuthService.Refresh",
        "tollgate.auth.v1.AuthService.VerifyEmail",
        "tollgate.auth.v1.AuthService.GetJwks",
    }
)


@pytest.fixture(scope="module")
def tollgate_document() -> dict[str, Any]:
    table = RouteTable.from_services(
        [
            auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
            billing_pb2.DESCRIPTOR.services_by_name["BillingService"],
        ],
        header_fields=[IDEMPOTENCY_KEY],
    )
    return build_openapi(table, title="Tollgate", version="v1", public_methods=PUBLIC)


@pytest.fixture(scope="module")
def echo_document(echo_table: RouteTable) -> dict[str, Any]:
    return build_openapi(echo_table, title="Echo", version="test", servers=["http://x"])


def test_document_is_openapi_31_and_serialisable(tollgate_document: dict[str, Any]) -> None:
    assert tollgate_document["openapi"] == "3.1.0"
    assert tollgate_document["info"] == {"title": "Tollgate", "version": "v1"}
    assert orjson.loads(orjson.dumps(tollgate_document)) == tollgate_document


def test_one_operation_per_binding_with_path_parameters(
    tollgate_document: dict[str, Any],
) -> None:
    refund = tollgate_document["paths"]["/v1/wallet/charges/{charge_id}/refunds"]["post"]
    assert refund["operationId"] == "BillingService_Refund"
    assert refund["parameters"][0] == {
        "name": "charge_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }
    body = refund["requestBody"]["content"]["application/json"]["schema"]
    # The path parameter is not repeated in the body schema, nor the key of its header.
    assert set(body["properties"]) == {"amount"}


@pytest.mark.parametrize(
    ("path", "body_fields"),
    [
        ("/v1/wallet/top-ups", {"amount"}),
        ("/v1/wallet/charges", {"amount", "description"}),
        ("/v1/wallet/charges/{charge_id}/refunds", {"amount"}),
    ],
)
def test_money_calls_take_the_idempotency_key_in_a_required_header_only(
    tollgate_document: dict[str, Any], path: str, body_fields: set[str]
) -> None:
    operation = tollgate_document["paths"][path]["post"]
    header = next(p for p in operation["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is True
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == body_fields
    assert body["required"] == ["amount"]


def test_required_fields_come_from_field_behavior(tollgate_document: dict[str, Any]) -> None:
    schemas = tollgate_document["components"]["schemas"]
    login = schemas["tollgate.auth.v1.LoginRequest"]
    assert login["required"] == ["email", "password"]
    # proto3: an empty string is an unset field, so a required one is non-empty.
    assert login["properties"]["email"] == {"type": "string", "minLength": 1}
    # Answers carry every field (unset ones with their zero value) but those marked OPTIONAL,
    # which are left out while unset.
    assert schemas["tollgate.auth.v1.LoginResponse"]["required"] == [
        "accessToken",
        "refreshToken",
        "tokenType",
        "expiresIn",
    ]
    assert schemas["tollgate.auth.v1.Jwk"]["required"] == ["kty", "kid", "use", "alg"]
    assert tollgate_document["paths"]["/v1/wallet"]["get"]["parameters"] == []


def test_a_body_is_required_only_when_a_field_in_it_is(tollgate_document: dict[str, Any]) -> None:
    paths = tollgate_document["paths"]
    # An empty body is an empty message: logout takes one, login refuses it.
    assert paths["/v1/auth/logout"]["post"]["requestBody"]["required"] is False
    assert paths["/v1/auth/login"]["post"]["requestBody"]["required"] is True


def test_query_parameters_for_get(tollgate_document: dict[str, Any]) -> None:
    operation = tollgate_document["paths"]["/v1/wallet/transactions"]["get"]
    names = [parameter["name"] for parameter in operation["parameters"]]
    assert names == ["pageSize", "pageToken"]
    assert "requestBody" not in operation


def test_schemas_follow_protojson(tollgate_document: dict[str, Any]) -> None:
    schemas = tollgate_document["components"]["schemas"]
    transaction = {
        name: {k: v for k, v in schema.items() if k != "description"}
        for name, schema in schemas["tollgate.billing.v1.Transaction"]["properties"].items()
    }
    assert (
        "decimal string"
        in schemas["tollgate.billing.v1.Transaction"]["properties"]["amount"]["description"]
    )
    # Only ever answered: the gateway writes 64-bit integers as strings.
    assert transaction["amount"] == {
        "type": "string",
        "format": "int64",
        "pattern": "^(?:0|-?[1-9][0-9]{0,17})$",
    }
    assert transaction["createdAt"] == {"type": "string", "format": "date-time"}
    assert transaction["kind"] == {
        "$ref": "#/components/schemas/tollgate.billing.v1.Transaction.Kind"
    }
    assert schemas["tollgate.billing.v1.Transaction.Kind"] == {
        "type": "string",
        "enum": ["KIND_UNSPECIFIED", "TOP_UP", "CHARGE", "REFUND"],
    }
    jwks = dict(schemas["tollgate.auth.v1.GetJwksResponse"]["properties"]["keys"])
    jwks.pop("description", None)
    assert jwks == {"type": "array", "items": {"$ref": "#/components/schemas/tollgate.auth.v1.Jwk"}}


def test_errors_use_the_status_schema(tollgate_document: dict[str, Any]) -> None:
    operation = tollgate_document["paths"]["/v1/wallet"]["get"]
    error = operation["responses"]["default"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/google.rpc.Status"}
    status = tollgate_document["components"]["schemas"]["google.rpc.Status"]
    assert set(status["properties"]) == {"code", "message", "details"}


def test_operations_are_secured_unless_public(tollgate_document: dict[str, Any]) -> None:
    paths = tollgate_document["paths"]
    assert paths["/v1/auth/login"]["post"]["security"] == []
    assert paths["/.well-known/jwks.json"]["get"]["security"] == []
    assert paths["/v1/wallet"]["get"]["security"] == [{"bearerAuth": []}]
    scheme = tollgate_document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_every_reference_resolves(
    tollgate_document: dict[str, Any], echo_document: dict[str, Any]
) -> None:
    for document in (tollgate_document, echo_document):
        schemas = document["components"]["schemas"]
        for reference in _references(document):
            assert reference.removeprefix("#/components/schemas/") in schemas


def test_echo_features_in_openapi(echo_document: dict[str, Any]) -> None:
    paths = echo_document["paths"]
    assert echo_document["servers"] == [{"url": "http://x"}]
    assert {"/v1/echoes/{inner.id}", "/v1/{room}/echoes/{inner.id}"} <= set(paths)
    assert paths["/v1/{room}/echoes/{inner.id}"]["get"]["operationId"] == "EchoService_GetEcho2"
    assert "/v1/{name}:cancel" in paths
    assert "lock" in paths["/v1/locks/{id}"]
    get_echo = paths["/v1/echoes/{inner.id}"]["get"]
    query = {parameter["name"]: parameter for parameter in get_echo["parameters"][1:]}
    assert "inner.count" in query
    assert "inner.deeper.note" in query
    assert "inner.id" not in query
    assert query["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert query["when"]["schema"] == {"type": "string", "format": "date-time"}
    echo = echo_document["components"]["schemas"]["tollgate.testing.v1.Echo"]["properties"]
    assert echo["counts"] == {
        "type": "object",
        "additionalProperties": {"type": "integer", "format": "int32"},
    }
    assert echo["customName"] == {"type": "string"}
    create = paths["/v1/{parent}/echoes"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/tollgate.testing.v1.Echo"
    }
    assert [parameter["name"] for parameter in create["parameters"]] == ["parent", "requestId"]
    listed = paths["/v1/echoes"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["type"] == "array"


def _references(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def test_deprecated_rpcs_and_fields_are_marked_deprecated(make_service: Any) -> None:
    from google.api.http_pb2 import HttpRule

    service = make_service(
        {"Old": HttpRule(post="/v1/old", body="*"), "Look": HttpRule(get="/v1/look")},
        deprecated=("Old", "f5"),
    )
    document = build_openapi(RouteTable.from_services([service]), title="t", version="v1")
    old = document["paths"]["/v1/old"]["post"]
    look = document["paths"]["/v1/look"]["get"]
    assert old["deprecated"] is True
    assert "deprecated" not in look
    reference = old["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    assert body["properties"]["f5"]["deprecated"] is True
    assert "deprecated" not in body["properties"]["f4"]
    query = {p["name"]: p for p in look["parameters"]}
    assert query["f5"]["deprecated"] is True
    assert "deprecated" not in query["f4"]
