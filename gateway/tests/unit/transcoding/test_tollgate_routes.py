"""The real Tollgate contracts: every REST row routes to its RPC and transcodes."""

from __future__ import annotations

import orjson
import pytest
from google.protobuf.descriptor import ServiceDescriptor

from gateway.transcoding import Match, RouteTable, build_request, render_response
from tollgate.auth.v1 import auth_pb2
from tollgate.billing.v1 import billing_pb2


def tollgate_services() -> list[ServiceDescriptor]:
    return [
        auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
        billing_pb2.DESCRIPTOR.services_by_name["BillingService"],
    ]


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable.from_services(tollgate_services())


CONTRACT = [
    ("POST", "/v1/auth/register", "tollgate.auth.v1.AuthService.Register", {}),
    ("POST", "/v1/auth/login", "tollgate.auth.v1.AuthService.Login", {}),
    ("POST", "/v1/auth/refresh", "tollgate.auth.v1.AuthService.Refresh", {}),
    ("POST", "/v1/auth/logout", "tollgate.auth.v1.AuthService.Logout", {}),
    ("GET", "/v1/auth/me", "tollgate.auth.v1.AuthService.Me", {}),
    ("POST", "/v1/auth/verify-email", "tollgate.auth.v1.AuthService.VerifyEmail", {}),
    ("GET", "/.well-known/jwks.json", "tollgate.auth.v1.AuthService.GetJwks", {}),
    ("GET", "/v1/auth/sessions", "tollgate.auth.v1.AuthService.ListSessions", {}),
    ("POST", "/v1/auth/me:close", "tollgate.auth.v1.AuthService.CloseAccount", {}),
    ("POST", "/v1/auth/password-reset", "tollgate.auth.v1.AuthService.RequestPasswordReset", {}),
    (
        "POST",
        "/v1/auth/password-reset:confirm",
        "tollgate.auth.v1.AuthService.ConfirmPasswordReset",
        {},
    ),
    ("POST", "/v1/auth/me/password", "tollgate.auth.v1.AuthService.ChangePassword", {}),
    ("POST", "/v1/auth/me/email", "tollgate.auth.v1.AuthService.ChangeEmail", {}),
    (
        "POST",
        "/v1/auth/email-change:confirm",
        "tollgate.auth.v1.AuthService.ConfirmEmailChange",
        {},
    ),
    ("POST", "/v1/auth/me/mfa:enroll", "tollgate.auth.v1.AuthService.EnrollMfa", {}),
    ("POST", "/v1/auth/me/mfa:confirm", "tollgate.auth.v1.AuthService.ConfirmMfa", {}),
    ("POST", "/v1/auth/me/mfa:disable", "tollgate.auth.v1.AuthService.DisableMfa", {}),
    ("POST", "/v1/auth/login:mfa", "tollgate.auth.v1.AuthService.CompleteMfaLogin", {}),
    (
        "DELETE",
        "/v1/auth/sessions/s1",
        "tollgate.auth.v1.AuthService.RevokeSession",
        {"session_id": "s1"},
    ),
    ("GET", "/v1/wallet", "tollgate.billing.v1.BillingService.GetWallet", {}),
    ("POST", "/v1/wallet/top-ups", "tollgate.billing.v1.BillingService.TopUp", {}),
    ("POST", "/v1/wallet/charges", "tollgate.billing.v1.BillingService.Charge", {}),
    (
        "POST",
        "/v1/wallet/charges/abc/refunds",
        "tollgate.billing.v1.BillingService.Refund",
        {"charge_id": "abc"},
    ),
    ("GET", "/v1/wallet/transactions", "tollgate.billing.v1.BillingService.ListTransactions", {}),
]


@pytest.mark.parametrize(("http_method", "path", "rpc", "params"), CONTRACT)
def test_every_contract_row_routes_to_its_rpc(
    table: RouteTable, http_method: str, path: str, rpc: str, params: dict[str, str]
) -> None:
    found = table.match(http_method, path)
    assert isinstance(found, Match)
    assert found.route.method.full_name == rpc
    assert found.path_params == params


def test_every_annotated_rpc_is_in_the_contract(table: RouteTable) -> None:
    assert {route.method.full_name for route in table} == {row[2] for row in CONTRACT}


def test_refund_takes_the_charge_from_the_path_and_the_key_from_the_header(
    table: RouteTable,
) -> None:
    found = table.match("POST", "/v1/wallet/charges/abc/refunds")
    assert isinstance(found, Match)
    request = build_request(
        found.route,
        found.path_params,
        body=b'{"amount": "250"}',
        field_overrides={"idempotency_key": "key-1"},
    )
    assert request == billing_pb2.RefundRequest(
        charge_id="abc", amount=250, idempotency_key="key-1"
    )
    assert found.route.grpc_method == "/tollgate.billing.v1.BillingService/Refund"


def test_list_transactions_reads_paging_from_the_query(table: RouteTable) -> None:
    found = table.match("GET", "/v1/wallet/transactions")
    assert isinstance(found, Match)
    request = build_request(found.route, found.path_params, "pageSize=10&pageToken=t")
    assert request == billing_pb2.ListTransactionsRequest(page_size=10, page_token="t")


def test_charge_response_json_matches_the_contract(table: RouteTable) -> None:
    found = table.match("POST", "/v1/wallet/charges")
    assert isinstance(found, Match)
    response = billing_pb2.ChargeResponse(
        transaction=billing_pb2.Transaction(
            id="t1", amount=-500, kind=billing_pb2.Transaction.CHARGE, currency="EUR"
        ),
        balance=1500,
    )
    assert orjson.loads(render_response(found.route, response)) == {
        "transaction": {
            "id": "t1",
            "amount": "-500",
            "kind": "CHARGE",
            "description": "",
            "refundOf": "",
            "createdAt": None,
            "currency": "EUR",
        },
        "balance": "1500",
    }


def test_wrong_method_on_a_contract_path_is_method_not_allowed(table: RouteTable) -> None:
    found = table.match("GET", "/v1/wallet/charges")
    assert not isinstance(found, Match)
    assert found.http_status == 501
