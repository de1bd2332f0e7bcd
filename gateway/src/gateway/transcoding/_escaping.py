"""Percent-unescaping of captured path values, with grpc-gateway's unescaping modes."""

from __future__ import annotations

import enum
import re
from urllib.parse import quote

from gateway.transcoding._errors import INVALID_PATH, TranscodeError


class UnescapingMode(enum.Enum):
    """How captured path values are percent-decoded (grpc-gateway's ``UnescapingMode``).

    Matching always runs on the raw (still percent-encoded) path, except in ``LEGACY``
    mode where the caller passes an already-decoded path. A single-segment capture
    (``{id}``, ``{name=shelves/*}``'s ``*``) is always fully decoded; the mode decides
    what a multi-segment ``**`` capture keeps escaped.
    """

    #: The path was decoded by the HTTP server before routing; nothing is unescaped.
    LEGACY = "legacy"
    #: ``**`` captures keep RFC 6570 reserved characters escaped (grpc-gateway's
    #: recommended mode and the reference transcoder's behaviour).
    ALL_EXCEPT_RESERVED = "all-except-reserved"
    #: ``**`` captures keep only ``%2F`` escaped.
    ALL_EXCEPT_SLASH = "all-except-slash"
    #: Everything is decoded, and ``%2F`` also separates segments.
    ALL_CHARACTERS = "all-characters"


_RFC6570_RESERVED = frozenset(b"!#$&'()*+,/:;=?@[]")
_KEPT_ESCAPED_IN_MULTI = {
    UnescapingMode.ALL_EXCEPT_RESERVED: _RFC6570_RESERVED,
    UnescapingMode.ALL_EXCEPT_SLASH: frozenset(b"/"),
    UnescapingMode.ALL_CHARACTERS: frozenset[int](),
}
_MALFORMED = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")

# Characters a multi-segment expansion may leave as they are: unreserved ones are never
# quoted by `quote`; these sub-delimiters, ':' and '@' are legal in a path segment and
# stay literal so that ALL_EXCEPT_RESERVED matching gives them back unchanged.
_MULTI_SEGMENT_SAFE = "!$&'()*+,;=:@"


def unescape(text: str, mode: UnescapingMode, *, multi_segment: bool) -> str:
    """Decode ``%XX`` escapes of one captured value according to ``mode``."""
    if mode is UnescapingMode.LEGACY or "%" not in text:
        return text
    bad = _MALFORMED.search(text)
    if bad is not None:
        start = bad.start()
        raise TranscodeError(f"malformed path escape {text[start : start + 3]!r}", INVALID_PATH)
    kept = _KEPT_ESCAPED_IN_MULTI[mode] if multi_segment else frozenset[int]()

    def decode(escape: re.Match[bytes]) -> bytes:
        byte = int(escape.group(1), 16)
        return escape.group(0) if byte in kept else bytes((byte,))

    try:
        return _ESCAPE.sub(decode, text.encode("utf-8")).decode("utf-8")
    except UnicodeDecodeError:
        raise TranscodeError("path parameter is not valid UTF-8", INVALID_PATH) from None


def escape_segment(value: str) -> str:
    """Percent-encode a single-segment value (everything but unreserved characters)."""
    return quote(value, safe="")


def escape_multi_segment(value: str) -> str:
    """Percent-encode a ``**`` value, keeping its slashes as segment separators."""
    return "/".join(quote(part, safe=_MULTI_SEGMENT_SAFE) for part in value.split("/"))
