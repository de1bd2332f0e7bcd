"""Rendering the RPC's response message as grpc-gateway's default JSON."""

from __future__ import annotations

import functools
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from gateway.transcoding._routes import Route
from gateway.transcoding._schemas import is_optional

# Well-known types whose JSON form is not an object of their fields.
_OPAQUE_JSON = frozenset(
    {
        "google.protobuf.Any",
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.Empty",
    }
    | {
        f"google.protobuf.{name}Value"
        for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool")
    }
    | {"google.protobuf.StringValue", "google.protobuf.BytesValue"}
)


def render_response(route: Route, message: Message) -> bytes:
    """Serialise ``message`` (or its ``response_body`` field) to JSON bytes.

    Like grpc-gateway's default marshaler (protojson with ``EmitUnpopulated``):
    lowerCamel names, 64-bit integers as strings, enums by name, unset scalars,
    lists and maps emitted with their zero value and unset message fields as ``null``.
    One departure: a scalar, list or map field annotated ``(google.api.field_behavior) =
    OPTIONAL`` is left out while it holds its zero value (a JWK's ``n`` and ``e`` on an
    Ed25519 key, which RFC 7518 defines for RSA keys only).
    """
    field = route.response_field
    if field is None:
        return orjson.dumps(message_json(message))
    if field.message_type is not None and not field.is_repeated:
        # An unset message field renders as its empty message, as in grpc-gateway.
        return orjson.dumps(message_json(getattr(message, field.name)))
    return orjson.dumps(message_json(message)[field.json_name])


def message_json(message: Message) -> Any:
    """The JSON value (dict, or a string etc. for well-known types) of ``message``."""
    document = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    _emit_unset_messages(message, document)
    return document


_Names = tuple[tuple[str, str], ...]


@functools.cache
def _message_fields(descriptor: Descriptor) -> tuple[_Names, _Names, _Names, _Names]:
    """(singular, repeated, map-valued) message fields and OPTIONAL non-message fields, as
    (name, json_name) pairs."""
    singular: list[tuple[str, str]] = []
    repeated: list[tuple[str, str]] = []
    mapped: list[tuple[str, str]] = []
    optional: list[tuple[str, str]] = []
    if descriptor.full_name in _OPAQUE_JSON:
        return (), (), (), ()
    for field in descriptor.fields:
        entry = field.message_type
        if entry is None:
            if is_optional(field):
                optional.append((field.name, field.json_name))
            continue
        names = (field.name, field.json_name)
        if not field.is_repeated:
            # protojson leaves oneof members (and proto3 `optional`) out when unset.
            if field.containing_oneof is None:
                singular.append(names)
        elif entry.GetOptions().map_entry:
            if entry.fields_by_name["value"].message_type is not None:
                mapped.append(names)
        else:
            repeated.append(names)
    return tuple(singular), tuple(repeated), tuple(mapped), tuple(optional)


def _emit_unset_messages(message: Message, document: Any) -> None:
    singular, repeated, mapped, optional = _message_fields(message.DESCRIPTOR)
    for name, json_name in optional:
        if not getattr(message, name):
            document.pop(json_name, None)
    for name, json_name in singular:
        if message.HasField(name):
            _emit_unset_messages(getattr(message, name), document[json_name])
        else:
            document[json_name] = None
    for name, json_name in repeated:
        for item, item_document in zip(getattr(message, name), document[json_name], strict=True):
            _emit_unset_messages(item, item_document)
    for name, json_name in mapped:
        values = getattr(message, name).values()
        for item, item_document in zip(values, document[json_name].values(), strict=True):
            _emit_unset_messages(item, item_document)
