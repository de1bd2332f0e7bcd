"""Query parameters: names, nesting, repetition, types and errors (grpc-gateway's parser)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from gateway.transcoding import Match, RouteTable, TranscodeError, build_request


def get_echo(table: RouteTable, query: str) -> Any:
    found = table.match("GET", "/v1/echoes/e1")
    assert isinstance(found, Match)
    return build_request(found.route, found.path_params, query)


def test_scalars_by_proto_name_and_by_json_name(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "id=x&small=-7&usmall=7&ratio=2.5&fraction=0.5&customName=r")
    assert (request.id, request.small, request.usmall, request.ratio, request.fraction) == (
        "x",
        -7,
        7,
        2.5,
        0.5,
    )
    assert request.renamed == "r"
    assert get_echo(echo_table, "renamed=r2").renamed == "r2"


def test_64_bit_integers_are_read_from_strings(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "big=-9223372036854775808&ubig=18446744073709551615")
    assert (request.big, request.ubig) == (-(2**63), 2**64 - 1)


def test_booleans_follow_go_parse_bool(echo_table: RouteTable) -> None:
    assert get_echo(echo_table, "flag=true").flag is True
    assert get_echo(echo_table, "flag=1").flag is True
    assert get_echo(echo_table, "flag=F").flag is False


def test_dotted_names_fill_nested_messages(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "inner.count=3&inner.deeper.note=hi")
    assert (request.inner.count, request.inner.deeper.note) == (3, "hi")


def test_repeated_keys_fill_repeated_fields_in_order(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "tags=a&ids=1&tags=b&ids=2&colors=RED&colors=2")
    assert list(request.tags) == ["a", "b"]
    assert list(request.ids) == [1, 2]
    assert list(request.colors) == [1, 2]


def test_enums_by_name_or_number(echo_table: RouteTable) -> None:
    assert get_echo(echo_table, "color=GREEN").color == 2
    assert get_echo(echo_table, "color=1").color == 1


def test_map_entries_use_bracket_keys(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "counts[a]=1&counts[b]=2")
    assert dict(request.counts) == {"a": 1, "b": 2}


def test_well_known_types(echo_table: RouteTable, echo_pb2: ModuleType) -> None:
    request = get_echo(
        echo_table,
        "when=2024-05-01T10:00:00.5Z&timeout=1.5s&updateMask=id,inner.count"
        "&maybeBig=12&maybeName=n&maybeFlag=false&extra=%7B%22k%22%3A1%7D&blob=aGk%3D",
    )
    assert request.when.ToJsonString() == "2024-05-01T10:00:00.500Z"
    assert (request.timeout.seconds, request.timeout.nanos) == (1, 500_000_000)
    assert list(request.update_mask.paths) == ["id", "inner.count"]
    assert (request.maybe_big.value, request.maybe_name.value) == (12, "n")
    assert request.HasField("maybe_flag")
    assert request.maybe_flag.value is False
    assert dict(request.extra) == {"k": 1}
    assert request.blob == b"hi"


@pytest.mark.parametrize(
    ("text", "seconds", "nanos"),
    [("300ms", 0, 300_000_000), ("1h30m", 5400, 0), ("-1.5s", -1, -500_000_000), ("0", 0, 0)],
)
def test_durations_use_go_syntax(
    echo_table: RouteTable, text: str, seconds: int, nanos: int
) -> None:
    timeout = get_echo(echo_table, f"timeout={text}").timeout
    assert (timeout.seconds, timeout.nanos) == (seconds, nanos)


def test_oneof_members_and_proto3_optional(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "choiceNumber=4&nickname=")
    assert request.WhichOneof("choice") == "choice_number"
    assert request.HasField("nickname")


def test_unknown_parameters_are_ignored(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "nope=1&inner.nope=2&id=x")
    assert request.id == "x"


def test_path_bound_fields_are_not_taken_from_the_query(echo_table: RouteTable) -> None:
    request = get_echo(echo_table, "inner.id=other&inner.count=2")
    assert (request.inner.id, request.inner.count) == ("e1", 2)


def test_query_is_accepted_as_bytes_and_decoded(echo_table: RouteTable) -> None:
    found = echo_table.match("GET", "/v1/echoes/e1")
    assert isinstance(found, Match)
    request: Any = build_request(found.route, found.path_params, b"id=caf%C3%A9+au+lait")
    assert request.id == "café au lait"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("small=abc", "'small'"),
        ("small=2147483648", "out of range"),
        ("small=1.0", "not an integer"),
        ("small= 1", "not an integer"),
        ("usmall=-1", "not an integer"),
        ("big=1_000", "not an integer"),
        ("ratio=x", "not a number"),
        ("fraction=1e39", "out of range"),
        ("flag=yes", "not a boolean"),
        ("color=BLUE", "not a valid Color"),
        ("color=9", "not a valid Color"),
        ("when=yesterday", "'when'"),
        ("timeout=5", "invalid duration"),
        ("timeout=1.5x", "invalid duration"),
        ("maybeBig=x", "not an integer"),
        ("extra=%7Bnope", "'extra'"),
        ("blob=***", "not base64"),
        ("id=a&id=b", "too many values"),
        ("choiceText=a&choiceNumber=1", "oneof"),
        ("counts[a]=1&counts[a]=2", "one value per key"),
        ("id.x=1", "not a message"),
        ("tags.x=1", "not a message"),
        ("innerList=x", "unsupported message type"),
        ("id=%FF", "UTF-8"),
    ],
)
def test_bad_values_are_transcode_errors(echo_table: RouteTable, query: str, message: str) -> None:
    with pytest.raises(TranscodeError, match=message):
        get_echo(echo_table, query)


def test_query_is_ignored_when_the_whole_body_is_the_request(echo_table: RouteTable) -> None:
    found = echo_table.match("PATCH", "/v1/echoes/e1")
    assert isinstance(found, Match)
    request: Any = build_request(found.route, found.path_params, "small=5&id=x", b"{}")
    assert (request.id, request.small) == ("e1", 0)
