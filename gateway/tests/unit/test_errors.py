"""gRPC status → HTTP: grpc-gateway's table (runtime/errors.go) for every code."""

from __future__ import annotations

import grpc
import orjson
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2

from gateway.errors import detail_json, error_body, http_status, rpc_error_payload, safe_message

EXPECTED = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


def test_every_grpc_code_is_in_the_table() -> None:
    assert set(EXPECTED) == set(grpc.StatusCode)


@pytest.mark.parametrize(("code", "status"), list(EXPECTED.items()), ids=lambda v: str(v))
def test_grpc_code_maps_to_http_status(code: grpc.StatusCode, status: int) -> None:
    assert http_status(code.value[0]) == status


def test_unknown_code_is_500() -> None:
    assert http_status(99) == 500


@pytest.mark.parametrize("code", [1, 2, 4, 13, 14, 15])
def test_server_side_failures_get_fixed_messages(code: int) -> None:
    assert "10.0.0.7" not in safe_message(code, "connect failed: 10.0.0.7:50052 refused")


def test_client_errors_keep_the_backend_message() -> None:
    assert safe_message(9, "insufficient funds") == "insufficient funds"


def test_error_body_shape() -> None:
    assert orjson.loads(error_body(5, "Not Found")) == {
        "code": 5,
        "message": "Not Found",
        "details": [],
    }


def test_error_info_detail_renders_as_json_any() -> None:
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason="R", domain="d", metadata={"k": "v"}))
    assert detail_json(detail) == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "R",
        "domain": "d",
        "metadata": {"k": "v"},
    }


def test_unknown_detail_type_keeps_its_bytes() -> None:
    detail = any_pb2.Any(type_url="type.googleapis.com/acme.Unknown", value=b"\x01")
    assert detail_json(detail) == {"@type": "type.googleapis.com/acme.Unknown", "value": "AQ=="}


def test_a_backend_that_cancels_a_call_is_unavailable_not_a_closed_request() -> None:
    error = grpc.aio.AioRpcError(
        grpc.StatusCode.CANCELLED, grpc.aio.Metadata(), grpc.aio.Metadata(), "shutting down"
    )
    status, body = rpc_error_payload(error)
    assert status == 503
    assert orjson.loads(body) == {"code": 14, "message": "service unavailable", "details": []}
