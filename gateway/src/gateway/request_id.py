"""The id a user can quote: the request's trace id.

Every traced response carries it as ``X-Request-Id``, and every JSON error body the gateway
writes carries it as a ``google.rpc.RequestInfo`` detail, so a support request leads to the
trace and to the log lines (whose ``trace_id`` is the same).
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

HEADER = b"x-request-id"
# Where the logger middleware leaves it for the recover middleware, which answers after the
# request's context has ended.
SCOPE_KEY = "tollgate.request_id"

# Set by the logger middleware for the request being handled.
current: ContextVar[str | None] = ContextVar("tollgate_request_id", default=None)


def request_info(request_id: str) -> dict[str, Any]:
    """A ``google.rpc.RequestInfo`` detail as JSON."""
    return {
        "@type": "type.googleapis.com/google.rpc.RequestInfo",
        "requestId": request_id,
        "servingData": "",
    }


def of_scope(scope: MutableMapping[str, Any]) -> str:
    """The request's id: the one the logger middleware chose, else (a request it never
    traced: probes, CORS preflights, refusals before it) a fresh one of the same form,
    kept in the scope so that the body and the header name the same id."""
    request_id: str | None = scope.get(SCOPE_KEY)
    if request_id is None:
        request_id = scope[SCOPE_KEY] = secrets.token_hex(16)
    return request_id
