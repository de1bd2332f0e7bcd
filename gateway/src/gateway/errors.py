"""gRPC status → HTTP response, with grpc-gateway's status table and its JSON error body.

The body is a ``google.rpc.Status`` as JSON: ``{"code", "message", "details"}``, where each
detail is a JSON ``Any`` (``{"@type": "type.googleapis.com/google.rpc.ErrorInfo", ...}``).
Messages of server-side failures are replaced by fixed text, so nothing internal (stack
traces, connection errors, SQL) ever reaches a client.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import grpc
import orjson
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2

from gateway.request_id import current as current_request_id
from gateway.request_id import request_info
from tollgate_kit.errors import ERROR_DOMAIN, status_of

# Imported for its side effect too: the google.rpc detail types must be in the descriptor
# pool to render an Any as JSON.
_DETAIL_TYPES = (error_details_pb2.ErrorInfo, error_details_pb2.RequestInfo)

# runtime/errors.go HTTPStatusFromCode, by gRPC code number.
HTTP_STATUS_BY_CODE: dict[int, int] = {
    0: 200,  # OK
    1: 499,  # CANCELLED (client closed request)
    2: 500,  # UNKNOWN
    3: 400,  # INVALID_ARGUMENT
    4: 504,  # DEADLINE_EXCEEDED
    5: 404,  # NOT_FOUND
    6: 409,  # ALREADY_EXISTS
    7: 403,  # PERMISSION_DENIED
    8: 429,  # RESOURCE_EXHAUSTED
    9: 400,  # FAILED_PRECONDITION (deliberately not 412)
    10: 409,  # ABORTED
    11: 400,  # OUT_OF_RANGE
    12: 501,  # UNIMPLEMENTED
    13: 500,  # INTERNAL
    14: 503,  # UNAVAILABLE
    15: 500,  # DATA_LOSS
    16: 401,  # UNAUTHENTICATED
}

# Codes whose backend message may carry internal text (or the gRPC library's own, like
# "failed to connect to all addresses; last error: ... 10.0.3.7:50052"): a fixed message.
_SAFE_MESSAGES: dict[int, str] = {
    1: "request cancelled",
    2: "internal error",
    4: "deadline exceeded",
    13: "internal error",
    14: "service unavailable",
    15: "internal error",
}

# ErrorInfo reasons of errors the gateway answers itself (the transcoder's are in
# gateway.transcoding._errors): every 400 carries one.
BODY_TOO_LARGE = "BODY_TOO_LARGE"
INVALID_HEADER = "INVALID_HEADER"
INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
# 503 outside the app's lifespan: before it starts, after it stops.
GATEWAY_NOT_SERVING = "GATEWAY_NOT_SERVING"

# API answers carry tokens and account data: no cache (browser, proxy) may keep them
# (RFC 6749 5.1 asks it of token responses; the rest is personal).
JSON_HEADERS = ((b"content-type", b"application/json"), (b"cache-control", b"no-store"))


def http_status(code: int) -> int:
    """The HTTP status of gRPC ``code`` (unknown codes: 500)."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


def error_body(code: int, message: str, details: Iterable[Any] = ()) -> bytes:
    """The JSON status; inside a request, its id closes the details (``RequestInfo``)."""
    listed = list(details)
    request_id = current_request_id.get()
    if request_id is not None:
        listed.append(request_info(request_id))
    return orjson.dumps({"code": code, "message": message, "details": listed})


def error_info(reason: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """A ``google.rpc.ErrorInfo`` detail as JSON, in Tollgate's error domain."""
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": ERROR_DOMAIN,
        "metadata": metadata or {},
    }


def detail_json(detail: any_pb2.Any) -> dict[str, Any]:
    """One status detail as JSON ``Any``; a type the gateway does not know keeps its bytes."""
    try:
        rendered: dict[str, Any] = json_format.MessageToDict(
            detail, always_print_fields_with_no_presence=True
        )
    except (TypeError, KeyError, json_format.Error):
        return {"@type": detail.type_url, "value": base64.b64encode(detail.value).decode()}
    return rendered


def safe_message(code: int, message: str) -> str:
    """The backend's message for client errors, fixed text for server-side failures."""
    return _SAFE_MESSAGES.get(code, message)


_CANCELLED = grpc.StatusCode.CANCELLED.value[0]
_UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]


def rpc_error_payload(error: grpc.aio.AioRpcError) -> tuple[int, bytes]:
    """(HTTP status, JSON body) for a failed backend call.

    A call the gateway had cancelled (its client went away) raises ``CancelledError``, never
    reaches here: a ``CANCELLED`` that does is the backend's own (a server shutting down
    drops calls that have not started) and is answered as the retryable 503 it is, not as
    499 "the client closed the request"."""
    status = status_of(error)
    code = status.code
    if code == _CANCELLED:
        return http_status(_UNAVAILABLE), error_body(_UNAVAILABLE, "service unavailable")
    message = safe_message(code, status.message)
    details = [detail_json(detail) for detail in status.details]
    return http_status(code), error_body(code, message, details)
