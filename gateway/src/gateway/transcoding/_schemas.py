"""JSON Schemas (OpenAPI 3.1 flavour) of protobuf messages as protojson renders them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

_T = FieldDescriptor
# 64-bit integers: protojson writes them as strings and reads a string or a number. The
# patterns stay inside the range (18 or 19 digits) and refuse leading zeros and "+", as the
# gateway does; the gateway also reads "1e2", which no schema here promises.
_INT64: dict[str, Any] = {
    "type": ["string", "integer"],
    "format": "int64",
    "pattern": "^(?:0|-?[1-9][0-9]{0,17})$",
    "minimum": -(2**63),
    "maximum": 2**63 - 1,
}
_UINT64: dict[str, Any] = {
    "type": ["string", "integer"],
    "format": "uint64",
    "pattern": "^(?:0|[1-9][0-9]{0,18})$",
    "minimum": 0,
    "maximum": 2**64 - 1,
}
_INT64_TYPES = frozenset(
    {_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64, _T.TYPE_UINT64, _T.TYPE_FIXED64}
)
_SCALARS: dict[int, dict[str, Any]] = {
    _T.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _T.TYPE_FLOAT: {"type": "number", "format": "float"},
    _T.TYPE_INT64: _INT64,
    _T.TYPE_SINT64: _INT64,
    _T.TYPE_SFIXED64: _INT64,
    _T.TYPE_UINT64: _UINT64,
    _T.TYPE_FIXED64: _UINT64,
    _T.TYPE_INT32: {"type": "integer", "format": "int32"},
    _T.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _T.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _T.TYPE_UINT32: {"type": "integer", "format": "int64"},
    _T.TYPE_FIXED32: {"type": "integer", "format": "int64"},
    _T.TYPE_BOOL: {"type": "boolean"},
    _T.TYPE_STRING: {"type": "string"},
    _T.TYPE_BYTES: {"type": "string", "format": "byte"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "examples": ["1.5s"]},
    "google.protobuf.FieldMask": {"type": "string", "examples": ["name,description"]},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": {}},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.DoubleValue": _SCALARS[_T.TYPE_DOUBLE],
    "google.protobuf.FloatValue": _SCALARS[_T.TYPE_FLOAT],
    "google.protobuf.Int64Value": _SCALARS[_T.TYPE_INT64],
    "google.protobuf.UInt64Value": _SCALARS[_T.TYPE_UINT64],
    "google.protobuf.Int32Value": _SCALARS[_T.TYPE_INT32],
    "google.protobuf.UInt32Value": _SCALARS[_T.TYPE_UINT32],
    "google.protobuf.BoolValue": _SCALARS[_T.TYPE_BOOL],
    "google.protobuf.StringValue": _SCALARS[_T.TYPE_STRING],
    "google.protobuf.BytesValue": _SCALARS[_T.TYPE_BYTES],
}
ANY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A message of any type: `@type` names it, its fields follow.",
    "properties": {
        "@type": {
            "type": "string",
            "description": "The message's type URL, e.g. type.googleapis.com/google.rpc.ErrorInfo.",
        }
    },
    "additionalProperties": {},
}
STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error: a google.rpc.Status as JSON.",
    "properties": {
        "code": {
            "type": "integer",
            "format": "int32",
            "description": "The gRPC status code (google.rpc.Code), e.g. 9 FAILED_PRECONDITION.",
        },
        "message": {
            "type": "string",
            "description": "What went wrong, in English, safe to show; not for matching.",
        },
        "details": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/google.protobuf.Any"},
            "description": "A google.rpc.ErrorInfo whose `reason` is the machine-readable"
            " cause (listed per operation), and a google.rpc.RequestInfo with the request id.",
        },
    },
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def is_required(field: FieldDescriptor) -> bool:
    """Whether ``field`` is annotated ``(google.api.field_behavior) = REQUIRED``."""
    return field_behavior_pb2.REQUIRED in _behaviors(field)


def is_optional(field: FieldDescriptor) -> bool:
    """Whether ``field`` is annotated ``(google.api.field_behavior) = OPTIONAL``."""
    return field_behavior_pb2.OPTIONAL in _behaviors(field)


def _behaviors(field: FieldDescriptor) -> list[int]:
    return list(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def is_well_known(descriptor: Descriptor) -> bool:
    return descriptor.full_name in _WELL_KNOWN or descriptor.full_name == "google.protobuf.Any"


class SchemaRegistry:
    """Collects ``components/schemas`` while building field and message schemas."""

    def __init__(self, comments: Mapping[str, str] | None = None) -> None:
        self._comments = comments or {}
        self.descriptors: dict[str, Descriptor] = {}
        self.schemas: dict[str, Any] = {
            "google.protobuf.Any": ANY_SCHEMA,
            "google.rpc.Status": STATUS_SCHEMA,
        }

    def message(self, descriptor: Descriptor, *, without: frozenset[str] = frozenset()) -> Any:
        """A message's schema: a ``$ref`` (registering it), inline if fields are left out."""
        known = _WELL_KNOWN.get(descriptor.full_name)
        if known is not None:
            return dict(known)
        if without:
            return self._object(descriptor, without)
        name = descriptor.full_name
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: recursive messages refer to themselves
            self.descriptors[name] = descriptor
            self.schemas[name] = self._object(descriptor, without)
        return ref(name)

    def mark_output(self, name: str) -> None:
        """Narrow the schema of a message only ever answered (never sent) to what the gateway
        writes: every field is present (unset scalars, lists and maps with their zero value),
        except those annotated OPTIONAL, and 64-bit integers are strings."""
        descriptor = self.descriptors.get(name)
        if descriptor is None:
            return
        schema = self.schemas[name]
        present = [
            field.json_name
            for field in descriptor.fields
            if field.message_type is None or field.is_repeated
            if not is_optional(field)
        ]
        if present:
            schema["required"] = present
        for field in descriptor.fields:
            if field.type in _INT64_TYPES and not field.is_repeated:
                narrowed = dict(schema["properties"][field.json_name])
                narrowed["type"] = "string"
                for bound in ("minimum", "maximum"):
                    narrowed.pop(bound, None)
                schema["properties"][field.json_name] = narrowed

    def _object(self, descriptor: Descriptor, without: frozenset[str]) -> dict[str, Any]:
        """An object schema; fields annotated REQUIRED are ``required`` and, being proto3
        scalars whose zero value means "not set", non-empty when they are strings."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in descriptor.fields:
            if field.name in without:
                continue
            schema = self.field(field)
            described = self.describe(field)
            if described:
                schema = {**schema, "description": described}
            if field.GetOptions().deprecated:
                schema = {**schema, "deprecated": True}
            if is_required(field):
                required.append(field.json_name)
                if field.type == _T.TYPE_STRING and not field.is_repeated:
                    schema = {**schema, "minLength": 1}
            properties[field.json_name] = schema
        document: dict[str, Any] = {"type": "object", "properties": properties}
        if descriptor.full_name in self._comments:
            document["description"] = self._comments[descriptor.full_name]
        if required:
            document["required"] = required
        return document

    def enum(self, descriptor: EnumDescriptor) -> dict[str, Any]:
        name = descriptor.full_name
        if name not in self.schemas:
            schema: dict[str, Any] = {
                "type": "string",
                "enum": [value.name for value in descriptor.values],
            }
            lines = [self._comments.get(name, "")]
            lines += [
                f"- `{value.name}`: {self._comments[f'{name}.{value.name}']}"
                for value in descriptor.values
                if f"{name}.{value.name}" in self._comments
            ]
            text = "\n".join(line for line in lines if line)
            if text:
                schema["description"] = text
            self.schemas[name] = schema
        return ref(name)

    def describe(self, field: FieldDescriptor) -> str:
        """The field's comment, and what the JSON form of its type means (64-bit integers
        travel as strings, timestamps as RFC 3339); empty when there is nothing to say."""
        parts = [self._comments.get(field.full_name, "")]
        if field.type in _INT64_TYPES:
            parts.append(
                "A 64-bit integer, written as a decimal string (read as a string or a number)."
            )
        entry = field.message_type
        if entry is not None and entry.full_name == "google.protobuf.Timestamp":
            parts.append("An RFC 3339 timestamp in UTC, e.g. 2026-12-06T20:15:00Z.")
        return " ".join(part for part in parts if part)

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        """The schema of a field's JSON value (arrays for repeated, objects for maps)."""
        entry = field.message_type
        if field.is_repeated and entry is not None and entry.GetOptions().map_entry:
            value_schema = self.single(entry.fields_by_name["value"])
            return {"type": "object", "additionalProperties": value_schema}
        single = self.single(field)
        return {"type": "array", "items": single} if field.is_repeated else single

    def single(self, field: FieldDescriptor) -> dict[str, Any]:
        """The schema of one value of ``field`` (an element, for repeated fields)."""
        if field.message_type is not None:
            schema: dict[str, Any] = self.message(field.message_type)
            return schema
        if field.enum_type is not None:
            return self.enum(field.enum_type)
        return dict(_SCALARS[field.type])
