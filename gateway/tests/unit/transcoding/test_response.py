"""Responses: grpc-gateway's default JSON, and ``response_body``."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import orjson
from google.api.http_pb2 import HttpRule
from google.protobuf.descriptor import ServiceDescriptor

from gateway.transcoding import Match, RouteTable, render_response
from gateway.transcoding._routes import Route


def route(table: RouteTable, http_method: str, path: str) -> Route:
    found = table.match(http_method, path)
    assert isinstance(found, Match)
    return found.route


def test_json_uses_camel_case_int64_strings_enum_names_and_emits_zero_values(
    echo_table: RouteTable, echo_pb2: ModuleType
) -> None:
    echo = echo_pb2.Echo(id="e1", big=5, color=echo_pb2.GREEN, inner=echo_pb2.Inner(id="i"))

    document = orjson.loads(render_response(route(echo_table, "GET", "/v1/echoes/e1"), echo))

    assert document["id"] == "e1"
    assert document["big"] == "5"
    assert document["ubig"] == "0"
    assert document["small"] == 0
    assert document["color"] == "GREEN"
    assert document["tags"] == []
    assert document["counts"] == {}
    assert document["customName"] == ""
    assert document["inner"] == {"id": "i", "count": 0, "deeper": None}


def test_unset_message_fields_are_null_but_unset_oneofs_and_optionals_are_left_out(
    echo_table: RouteTable, echo_pb2: ModuleType
) -> None:
    document = orjson.loads(
        render_response(route(echo_table, "GET", "/v1/echoes/e1"), echo_pb2.Echo())
    )
    assert document["when"] is None
    assert document["maybeBig"] is None
    assert document["inner"] is None
    assert "choiceText" not in document
    assert "nickname" not in document


def test_nested_messages_in_lists_and_maps_get_nulls_too(
    echo_table: RouteTable, echo_pb2: ModuleType
) -> None:
    echo = echo_pb2.Echo(inner_list=[echo_pb2.Inner(id="a")])
    echo.inners["k"].id = "b"
    document = orjson.loads(render_response(route(echo_table, "GET", "/v1/echoes/e1"), echo))
    assert document["innerList"] == [{"id": "a", "count": 0, "deeper": None}]
    assert document["inners"] == {"k": {"id": "b", "count": 0, "deeper": None}}


def test_response_body_renders_only_that_field(
    echo_table: RouteTable, echo_pb2: ModuleType
) -> None:
    response = echo_pb2.ListEchoesResponse(echoes=[echo_pb2.Echo(id="a")], next_page_token="next")
    payload = render_response(route(echo_table, "GET", "/v1/echoes"), response)
    document = orjson.loads(payload)
    assert isinstance(document, list)
    assert [item["id"] for item in document] == ["a"]


def test_scalar_response_body(echo_table: RouteTable, echo_pb2: ModuleType) -> None:
    file = echo_pb2.File(path="a/b", content=b"hi")
    payload = render_response(route(echo_table, "GET", "/v1/files/a/b/content"), file)
    assert orjson.loads(payload) == "aGk="


def test_unset_message_response_body_renders_an_empty_message(
    make_service: Callable[..., ServiceDescriptor],
) -> None:
    rule = HttpRule(get="/v1/x", response_body="inner")
    table = RouteTable.from_services([make_service({"Get": rule})])
    found = route(table, "GET", "/v1/x")
    assert orjson.loads(render_response(found, found.response_class())) == {"id": ""}
