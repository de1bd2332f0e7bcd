"""Route tables built from descriptors: matching, precedence, 404 vs 405, bad rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google.api.http_pb2 import CustomHttpPattern, HttpRule
from google.protobuf.descriptor import ServiceDescriptor

from gateway.transcoding import (
    InvalidHttpRuleError,
    Match,
    MethodNotAllowed,
    NotFound,
    RouteTable,
    TranscodeError,
    UnescapingMode,
)

MakeService = Callable[..., ServiceDescriptor]


def routed(table: RouteTable, http_method: str, path: str) -> tuple[str, dict[str, str]]:
    found = table.match(http_method, path)
    assert isinstance(found, Match), found
    return found.route.method.name, found.path_params


def test_table_has_one_route_per_binding_and_skips_unannotated_rpcs(
    echo_table: RouteTable,
) -> None:
    names = [(route.method.name, route.binding_index) for route in echo_table]
    assert ("GetEcho", 0) in names
    assert ("GetEcho", 1) in names
    assert len(echo_table) == 12
    assert "Ping" not in {name for name, _ in names}


def test_nested_field_in_path(echo_table: RouteTable) -> None:
    assert routed(echo_table, "GET", "/v1/echoes/e1") == ("GetEcho", {"inner.id": "e1"})


def test_additional_binding_routes_to_the_same_rpc(echo_table: RouteTable) -> None:
    assert routed(echo_table, "GET", "/v1/rooms/r1/echoes/e1") == (
        "GetEcho",
        {"room": "rooms/r1", "inner.id": "e1"},
    )


def test_literal_route_beats_variable_route(echo_table: RouteTable) -> None:
    assert routed(echo_table, "GET", "/v1/operations/latest") == ("GetLatestOperation", {})
    assert routed(echo_table, "GET", "/v1/operations/op1") == (
        "GetOperation",
        {"name": "operations/op1"},
    )


def test_verb_selects_the_verb_route(echo_table: RouteTable) -> None:
    assert routed(echo_table, "POST", "/v1/operations/op1:cancel") == (
        "CancelOperation",
        {"name": "operations/op1"},
    )


def test_a_route_without_verb_keeps_the_colon_in_its_capture(echo_table: RouteTable) -> None:
    assert routed(echo_table, "GET", "/v1/operations/op1:cancel") == (
        "GetOperation",
        {"name": "operations/op1:cancel"},
    )


def test_bare_verb_segment_does_not_match_the_verb_route(echo_table: RouteTable) -> None:
    found = echo_table.match("POST", "/v1/operations/:cancel")
    # Only GET /v1/{name=operations/*} matches, with name "operations/:cancel".
    assert found == MethodNotAllowed(("GET",))


def test_deep_wildcard_with_trailing_literal_wins_over_plain_deep_wildcard(
    echo_table: RouteTable,
) -> None:
    assert routed(echo_table, "GET", "/v1/files/a/b/content") == (
        "GetFileContent",
        {"path": "a/b"},
    )
    assert routed(echo_table, "GET", "/v1/files/a/b/c.txt") == ("GetFile", {"path": "a/b/c.txt"})


def test_custom_http_method(echo_table: RouteTable) -> None:
    assert routed(echo_table, "LOCK", "/v1/locks/l1") == ("Lock", {"id": "l1"})


def test_unknown_path_is_not_found(echo_table: RouteTable) -> None:
    found = echo_table.match("GET", "/v2/echoes/e1")
    assert found == NotFound()
    assert (found.http_status, found.grpc_code) == (404, 5)
    assert isinstance(echo_table.match("GET", "/v1/echoes/e1/"), NotFound)
    assert isinstance(echo_table.match("GET", "no-leading-slash"), NotFound)


def test_known_path_with_another_method_is_method_not_allowed(echo_table: RouteTable) -> None:
    found = echo_table.match("PUT", "/v1/echoes/e1")
    assert isinstance(found, MethodNotAllowed)
    assert found.allowed_methods == ("DELETE", "GET", "PATCH")
    # grpc-gateway's default: codes.Unimplemented, hence HTTP 501.
    assert (found.http_status, found.grpc_code, found.message) == (501, 12, "Method Not Allowed")


def test_malformed_escape_in_the_path_is_a_transcode_error(echo_table: RouteTable) -> None:
    with pytest.raises(TranscodeError):
        echo_table.match("GET", "/v1/echoes/%G1")


def test_all_characters_mode_splits_on_encoded_slashes(echo_service: ServiceDescriptor) -> None:
    table = RouteTable.from_services([echo_service], unescaping_mode=UnescapingMode.ALL_CHARACTERS)
    assert routed(table, "GET", "/v1/files/a%2Fb") == ("GetFile", {"path": "a/b"})
    assert isinstance(table.match("GET", "/v1/echoes/a%2Fb"), NotFound)


def test_unbound_methods_can_be_served_as_post_with_the_rpc_path(
    echo_service: ServiceDescriptor,
) -> None:
    table = RouteTable.from_services([echo_service], serve_unbound_methods=True)
    found = table.match("POST", "/tollgate.testing.v1.EchoService/Ping")
    assert isinstance(found, Match)
    assert (found.route.body, found.route.grpc_method) == (
        "*",
        "/tollgate.testing.v1.EchoService/Ping",
    )


def test_a_new_annotated_rpc_is_routed_without_code_changes(make_service: MakeService) -> None:
    service = make_service(
        {
            "Get": HttpRule(get="/v1/things/{id}"),
            "Rename": HttpRule(post="/v1/things/{id}:rename", body="*"),
        }
    )
    table = RouteTable.from_services([service])
    assert routed(table, "POST", "/v1/things/t1:rename") == ("Rename", {"id": "t1"})


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (HttpRule(get="/v1/{missing}"), "no field"),
        (HttpRule(get="/v1/{id.sub}"), "non-message"),
        (HttpRule(get="/v1/{inner}"), "cannot be a path parameter"),
        (HttpRule(get="/v1/{labels}"), "cannot be a path parameter"),
        (HttpRule(get="/v1/{tags.x}"), "non-message"),
        (HttpRule(get="/v1/x", body="*"), "GET binding cannot have a body"),
        (HttpRule(post="/v1/x", body="missing"), "no body field"),
        (HttpRule(post="/v1/x", body="*", response_body="missing"), "no response field"),
        (HttpRule(get="/v1//x"), "empty segment"),
        (HttpRule(body="*"), "without a path"),
        (HttpRule(custom=CustomHttpPattern(kind="", path="/v1/x")), "without a method"),
        (
            HttpRule(
                get="/v1/x",
                additional_bindings=[
                    HttpRule(get="/v1/y", additional_bindings=[HttpRule(get="/v1/z")])
                ],
            ),
            "additional binding",
        ),
    ],
)
def test_invalid_rules_are_rejected_when_the_table_is_built(
    make_service: MakeService, rule: HttpRule, reason: str
) -> None:
    with pytest.raises(InvalidHttpRuleError, match=reason):
        RouteTable.from_services([make_service({"Call": rule})])


def test_two_rpcs_on_the_same_method_and_path_are_rejected(make_service: MakeService) -> None:
    service = make_service(
        {"One": HttpRule(get="/v1/things/{id}"), "Two": HttpRule(get="/v1/things/{name}")}
    )
    with pytest.raises(InvalidHttpRuleError, match="bound to both"):
        RouteTable.from_services([service])


def test_streaming_rpcs_with_rules_are_rejected(make_service: MakeService) -> None:
    service = make_service({"Watch": HttpRule(get="/v1/watch")}, streaming=True)
    with pytest.raises(InvalidHttpRuleError, match="streaming"):
        RouteTable.from_services([service])
