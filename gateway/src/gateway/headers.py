"""HTTP headers ↔ gRPC metadata, as grpc-gateway's runtime/context.go and handler.go map them.

In: ``Authorization`` is forwarded, ``Grpc-Metadata-<name>`` becomes ``<name>``,
``X-Forwarded-For`` gets the peer appended, ``Grpc-Timeout`` sets the deadline.
Out: response headers and trailers become ``Grpc-Metadata-<name>`` response headers.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any

from gateway.transcoding import HeaderField
from tollgate_kit.caller import CLIENT_ADDRESS_METADATA

METADATA_PREFIX = b"grpc-metadata-"
RESPONSE_PREFIX = "grpc-metadata-"

# grpc-gateway's timeoutUnitToDuration, in seconds.
_TIMEOUT_UNITS = {
    "H": 3600.0,
    "M": 60.0,
    "S": 1.0,
    "m": 1e-3,
    "u": 1e-6,
    "n": 1e-9,
}
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])")
_METADATA_KEY = re.compile(r"[0-9a-z_.\-]+")
# What gRPC allows in an ASCII metadata value.
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")
# Keys the gateway sets itself: a client may not smuggle them in through Grpc-Metadata-*.
_RESERVED_KEYS = frozenset(
    {
        "authorization",
        "x-forwarded-for",
        "x-forwarded-host",
        CLIENT_ADDRESS_METADATA,
        "traceparent",
        "tracestate",
        "baggage",
        "content-type",
        "user-agent",
        "te",
        "host",
    }
)

Metadata = list[tuple[str, str | bytes]]

# The idempotency key of a money call travels only in this header on REST (a body field of
# that name is refused: two keys in one request once moved money twice). 1 to 255 printable
# ASCII characters, as billing-svc takes them, with optional whitespace around (RFC 9110
# 5.5: it is not part of the value and is stripped).
IDEMPOTENCY_KEY = HeaderField(
    "idempotency_key",
    "Idempotency-Key",
    schema={"type": "string", "pattern": "^[ \t]*[!-~](?:[ -~]{0,253}[!-~])?[ \t]*$"},
    description="Names this request for ever: a retry with the same key and the same "
    "request returns the original answer without moving money again.",
)


class InvalidHeaderError(ValueError):
    """A request header the gateway cannot use; the message is safe to show to the client."""


def parse_grpc_timeout(value: str) -> float:
    """Seconds of a ``Grpc-Timeout`` value like ``10S``, ``500m`` or ``1H``.

    The gRPC-over-HTTP/2 format: at most 8 digits and one unit (Hours, Minutes,
    Seconds, milliseconds, microseconds, nanoseconds). Raises :class:`InvalidHeaderError`.
    """
    found = _TIMEOUT.fullmatch(value.strip())
    if found is None:
        raise InvalidHeaderError(f"invalid grpc-timeout: {value[:32]}")
    return int(found.group(1)) * _TIMEOUT_UNITS[found.group(2)]


def metadata_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> Metadata:
    """``Grpc-Metadata-*`` request headers as gRPC metadata (``-bin`` values base64-decoded).

    Names the gateway sets itself and names that are not valid metadata keys are dropped.
    """
    metadata: Metadata = []
    for raw_name, raw_value in headers:
        if not raw_name.startswith(METADATA_PREFIX):
            continue
        key = raw_name[len(METADATA_PREFIX) :].decode("latin-1").lower()
        if (
            not key
            or key.startswith("grpc-")
            or key in _RESERVED_KEYS
            or _METADATA_KEY.fullmatch(key) is None
        ):
            continue
        value = raw_value.decode("latin-1")
        if key.endswith("-bin"):
            try:
                metadata.append(
                    (key, base64.b64decode(value + "=" * (-len(value) % 4), validate=True))
                )
            except (binascii.Error, ValueError):
                raise InvalidHeaderError(f"invalid base64 in Grpc-Metadata-{key}") from None
        else:
            metadata.append((key, value))
    return metadata


def check_metadata(metadata: Metadata) -> None:
    """Raise :class:`InvalidHeaderError` unless every text value is printable ASCII, which
    gRPC requires (it would otherwise fail the call as an internal error)."""
    for key, value in metadata:
        if isinstance(value, str) and not printable_ascii(value):
            raise InvalidHeaderError(f"the {key} header must be printable ASCII")


def printable_ascii(value: str) -> bool:
    return _METADATA_VALUE.fullmatch(value) is not None


def response_headers(*metadata: Iterable[Any] | None) -> list[tuple[bytes, bytes]]:
    """Response metadata (headers, then trailers) as ``Grpc-Metadata-<name>`` headers."""
    headers: list[tuple[bytes, bytes]] = []
    for pairs in metadata:
        if not pairs:
            continue
        for key, value in pairs:
            if key.startswith(("grpc-", ":")) or key == "content-type":
                continue
            if isinstance(value, bytes):
                encoded = base64.b64encode(value)
            else:
                encoded = value.encode("latin-1", "replace")
            headers.append(((RESPONSE_PREFIX + key).encode("latin-1"), encoded))
    return headers


HTTP_CODE_HEADER = (RESPONSE_PREFIX + "x-http-code").encode("latin-1")


def success_status(headers: list[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The HTTP status of a successful call: 200, or the 2xx a backend asked for in its
    ``x-http-code`` response metadata (grpc-gateway's convention; CloseAccount's 202), which
    is then not passed on as a header."""
    status, kept = 200, []
    for name, value in headers:
        if name == HTTP_CODE_HEADER:
            if value.isdigit() and 200 <= int(value) <= 299:
                status = int(value)
            continue
        kept.append((name, value))
    return status, kept


def forwarded_for(existing: str | None, peer: str | None) -> str | None:
    """``X-Forwarded-For`` with the peer appended, as grpc-gateway sends it upstream."""
    if not peer:
        return existing or None
    if existing:
        return f"{existing}, {peer}"
    return peer


def _hop_address(hop: str) -> str:
    """The canonical IP address of an X-Forwarded-For hop: ``1.2.3.4``, ``2001:db8::1``, or
    with the port some proxies add, ``1.2.3.4:5678`` / ``[2001:db8::1]:443``."""
    if hop.startswith("["):
        host, _, rest = hop[1:].partition("]")
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            raise ValueError(hop)
        return str(ipaddress.ip_address(host))
    if hop.count(":") == 1:
        host, port = hop.split(":")
        if not port.isdigit():
            raise ValueError(hop)
        return str(ipaddress.IPv4Address(host))
    return str(ipaddress.ip_address(hop))


class TrustedProxies:
    """Which peers may tell the gateway the client's address through ``X-Forwarded-For``."""

    def __init__(self, entries: Sequence[str]) -> None:
        self._networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client_address(self, peer: str | None, forwarded: str | None) -> str:
        """The client's address: the peer, unless it is a trusted proxy; then the last
        ``X-Forwarded-For`` hop that is not a trusted proxy."""
        if not peer:
            return ""
        if not forwarded or not self.trusts(peer):
            return peer
        nearest = peer
        for hop in reversed([hop.strip() for hop in forwarded.split(",") if hop.strip()]):
            try:
                address = _hop_address(hop)
            except ValueError:
                # Not an address: nothing a trusted proxy wrote. Stop at the nearest hop known.
                return nearest
            if not self.trusts(address):
                return address
            nearest = address
        return nearest
