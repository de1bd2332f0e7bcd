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

from gateway.transcoding._errors import (
    FIELD_BELONGS_IN_HEADER,
    INVALID_PATH,
    MALFORMED_JSON,
    TranscodeError,
)
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
    document = _parse_json(body)
    if route.body_field is not None:
        document = {route.body_field.name: document}
    elif not isinstance(document, dict) and not message.DESCRIPTOR.full_name.startswith(
        "google.protobuf."
    ):
        raise TranscodeError("the request body must be a JSON object", MALFORMED_JSON)
    if route.header_fields and isinstance(document, dict):
        _refuse_header_fields(route, document)
    _check_fields(document, message.DESCRIPTOR)
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=discard_unknown)
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise TranscodeError(_parse_error_message(error)) from None


def _parse_json(body: bytes) -> Any:
    """The JSON document of ``body``; a :class:`TranscodeError` in our own words (never the
    text of a Python exception) when it is not one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise TranscodeError("the request body is not valid UTF-8", MALFORMED_JSON) from None
    if text.startswith("\ufeff"):
        # RFC 8259 8.1: a JSON text is sent without a byte order mark.
        raise TranscodeError("malformed JSON body: a byte order mark starts it", MALFORMED_JSON)
    try:
        document = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
        _reject_unpaired_surrogates(document)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        message = f"malformed JSON body: {_JSON_SYNTAX.get(error.msg, 'syntax error')} at {where}"
        raise TranscodeError(message, MALFORMED_JSON) from None
    except _InvalidJsonError as error:
        raise TranscodeError(f"malformed JSON body: {error}", MALFORMED_JSON) from None
    except RecursionError:
        raise TranscodeError("malformed JSON body: nested too deeply", MALFORMED_JSON) from None
    return document


# The json module's syntax errors, in words that do not name Python.
_JSON_SYNTAX = {
    "Expecting value": "a value was expected",
    "Extra data": "unexpected data after the value",
    "Expecting property name enclosed in double quotes": "a quoted field name was expected",
    "Expecting ':' delimiter": "':' was expected",
    "Expecting ',' delimiter": "',' was expected",
    "Unterminated string starting at": "unterminated string",
    "Invalid control character at": "a control character in a string",
    "Invalid \\escape": "invalid escape in a string",
    "Invalid \\uXXXX escape": "invalid \\u escape in a string",
}
_PARSE_FAILURE = re.compile(r"Failed to parse (\w+) field")


def _parse_error_message(error: Exception) -> str:
    """What protobuf's JSON parser refused, naming the field but not quoting the parser
    (its text names Python types: "int() argument must be … not 'list'")."""
    names = _PARSE_FAILURE.findall(str(error))
    if "out of range" in str(error).lower() and names:
        return f"value out of range for field {'.'.join(names)}"
    if names:
        return f"invalid value for field {'.'.join(names)}"
    return "a field of the request body has an invalid value"


def _refuse_header_fields(route: Route, document: dict[str, Any]) -> None:
    for field, bound in route.header_fields:
        if field.json_name in document or field.name in document:
            raise TranscodeError(
                f"{field.json_name} travels in the {bound.header} header, not in the body",
                FIELD_BELONGS_IN_HEADER,
            )


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
            if not isinstance(value, dict):
                raise TranscodeError(f"field {name} must be a JSON object")
            container = value
            keys = list(container)
            field = field.message_type.fields_by_name["value"]
        elif field.is_repeated:
            if not isinstance(value, list):
                raise TranscodeError(f"field {name} must be a JSON array")
            container = value
            keys = list(range(len(container)))
        else:
            container, keys = document, [name]
        for key in keys:
            item = container[key]
            if item is None and container is not document:
                raise TranscodeError(f"field {name} may not hold null")
            _check_json_type(name, field, item)
            if field.type in _INTEGER_TYPES:
                if isinstance(item, str):
                    container[key] = _integer_string(name, item)
            elif field.message_type is not None:
                _check_fields(item, field.message_type)


def _check_json_type(name: str, field: FieldDescriptor, item: Any) -> None:
    """Refuse a value of the wrong JSON type for ``field`` in our words, before protobuf's
    parser would in its own (which quote Python: "int() argument must be … not 'list'")."""
    if item is None:
        return
    expected = _JSON_KIND.get(field.type)
    if field.message_type is not None:
        if field.message_type.full_name.startswith("google.protobuf."):
            return
        expected = _OBJECT
    if expected is not None and not expected[0](item):
        raise TranscodeError(f"field {name} must be {expected[1]}")


def _is_integer(item: Any) -> bool:
    return (isinstance(item, (int, str)) and not isinstance(item, bool)) or (
        isinstance(item, float) and item.is_integer()
    )


def _is_number(item: Any) -> bool:
    return isinstance(item, (int, float, str)) and not isinstance(item, bool)


_OBJECT: tuple[Any, str] = (lambda item: isinstance(item, dict), "a JSON object")
_INTEGER: tuple[Any, str] = (_is_integer, "an integer (a JSON number or a string of digits)")
_JSON_KIND: dict[int, tuple[Any, str]] = {
    **dict.fromkeys(_INTEGER_TYPES, _INTEGER),
    FieldDescriptor.TYPE_DOUBLE: (_is_number, "a number"),
    FieldDescriptor.TYPE_FLOAT: (_is_number, "a number"),
    FieldDescriptor.TYPE_STRING: (lambda item: isinstance(item, str), "a string"),
    FieldDescriptor.TYPE_BYTES: (lambda item: isinstance(item, str), "a base64 string"),
    FieldDescriptor.TYPE_BOOL: (lambda item: isinstance(item, bool), "true or false"),
    FieldDescriptor.TYPE_ENUM: (
        lambda item: isinstance(item, (str, int)) and not isinstance(item, bool),
        "an enum value name or number",
    ),
}


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


class _InvalidJsonError(ValueError):
    """Valid JSON syntax that protojson refuses all the same; the message is ours."""


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
                    raise _InvalidJsonError("a string holds an unpaired surrogate escape") from None
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _InvalidJsonError("duplicate field in JSON object")
    return document


def _reject_constant(name: str) -> None:
    raise _InvalidJsonError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A JSON number with a fraction or an exponent, refused past a double's range (``1e400``
    would be infinity; protojson and the gateway's other JSON reader refuse it too)."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _InvalidJsonError(f"number out of range: {text[:32]}")
    return value


def _merge_query(route: Route, message: Message, query: str | bytes) -> None:
    try:
        text = query.decode("utf-8") if isinstance(query, bytes) else query
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise TranscodeError("query string is not valid UTF-8", INVALID_PATH) from None
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
        for field, bound in route.header_fields:
            if field_path[0] is field:
                raise TranscodeError(
                    f"{field.json_name} travels in the {bound.header} header, not in the query",
                    FIELD_BELONGS_IN_HEADER,
                )
        assign(message, field_path, values, replace=False)
