"""Small ASGI helpers shared by the middleware and the handlers (raw ASGI: no per-request
Request/Response objects on the hot path)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from gateway.errors import JSON_HEADERS, error_body, error_info

if TYPE_CHECKING:
    from gateway.ratelimit import Decision
    from gateway.routing import Target
    from gateway.runtime import Runtime
    from tollgate_kit.tokens import TokenClaims

Headers = list[tuple[bytes, bytes]]

STATE_KEY = "gateway"


class BodyTooLargeError(Exception):
    """The request body is over the configured limit (HTTP 413)."""


@dataclass(slots=True)
class RequestState:
    """What the middleware learns about one request, kept in ``scope["gateway"]`` (made by
    the routing middleware)."""

    target: Target
    runtime: Runtime
    claims: TokenClaims | None = None
    # Why an optional token was refused (GraphQL answers it per operation).
    auth_error: tuple[str, str] | None = None
    body: bytes | None = None
    # The user's rate limit, when auth already hit it along with the session check.
    rate_decision: Decision | None = None
    client_address: str = ""
    extra_headers: Headers = field(default_factory=list)


def request_state(scope: Scope) -> RequestState:
    state: RequestState = scope[STATE_KEY]
    return state


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of request header ``name`` (lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def joined_header(scope: Scope, name: bytes) -> str | None:
    """Every line of request header ``name`` joined with ", " (RFC 9110 5.3), or None: for
    list headers like X-Forwarded-For, where a proxy may add its own line."""
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == name]
    return ", ".join(values) if values else None


def peer_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; raises :class:`BodyTooLargeError` past ``limit`` bytes
    (from ``Content-Length`` before reading, else while reading)."""
    length = header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    headers: Sequence[tuple[bytes, bytes]] = JSON_HEADERS,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send,
    status: int,
    code: int,
    message: str,
    *,
    reason: str | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """A gateway-made error with the same ``{code, message, details}`` body as a backend's."""
    details = [error_info(reason)] if reason else []
    await send_bytes(send, status, error_body(code, message, details), [*JSON_HEADERS, *headers])
