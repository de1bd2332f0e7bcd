"""The REST handler: HTTP request → gRPC request → backend call → HTTP response.

Like grpc-gateway's generated handlers plus runtime/handler.go: ``Authorization`` is
forwarded, ``Idempotency-Key`` fills the request's ``idempotency_key``, ``Grpc-Metadata-*``
headers travel as metadata, ``X-Forwarded-For`` gets the peer appended, ``Grpc-Timeout``
(else the default) is the deadline; the response's metadata comes back as
``Grpc-Metadata-*`` headers, and a gRPC error as its HTTP status and JSON status body.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from starlette.types import Receive, Scope, Send

from gateway.asgi import (
    BodyTooLargeError,
    read_body,
    request_state,
    send_bytes,
    send_error,
)
from gateway.call_metadata import call_metadata
from gateway.errors import (
    BODY_TOO_LARGE,
    INVALID_HEADER,
    INVALID_IDEMPOTENCY_KEY,
    JSON_HEADERS,
    rpc_error_payload,
)
from gateway.headers import (
    METADATA_PREFIX,
    InvalidHeaderError,
    metadata_from_headers,
    parse_grpc_timeout,
    printable_ascii,
    response_headers,
    success_status,
)
from gateway.middleware.auth import REALM
from gateway.transcoding import TranscodeError, build_request, render_response

IDEMPOTENCY_FIELD = "idempotency_key"


@dataclass(slots=True)
class _RequestHeaders:
    authorization: str | None = None
    idempotency_key: str | None = None
    idempotency_keys_differ: bool = False
    grpc_timeout: str | None = None
    forwarded_for: str | None = None
    has_metadata: bool = False


def _scan(scope: Scope) -> _RequestHeaders:
    """The headers the handler uses, in one pass over the request's headers."""
    found = _RequestHeaders()
    for key, value in scope["headers"]:
        if key == b"authorization":
            # The first one, as the auth middleware verified: never forward another.
            if found.authorization is None:
                found.authorization = value.decode("latin-1")
        elif key == b"idempotency-key":
            # Whitespace around a field value is not part of it (RFC 9110 5.5).
            text = value.decode("latin-1").strip(" \t")
            if found.idempotency_key is not None and text != found.idempotency_key:
                found.idempotency_keys_differ = True
            found.idempotency_key = text
        elif key == b"grpc-timeout":
            found.grpc_timeout = value.decode("latin-1")
        elif key == b"x-forwarded-for":
            line = value.decode("latin-1")  # every line counts (RFC 9110 5.3)
            found.forwarded_for = f"{found.forwarded_for}, {line}" if found.forwarded_for else line
        elif key.startswith(METADATA_PREFIX):
            found.has_metadata = True
    return found


def _idempotency_key_error(headers: _RequestHeaders) -> str | None:
    """Why the Idempotency-Key header cannot be used, if it cannot: two different keys, or
    bytes that are not printable ASCII (HTTP carries no charset for them, so "clé" would
    arrive as "clÃ©" and differ from the same key sent in the body). Checked only on routes
    whose request has an idempotency key; elsewhere the header is ignored, as before."""
    if headers.idempotency_keys_differ:
        return "more than one Idempotency-Key header, with different values"
    key = headers.idempotency_key
    if key is not None and not printable_ascii(key):
        return "the Idempotency-Key header must be printable ASCII"
    return None


class RestHandler:
    def __init__(
        self,
        *,
        body_limit: int,
        default_deadline: float,
        max_deadline: float = 300.0,
        min_deadline: float = 1.0,
    ) -> None:
        self._body_limit = body_limit
        self._default_deadline = default_deadline
        self._max_deadline = max_deadline
        self._min_deadline = min_deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = request_state(scope)
        match = state.target.match
        if match is None:
            await send_error(send, 503, 14, "service unavailable")
            return
        route = match.route
        headers = _scan(scope)
        body = b""
        if route.body:
            body = state.body if state.body is not None else b""
            if state.body is None:
                try:
                    body = await read_body(scope, receive, self._body_limit)
                except BodyTooLargeError:
                    await send_error(send, 413, 3, "request body too large", reason=BODY_TOO_LARGE)
                    return
        try:
            timeout = (
                # Capped: a client may shorten its calls, not hold backend work for hours
                # (and a deadline of years overflows into an immediate DEADLINE_EXCEEDED),
                # nor make them fail at once as server-side timeouts the alerts count.
                max(
                    min(parse_grpc_timeout(headers.grpc_timeout), self._max_deadline),
                    self._min_deadline,
                )
                if headers.grpc_timeout is not None
                else self._default_deadline
            )
            metadata = metadata_from_headers(scope["headers"]) if headers.has_metadata else []
        except InvalidHeaderError as error:
            await send_error(send, 400, 3, str(error), reason=INVALID_HEADER)
            return
        takes_key = IDEMPOTENCY_FIELD in route.request_class.DESCRIPTOR.fields_by_name
        key_error = _idempotency_key_error(headers) if takes_key else None
        if key_error is not None:
            await send_error(send, 400, 3, key_error, reason=INVALID_IDEMPOTENCY_KEY)
            return
        overrides = (
            {IDEMPOTENCY_FIELD: headers.idempotency_key} if headers.idempotency_key else None
        )
        try:
            request = build_request(
                route, match.path_params, scope["query_string"], body, field_overrides=overrides
            )
        except TranscodeError as error:
            await send_error(send, 400, 3, error.message, reason=error.reason)
            return
        try:
            metadata = call_metadata(
                scope,
                authorization=headers.authorization,
                forwarded=headers.forwarded_for,
                client_address=state.client_address,
                metadata=metadata,
            )
        except InvalidHeaderError as error:
            await send_error(send, 400, 3, str(error), reason=INVALID_HEADER)
            return
        try:
            result = await state.runtime.backends.call(
                route.grpc_method, request, route.response_class, metadata, timeout
            )
        except grpc.aio.AioRpcError as error:
            status, payload = rpc_error_payload(error)
            extra = response_headers(error.initial_metadata(), error.trailing_metadata())
            if status == 401:
                extra.append((b"www-authenticate", REALM.encode()))
            await send_bytes(send, status, payload, [*JSON_HEADERS, *extra])
            return
        payload = render_response(route, result.response)
        extra = response_headers(result.initial_metadata, result.trailing_metadata)
        if not extra:
            await send_bytes(send, 200, payload, JSON_HEADERS)
            return
        status, extra = success_status(extra)
        await send_bytes(send, status, payload, [*JSON_HEADERS, *extra])
