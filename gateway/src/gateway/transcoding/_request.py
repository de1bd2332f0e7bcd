"""Building the RPC's request message from an HTTP request."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from google.protobuf import json_format
from google.protobuf.message import Message

from gateway.transcoding._errors import TranscodeError
from gateway.transcoding._fields import assign, resolve_field_path
from gateway.transcoding._routes import Route

# grpc-gateway accepts `field[key]=value` for map fields.
_MAP_KEY = re.compile(r"(.*)\[(.*)\]")


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
        )
    except (ValueError, RecursionError) as error:
        raise TranscodeError(f"malformed JSON body: {error}") from None
    if route.body_field is not None:
        document = {route.body_field.name: document}
    elif not isinstance(document, dict) and not message.DESCRIPTOR.full_name.startswith(
        "google.protobuf."
    ):
        raise TranscodeError("the request body must be a JSON object")
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=discard_unknown)
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise TranscodeError(str(error)) from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate field in JSON object")
    return document


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


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
