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
