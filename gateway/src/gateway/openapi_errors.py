"""The error responses of each OpenAPI operation: every HTTP status it can answer and, per
status, the ``ErrorInfo`` reasons behind it, each with an example body.

The service's reasons come from its declaration (``tollgate_kit.api_errors``: the same table
its servicer maps errors with); the gateway adds those it answers itself, by what the route
takes (a token, a body, a header field, query or path parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from gateway.errors import (
    BODY_TOO_LARGE,
    GATEWAY_NOT_SERVING,
    INVALID_HEADER,
    INVALID_IDEMPOTENCY_KEY,
    http_status,
)
from gateway.request_id import request_info
from gateway.transcoding import (
    FIELD_BELONGS_IN_HEADER,
    INVALID_FIELD,
    INVALID_PATH,
    MALFORMED_JSON,
    Route,
)
from tollgate_kit.caller import CALLER_REASONS
from tollgate_kit.errors import ERROR_DOMAIN, DeclaredErrors, Reason

_JSON = "application/json"
_C = grpc.StatusCode


@dataclass(frozen=True)
class _GatewayReason:
    reason: Reason
    status: int
    applies: Callable[[Route, bool], bool]


def _has_body(route: Route, secured: bool) -> bool:
    return bool(route.body)


def _has_header_field(route: Route, secured: bool) -> bool:
    return bool(route.header_fields)


def _has_query_or_body(route: Route, secured: bool) -> bool:
    return bool(route.body) or route.http_method in ("GET", "DELETE")


def _has_path_field(route: Route, secured: bool) -> bool:
    return bool(route.path_fields)


def _secured(route: Route, secured: bool) -> bool:
    return secured


def _always(route: Route, secured: bool) -> bool:
    return True


_CALLER = {reason.name: reason for reason in CALLER_REASONS}
_INVALID = _C.INVALID_ARGUMENT

# What the gateway answers before a request reaches its service.
GATEWAY_REASONS: tuple[_GatewayReason, ...] = (
    *(
        _GatewayReason(_CALLER[name], 401, _secured)
        for name in ("TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED", "SESSION_REVOKED")
    ),
    _GatewayReason(
        Reason(
            "RATE_LIMITED",
            _C.RESOURCE_EXHAUSTED,
            "Too many requests from this caller (or, for sign-up and login, this address or"
            " email): wait for the `Retry-After` header's seconds.",
            "rate limit exceeded",
        ),
        429,
        _always,
    ),
    _GatewayReason(
        Reason(
            GATEWAY_NOT_SERVING,
            _C.UNAVAILABLE,
            "The gateway is starting or stopping; retry (another replica may answer).",
            "the gateway is not serving",
        ),
        503,
        _always,
    ),
    _GatewayReason(
        Reason(
            INVALID_HEADER,
            _INVALID,
            "A request header is malformed (`grpc-timeout`, or metadata the gateway forwards).",
            "invalid grpc-timeout header",
        ),
        400,
        _always,
    ),
    _GatewayReason(
        Reason(
            BODY_TOO_LARGE,
            _INVALID,
            "The request body is larger than the gateway accepts.",
            "request body too large",
        ),
        413,
        _has_body,
    ),
    _GatewayReason(
        Reason(MALFORMED_JSON, _INVALID, "The body is not valid JSON.", "malformed JSON body"),
        400,
        _has_body,
    ),
    _GatewayReason(
        Reason(
            INVALID_FIELD,
            _INVALID,
            "A field has a value of the wrong type, or is unknown.",
            'invalid value for field "amount"',
        ),
        400,
        _has_query_or_body,
    ),
    _GatewayReason(
        Reason(
            INVALID_PATH,
            _INVALID,
            "A path parameter is not a valid percent-encoded value.",
            "malformed percent-escape in the path",
        ),
        400,
        _has_path_field,
    ),
    _GatewayReason(
        Reason(
            INVALID_IDEMPOTENCY_KEY,
            _INVALID,
            "The `Idempotency-Key` header is missing, longer than 255 characters or not"
            " printable text.",
            "the Idempotency-Key header is required",
        ),
        400,
        _has_header_field,
    ),
    _GatewayReason(
        Reason(
            FIELD_BELONGS_IN_HEADER,
            _INVALID,
            "The idempotency key was sent in the body or query: it travels only in the"
            " `Idempotency-Key` header.",
            'field "idempotencyKey" must be sent in the Idempotency-Key header',
        ),
        400,
        _has_header_field,
    ),
)

_STATUS_TITLES = {
    400: "Bad request: the request is invalid, or the current state refuses it.",
    401: "Not authenticated.",
    403: "Forbidden.",
    404: "Not found.",
    409: "Conflict.",
    413: "Request body too large.",
    429: "Too many requests.",
    500: "Internal error.",
    503: "Unavailable: retry later.",
}


def error_example(reason: Reason) -> dict[str, Any]:
    """The JSON error body a client gets for ``reason``."""
    return {
        "code": reason.code.value[0],
        "message": reason.message,
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason.name,
                "domain": ERROR_DOMAIN,
                "metadata": dict(reason.metadata),
            },
            request_info("9f0c2b7e4a1d4e6f8a3b5c7d9e1f2a4b"),
        ],
    }


class ErrorResponses:
    """``build_openapi``'s ``error_responses``: for a route, a ``responses`` entry per HTTP
    status it can answer, each listing its reasons (``x-error-reasons``) with an example
    body apiece; the services' reasons from ``declared`` (by service full name)."""

    def __init__(self, declared: Iterable[DeclaredErrors]) -> None:
        self._declared = {errors.service: errors for errors in declared}

    def __call__(self, route: Route, secured: bool) -> dict[str, Any]:
        declared = self._declared.get(route.method.containing_service.full_name)
        service_reasons = declared.for_rpc(route.method.name) if declared is not None else ()
        return _responses(route, service_reasons, secured)


def _responses(route: Route, service_reasons: Iterable[Reason], secured: bool) -> dict[str, Any]:
    by_status: dict[int, dict[str, Reason]] = {}
    for reason in service_reasons:
        by_status.setdefault(http_status(reason.code.value[0]), {})[reason.name] = reason
    for extra in GATEWAY_REASONS:
        if extra.applies(route, secured):
            by_status.setdefault(extra.status, {}).setdefault(extra.reason.name, extra.reason)
    responses: dict[str, Any] = {}
    for status in sorted(by_status):
        reasons = by_status[status]
        lines = [f"- `{name}`: {reason.description}" for name, reason in reasons.items()]
        responses[str(status)] = {
            "description": "\n".join([_STATUS_TITLES.get(status, "An error."), "", *lines]),
            "x-error-reasons": list(reasons),
            "content": {
                _JSON: {
                    "schema": {"$ref": "#/components/schemas/google.rpc.Status"},
                    "examples": {
                        name: {
                            "summary": name,
                            "description": reason.description,
                            "value": error_example(reason),
                        }
                        for name, reason in reasons.items()
                    },
                }
            },
        }
    return responses
