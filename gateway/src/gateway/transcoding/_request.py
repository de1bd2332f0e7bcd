"""Building the RPC's request message from an HTTP request."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from gateway.transcoding._errors import TranscodeError
from gateway.transcoding._fields import assign, resolve_field_path
from gateway.transcoding._routes import Route

# grpc-gateway accepts `field[key]=value` for map fields.
_MAP_KEY = re.compile(r"(.*)\[(.*)\]")
# A number in a JSON string, as protojson reads an integer field's string: the JSON number
# grammar (so no "+", spaces, "_" or non-ASCII digits, which Python's int() would allow),
# fraction and exponent included as long as the value is a whole number ("1e2" is 100).
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Past any 64-bit field's range: refused by the parser's own range check, never expanded.
_INTEGER_LIMIT = 2**64
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def build_request(
    route: Route,
    path_params: Mapping[str, str],
    query: str | bytes = b"",
    body: bytes = b"",
    *,
    field_overrides: Mapping[str, str] | None = None,
    discard_unknown_fields: bool = True,
) -> Message:
    """Build ``route``'s request message, like grpc-gateway's generated handlers.

    In order: the JSON ``body`` (the whole message for ``body: "*"``, one field for
    ``body: "field"``; an empty body is allowed), then the ``query`` string (for
    fields not bound by the path or the body; ignored for ``body: "*"``; unknown
    names are ignored), then ``path_params`` (they win over the body), then
    ``field_overrides`` (field path → value, e.g. from a header; names the message
    lacks are ignored). Unknown JSON fields are ignored unless
    ``discard_unknown_fields`` is false (grpc-gateway's default discards them).

    Raises :class:`TranscodeError` for malformed JSON or a value of the wrong type.
    """
    message = route.request_class()
    if route.body and body.strip():
        _merge_body(route, message, body, discard_unknown_fields)
    if route.body != "*" and query:
        _merge_query(route, message, query)
    for name, field_path in route.path_fields:
        value = path_params[name]
        values = value.split(",") if field_path[-1].is_repeated else [value]
        assign(message, field_path, values, replace=True)
    if field_overrides:
        for name, value in field_overrides.items():
            override_path = resolve_field_path(route.method.input_type, name.split("."))
            if override_path is not None:
                assign(message, override_path, [value], replace=True)
    return message


def _merge_body(route: Route, message: Message, body: bytes, discard_unknown: bool) -> None:
    try:
        document = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
        _reject_unpaired_surrogates(document)
    except (ValueError, RecursionError) as error:
        raise TranscodeError(f"malformed JSON body: {error}") from None
    if route.body_field is not None:
        document = {route.body_field.name: document}
    elif not isinstance(document, dict) and not message.DESCRIPTOR.full_name.startswith(
        "google.protobuf."
    ):
        raise TranscodeError("the request body must be a JSON object")
    _check_fields(document, message.DESCRIPTOR)
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=discard_unknown)
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise TranscodeError(str(error)) from None


def _check_fields(document: Any, descriptor: Any) -> None:
    """Hold the JSON ``document`` to protojson's (grpc-gateway's) rules where protobuf-python's
    parser is laxer, in place: one field given twice under its JSON and its proto name is
    refused, and integers in strings are read as JSON numbers (``"1e2"`` is 100; ``"1_000"``,
    ``" 5"``, ``"+5"`` and non-ASCII digits, which int() would take, are refused)."""
    if not isinstance(document, dict) or descriptor.full_name.startswith("google.protobuf."):
        return
    seen: set[int] = set()
    for name, value in document.items():
        field = descriptor.fields_by_camelcase_name.get(name) or descriptor.fields_by_name.get(name)
        if field is None:
            continue
        if field.number in seen:
            raise TranscodeError(f"field {field.name} is given more than once")
        seen.add(field.number)
        if value is None:
            continue
        # Where the field's values sit: a map's values, a list's items, or the field itself.
        container: dict[Any, Any] | list[Any]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            container = value if isinstance(value, dict) else {}
            keys = list(container)
            field = field.message_type.fields_by_name["value"]
        elif field.is_repeated:
            container = value if isinstance(value, list) else []
            keys = list(range(len(container)))
        else:
            container, keys = document, [name]
        for key in keys:
            item = container[key]
            if field.type in _INTEGER_TYPES:
                if isinstance(item, str):
                    container[key] = _integer_string(name, item)
            elif field.message_type is not None:
                _check_fields(item, field.message_type)


def _integer_string(name: str, text: str) -> str:
    """``text`` (an integer field's JSON string) as plain digits, as protojson reads it."""
    try:
        return str(integer_from_json_string(text))
    except ValueError as error:
        raise TranscodeError(f"{error} for integer field {name}: {text[:32]!r}") from None


def integer_from_json_string(text: str) -> int:
    """The integer a JSON string holds, read as protojson reads an integer field's string: a
    JSON number (no "+", spaces, "_" or non-ASCII digits, which int() would take) that is
    whole, fraction and exponent allowed (``"1e2"`` is 100). Raises ValueError ("invalid
    value" / "value out of range"); values past 64 bits are never expanded."""
    if _JSON_NUMBER.fullmatch(text) is None:
        raise ValueError("invalid value")
    if text.lstrip("-").isdigit():
        return int(text)
    number = Decimal(text)
    if number.copy_abs() >= _INTEGER_LIMIT:
        raise ValueError("value out of range")
    if number != number.to_integral_value():
        raise ValueError("invalid value")
    return int(number)


def _reject_unpaired_surrogates(document: Any) -> None:
    """Refuse a ``\\uD800``-``\\uDFFF`` escape without its pair, as protojson does: Python's
    json keeps it as a lone surrogate, which no protobuf string can hold."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError("a string holds an unpaired surrogate escape") from None
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate field in JSON object")
    return document


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A JSON number with a fraction or an exponent, refused past a double's range (``1e400``
    would be infinity; protojson and the gateway's other JSON reader refuse it too)."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:32]}")
    return value


def _merge_query(route: Route, message: Message, query: str | bytes) -> None:
    try:
        text = query.decode("utf-8") if isinstance(query, bytes) else query
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise TranscodeError("query string is not valid UTF-8") from None
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    descriptor = route.method.input_type
    for key, values in grouped.items():
        map_key = _MAP_KEY.fullmatch(key)
        if map_key is not None:
            key, values = map_key.group(1), [map_key.group(2), *values]
        field_path = resolve_field_path(descriptor, key.split("."))
        if field_path is None:
            continue
        proto_names = tuple(field.name for field in field_path)
        if any(proto_names[: len(bound)] == bound for bound in route.query_filter):
            continue
        assign(message, field_path, values, replace=False)
