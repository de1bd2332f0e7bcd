"""Cursor pagination of the ledger, newest first.

The cursor is the position ``(created_at, id)`` of the last transaction on a page; the next page
holds what sorts strictly after it in ``created_at DESC, id DESC`` order. New transactions sort
before the cursor, so paging is stable under inserts: no entry is repeated or skipped.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from billing_svc.domain.errors import InvalidPageSize, InvalidPageToken

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_VERSION = 1
_LAYOUT = struct.Struct(">Bq16s")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: UUID


def page_size(requested: int) -> int:
    """0 means the default; above the maximum is capped; negative is an error."""
    if requested < 0:
        raise InvalidPageSize("page_size must not be negative")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("cursor timestamps must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def encode_cursor(cursor: Cursor) -> str:
    raw = _LAYOUT.pack(_VERSION, _micros(cursor.created_at), cursor.id.bytes)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, micros, id_bytes = _LAYOUT.unpack(raw)
        created_at = _EPOCH + timedelta(microseconds=micros)
    except (binascii.Error, ValueError, struct.error, OverflowError) as err:
        raise InvalidPageToken("malformed page token") from err
    if version != _VERSION:
        raise InvalidPageToken("unknown page token version")
    return Cursor(created_at=created_at, id=UUID(bytes=id_bytes))
