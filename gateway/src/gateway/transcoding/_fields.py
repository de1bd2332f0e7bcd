"""Field paths and string → field value conversion for path and query parameters.

Conversions follow grpc-gateway's runtime (query.go, convert.go): Go's strconv rules
for numbers and bools, enums by name or number, base64 bytes, and the well-known
types Timestamp (RFC 3339), Duration (Go duration syntax, e.g. ``1.5s``, ``1h30m``),
the wrappers, FieldMask (comma list), Struct/Value/ListValue (JSON).
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Callable, MutableMapping, Sequence
from fractions import Fraction
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.transcoding._errors import TranscodeError

FieldPath = tuple[FieldDescriptor, ...]
ScalarValue = bool | int | float | str | bytes

_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")
_FLOAT = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])"
)
_URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_NANOS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_FLOAT32 = 3.4028234663852886e38
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_T = FieldDescriptor
_INT_RANGES = {
    _T.TYPE_INT32: (-(2**31), 2**31 - 1, _SIGNED),
    _T.TYPE_SINT32: (-(2**31), 2**31 - 1, _SIGNED),
    _T.TYPE_SFIXED32: (-(2**31), 2**31 - 1, _SIGNED),
    _T.TYPE_INT64: (-(2**63), 2**63 - 1, _SIGNED),
    _T.TYPE_SINT64: (-(2**63), 2**63 - 1, _SIGNED),
    _T.TYPE_SFIXED64: (-(2**63), 2**63 - 1, _SIGNED),
    _T.TYPE_UINT32: (0, 2**32 - 1, _UNSIGNED),
    _T.TYPE_FIXED32: (0, 2**32 - 1, _UNSIGNED),
    _T.TYPE_UINT64: (0, 2**64 - 1, _UNSIGNED),
    _T.TYPE_FIXED64: (0, 2**64 - 1, _UNSIGNED),
}
_WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_JSON_MESSAGES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)
#: Message types a path or query parameter can hold (as a string).
STRING_MESSAGES = (
    _WRAPPERS
    | _JSON_MESSAGES
    | {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
    }
)


@functools.cache
def _fields_by_parameter_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    fields = {field.json_name: field for field in descriptor.fields}
    fields.update((field.name, field) for field in descriptor.fields)
    return fields


def lookup_field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    """The field called ``name`` (proto name first, then its JSON name)."""
    return _fields_by_parameter_name(descriptor).get(name)


def is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return entry is not None and field.is_repeated and entry.GetOptions().map_entry


def resolve_field_path(descriptor: Descriptor, names: Sequence[str]) -> FieldPath | None:
    """Resolve dotted names to fields; ``None`` if a name is unknown.

    Raises :class:`TranscodeError` if the path walks through a non-message or a
    repeated field.
    """
    path: list[FieldDescriptor] = []
    for position, name in enumerate(names):
        field = lookup_field(descriptor, name)
        if field is None:
            return None
        path.append(field)
        if position < len(names) - 1:
            if field.message_type is None or field.is_repeated:
                raise TranscodeError(f"invalid path: {name!r} is not a message")
            descriptor = field.message_type
    return tuple(path)


def dotted(path: FieldPath) -> str:
    return ".".join(field.name for field in path)


def assign(message: Message, path: FieldPath, values: Sequence[str], *, replace: bool) -> None:
    """Parse ``values`` and store them in the field at ``path`` under ``message``.

    ``replace`` is for path parameters and header overrides: they overwrite what the
    body set. Query parameters (``replace=False``) append to repeated fields and may
    not set a second member of a oneof.
    """
    target = message
    for field in path[:-1]:
        target = getattr(target, field.name)
    leaf = path[-1]
    oneof = leaf.containing_oneof
    if not replace and oneof is not None and target.WhichOneof(oneof.name) is not None:
        raise TranscodeError(f"field already set for oneof {oneof.name!r}")
    name = dotted(path)
    entry = leaf.message_type
    if entry is not None and leaf.is_repeated and entry.GetOptions().map_entry:
        _assign_map_entry(getattr(target, leaf.name), entry, name, values)
    elif leaf.is_repeated:
        container = getattr(target, leaf.name)
        if replace:
            del container[:]
        for text in values:
            value = parse_value(leaf, text, name)
            if isinstance(value, Message):
                container.add().CopyFrom(value)
            else:
                container.append(value)
    else:
        if len(values) != 1:
            raise TranscodeError(f"too many values for field {name!r}: {', '.join(values)}")
        value = parse_value(leaf, values[0], name)
        if isinstance(value, Message):
            getattr(target, leaf.name).CopyFrom(value)
        else:
            setattr(target, leaf.name, value)


def _assign_map_entry(
    container: MutableMapping[Any, Any], entry: Descriptor, name: str, values: Sequence[str]
) -> None:
    if len(values) != 2:
        raise TranscodeError(f"map field {name!r} takes one value per key")
    key = parse_value(entry.fields_by_name["key"], values[0], name)
    value = parse_value(entry.fields_by_name["value"], values[1], name)
    if isinstance(value, Message):
        container[key].CopyFrom(value)
    else:
        container[key] = value


def parse_value(field: FieldDescriptor, text: str, name: str) -> ScalarValue | Message:
    """Convert one string to a value for ``field`` (an element, for repeated fields)."""
    try:
        return _convert(field, text)
    except (ValueError, OverflowError) as error:
        raise TranscodeError(f"invalid value for field {name!r}: {error}") from None


def _convert(field: FieldDescriptor, text: str) -> ScalarValue | Message:
    if field.type == _T.TYPE_MESSAGE:
        return _parse_message(field.message_type, text)
    parse = _SCALAR_PARSERS.get(field.type)
    if parse is not None:
        return parse(text)
    if field.type == _T.TYPE_ENUM:
        return _parse_enum(field, text)
    limits = _INT_RANGES.get(field.type)
    if limits is None:
        raise ValueError("unsupported field type")
    return _parse_int(text, *limits)


def _parse_int(text: str, low: int, high: int, syntax: re.Pattern[str]) -> int:
    if not syntax.fullmatch(text):
        raise ValueError(f"{text!r} is not an integer")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{text!r} is out of range")
    return value


def _parse_float(text: str, *, single: bool = False) -> float:
    if not _FLOAT.fullmatch(text):
        raise ValueError(f"{text!r} is not a number")
    value = float(text)
    if single and math.isfinite(value) and abs(value) > _MAX_FLOAT32:
        raise ValueError(f"{text!r} is out of range")
    return value


def _parse_bool(text: str) -> bool:
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean")


def _parse_bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        pass
    if not _URLSAFE_BASE64.fullmatch(text):
        raise ValueError("not base64")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64") from None


def _parse_enum(field: FieldDescriptor, text: str) -> int:
    enum = field.enum_type
    if enum is None:
        raise ValueError("enum type unknown")
    named = enum.values_by_name.get(text)
    if named is not None:
        return named.number
    if _SIGNED.fullmatch(text) and int(text) in enum.values_by_number:
        return int(text)
    raise ValueError(f"{text!r} is not a valid {enum.name}")


_SCALAR_PARSERS: dict[int, Callable[[str], ScalarValue]] = {
    _T.TYPE_STRING: str,
    _T.TYPE_BOOL: _parse_bool,
    _T.TYPE_DOUBLE: _parse_float,
    _T.TYPE_FLOAT: functools.partial(_parse_float, single=True),
    _T.TYPE_BYTES: _parse_bytes,
}


def parse_go_duration(text: str) -> Duration:
    """Parse Go's ``time.ParseDuration`` syntax (``300ms``, ``-1.5h``, ``2h45m``)."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return Duration()
    total = Fraction(0)
    position = 0
    while position < len(body):
        part = _DURATION_PART.match(body, position)
        if part is None or part.group(1) in ("", "."):
            raise ValueError(f"invalid duration {text!r}")
        total += Fraction(part.group(1)) * _NANOS_PER_UNIT[part.group(2)]
        position = part.end()
    if not body or total >= 2**63:
        raise ValueError(f"invalid duration {text!r}")
    duration = Duration()
    duration.FromNanoseconds(-int(total) if text.startswith("-") else int(total))
    return duration


def _parse_message(descriptor: Descriptor | None, text: str) -> Message:
    full_name = descriptor.full_name if descriptor is not None else ""
    if descriptor is None or full_name not in STRING_MESSAGES:
        raise ValueError(f"unsupported message type {full_name!r}")
    if full_name == "google.protobuf.Timestamp":
        timestamp = Timestamp()
        timestamp.FromJsonString(text)
        return timestamp
    if full_name == "google.protobuf.Duration":
        return parse_go_duration(text)
    if full_name == "google.protobuf.FieldMask":
        return FieldMask(paths=[path for path in text.split(",") if path])
    message = GetMessageClass(descriptor)()
    if full_name in _JSON_MESSAGES:
        try:
            return json_format.Parse(text, message)
        except json_format.ParseError as error:
            raise ValueError(str(error)) from None
    value_field = descriptor.fields_by_name["value"]
    setattr(message, value_field.name, _convert(value_field, text))
    return message
