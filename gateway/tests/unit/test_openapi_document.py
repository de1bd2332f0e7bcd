"""The served OpenAPI document: every operation lists its error responses, by HTTP status,
with the reasons its service declares and those the gateway answers itself."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.bootstrap import AUTH_SERVICE, BILLING_SERVICE, PUBLIC_METHODS, openapi_document
from gateway.errors import http_status
from gateway.headers import IDEMPOTENCY_KEY
from gateway.transcoding import RouteTable
from tollgate_kit.api_errors.auth import AUTH_ERRORS
from tollgate_kit.api_errors.billing import BILLING_ERRORS


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    table = RouteTable.from_services(
        [AUTH_SERVICE, BILLING_SERVICE], header_fields=[IDEMPOTENCY_KEY]
    )
    return openapi_document(table, PUBLIC_METHODS)


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (operation["operationId"], operation)
        for item in document["paths"].values()
        for operation in item.values()
    ]


def _reasons(operation: dict[str, Any]) -> dict[str, int]:
    return {
        reason: int(status)
        for status, response in operation["responses"].items()
        for reason in response.get("x-error-reasons", ())
    }


def test_every_declared_reason_is_listed_under_its_http_status(document: dict[str, Any]) -> None:
    declared = {"AuthService": AUTH_ERRORS, "BillingService": BILLING_ERRORS}
    for operation_id, operation in _operations(document):
        service, rpc = operation_id.split("_", 1)
        listed = _reasons(operation)
        for reason in declared[service].for_rpc(rpc):
            assert listed.get(reason.name) == http_status(reason.code.value[0]), (
                operation_id,
                reason.name,
            )
        # The gateway's own: every operation may be rate limited.
        assert listed["RATE_LIMITED"] == 429


def test_each_reason_has_an_example_body(document: dict[str, Any]) -> None:
    charge = document["paths"]["/v1/wallet/charges"]["post"]
    refused = charge["responses"]["400"]
    example = refused["content"]["application/json"]["examples"]["INSUFFICIENT_FUNDS"]["value"]
    assert example["code"] == 9
    assert example["details"][0]["reason"] == "INSUFFICIENT_FUNDS"
    assert example["details"][0]["domain"] == "tollgate.dev"
    assert "`INSUFFICIENT_FUNDS`" in refused["description"]
    for _, operation in _operations(document):
        for response in operation["responses"].values():
            examples = response["content"]["application/json"].get("examples", {})
            assert set(examples) == set(response.get("x-error-reasons", ()))


def test_token_failures_only_where_a_token_is_needed(document: dict[str, Any]) -> None:
    login = _reasons(document["paths"]["/v1/auth/login"]["post"])
    wallet = _reasons(document["paths"]["/v1/wallet"]["get"])
    assert "TOKEN_MISSING" not in login
    assert login["INVALID_CREDENTIALS"] == 401
    assert wallet["TOKEN_MISSING"] == 401
    assert "MALFORMED_JSON" not in wallet  # no body
    refund = _reasons(document["paths"]["/v1/wallet/charges/{charge_id}/refunds"]["post"])
    assert refund["REFUND_EXCEEDS_CHARGE"] == 400
    assert refund["CHARGE_NOT_FOUND"] == 404
    assert refund["INVALID_PATH"] == 400


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator

    validate(document, cls=OpenAPIV31SpecValidator)


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    return properties


def test_every_operation_parameter_schema_and_field_is_described(document: dict[str, Any]) -> None:
    undescribed = []
    for operation_id, operation in _operations(document):
        if not operation.get("summary") or not operation.get("description"):
            undescribed.append(operation_id)
        undescribed += [
            f"{operation_id} {p['name']}"
            for p in operation["parameters"]
            if not p.get("description")
        ]
        body = operation.get("requestBody")
        if body is not None:
            schema = body["content"]["application/json"]["schema"]
            undescribed += [
                f"{operation_id} body.{name}"
                for name, field in _properties(schema).items()
                if not field.get("description")
            ]
    for name, schema in document["components"]["schemas"].items():
        if not schema.get("description"):
            undescribed.append(name)
        undescribed += [
            f"{name}.{field}"
            for field, s in _properties(schema).items()
            if not s.get("description")
        ]
    assert undescribed == []
    assert all(tag.get("description") for tag in document["tags"])


def test_descriptions_come_from_the_proto_comments(document: dict[str, Any]) -> None:
    charge = document["paths"]["/v1/wallet/charges"]["post"]
    assert (
        charge["summary"]
        == "Charge debits the caller's wallet (idempotent by key); never below zero"
    )
    body = charge["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["amount"]
    amount = body["properties"]["amount"]
    assert "Minor units" in amount["description"]
    assert "decimal string" in amount["description"]
    assert amount["format"] == "int64"
    header = next(p for p in charge["parameters"] if p["name"] == "Idempotency-Key")
    assert header["required"] is True
    kind = document["components"]["schemas"]["tollgate.billing.v1.Transaction.Kind"]
    assert "- `REFUND`: Money given back from a charge (Refund)." in kind["description"]


def test_every_request_and_response_has_an_example_that_fits_its_schema(
    document: dict[str, Any],
) -> None:
    import jsonschema

    def check(schema: dict[str, Any], example: Any, where: str) -> None:
        rooted = {**schema, "components": document["components"]}
        jsonschema.Draft202012Validator(rooted).validate(example)

    for operation_id, operation in _operations(document):
        body = operation.get("requestBody")
        if body is not None:
            media = body["content"]["application/json"]
            assert "example" in media, f"{operation_id} request"
            check(media["schema"], media["example"], operation_id)
        for parameter in operation["parameters"]:
            assert "example" in parameter, f"{operation_id} {parameter['name']}"
            check(parameter["schema"], parameter["example"], operation_id)
        ok = operation["responses"]["200"]["content"]["application/json"]
        assert "example" in ok, f"{operation_id} response"
        check(ok["schema"], ok["example"], operation_id)
