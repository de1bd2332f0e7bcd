"""Request bodies: ``body: "*"``, a named body field, no body, and what wins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from gateway.transcoding import Match, RouteTable, TranscodeError, build_request


def transcode(
    table: RouteTable,
    http_method: str,
    path: str,
    body: bytes = b"",
    query: str = "",
    *,
    field_overrides: Mapping[str, str] | None = None,
    discard_unknown_fields: bool = True,
) -> Any:
    found = table.match(http_method, path)
    assert isinstance(found, Match)
    return build_request(
        found.route,
        found.path_params,
        query,
        body,
        field_overrides=field_overrides,
        discard_unknown_fields=discard_unknown_fields,
    )


def test_star_body_fills_the_whole_message(echo_table: RouteTable) -> None:
    request = transcode(
        echo_table,
        "PATCH",
        "/v1/echoes/e1",
        b'{"big": "12", "color": "RED", "tags": ["a"], "inner": {"count": 2},'
        b' "when": "2024-01-01T00:00:00Z", "counts": {"k": 3}, "customName": "n"}',
    )
    assert (request.big, request.color, list(request.tags), request.inner.count) == (
        12,
        1,
        ["a"],
        2,
    )
    assert request.when.seconds == 1704067200
    assert dict(request.counts) == {"k": 3}
    assert request.renamed == "n"


def test_path_parameters_win_over_the_body(echo_table: RouteTable) -> None:
    request = transcode(echo_table, "PATCH", "/v1/echoes/from-path", b'{"id": "from-body"}')
    assert request.id == "from-path"


def test_named_body_field_takes_the_json_and_the_rest_comes_from_query(
    echo_table: RouteTable,
) -> None:
    request = transcode(
        echo_table,
        "POST",
        "/v1/rooms/r1/echoes",
        b'{"id": "new", "small": 3}',
        query="requestId=req-1&echo.small=9",
    )
    assert request.parent == "rooms/r1"
    assert request.request_id == "req-1"
    # Fields under the body field are not taken from the query.
    assert (request.echo.id, request.echo.small) == ("new", 3)


def test_empty_body_is_allowed(echo_table: RouteTable) -> None:
    request = transcode(echo_table, "PATCH", "/v1/echoes/e1", b"  \n")
    assert request.id == "e1"


def test_body_is_ignored_for_routes_without_a_body(echo_table: RouteTable) -> None:
    request = transcode(echo_table, "GET", "/v1/echoes/e1", b'{"id": "x"}')
    assert request.id == ""


def test_unknown_json_fields_are_discarded_by_default(echo_table: RouteTable) -> None:
    request = transcode(echo_table, "PATCH", "/v1/echoes/e1", b'{"small": 1, "nope": 2}')
    assert request.small == 1


def test_unknown_enum_names_are_discarded_with_unknown_fields(echo_table: RouteTable) -> None:
    # protojson's DiscardUnknown also skips enum names it does not know.
    request = transcode(echo_table, "PATCH", "/v1/echoes/e1", b'{"color": "BLUE", "small": 1}')
    assert (request.color, request.small) == (0, 1)


@pytest.mark.parametrize("body", [b'{"nope": 2}', b'{"color": "BLUE"}'])
def test_unknown_json_fields_and_enum_names_can_be_rejected(
    echo_table: RouteTable, body: bytes
) -> None:
    with pytest.raises(TranscodeError):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", body, discard_unknown_fields=False)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"small": "abc"}',
        b'{"small": 1.5}',
        b'{"tags": "not-a-list"}',
        b'{"when": "yesterday"}',
        b'{"small": 1, "small": 2}',
        b'{"ratio": NaN}',
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe",
    ],
)
def test_malformed_or_mistyped_json_is_a_transcode_error(
    echo_table: RouteTable, body: bytes
) -> None:
    with pytest.raises(TranscodeError):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", body)


def test_header_overrides_win_over_body_and_ignore_missing_fields(
    echo_table: RouteTable,
) -> None:
    request = transcode(
        echo_table,
        "PATCH",
        "/v1/echoes/e1",
        b'{"idempotencyKey": "from-body"}',
        field_overrides={"idempotency_key": "from-header", "no_such_field": "x"},
    )
    assert request.idempotency_key == "from-header"


def test_bad_override_value_is_a_transcode_error(echo_table: RouteTable) -> None:
    with pytest.raises(TranscodeError, match="'small'"):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", field_overrides={"small": "x"})


@pytest.mark.parametrize(
    "body",
    [
        b'{"big": "1_000"}',
        b'{"big": " 12"}',
        b'{"big": "+12"}',
        b'{"big": "012"}',
        '{"big": "\u0661\u0662"}'.encode(),  # Arabic-Indic digits
        b'{"ubig": "1_0"}',
        b'{"ids": ["1", "2_0"]}',
        b'{"counts": {"k": "3_0"}}',
        b'{"inner": {"count": "4_0"}}',
        b'{"innerList": [{"count": " 5"}]}',
    ],
)
def test_integers_in_strings_are_read_as_protojson_reads_them(
    echo_table: RouteTable, body: bytes
) -> None:
    with pytest.raises(TranscodeError, match="invalid value for integer field"):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", body)


def test_plain_integer_strings_and_numbers_are_accepted(echo_table: RouteTable) -> None:
    request = transcode(
        echo_table,
        "PATCH",
        "/v1/echoes/e1",
        b'{"big": "-9223372036854775808", "ubig": 18446744073709551615, "ids": ["0", 7],'
        b' "counts": {"k": "30"}, "innerList": [{"count": "5"}]}',
    )
    assert (request.big, request.ubig, list(request.ids)) == (-(2**63), 2**64 - 1, [0, 7])
    assert dict(request.counts) == {"k": 30}
    assert request.inner_list[0].count == 5


# protojson reads an integer field's string as a JSON number that must be whole.
WHOLE_NUMBERS = (
    b'{"big": "1e2", "ubig": "1.0", "ids": ["2E1", "-0.0"], "counts": {"k": "3.0e0"},'
    b' "inner": {"count": "0.5e1"}}'
)


def test_whole_numbers_in_strings_may_have_a_fraction_or_an_exponent(
    echo_table: RouteTable,
) -> None:
    request = transcode(echo_table, "PATCH", "/v1/echoes/e1", WHOLE_NUMBERS)
    assert (request.big, request.ubig, list(request.ids)) == (100, 1, [20, 0])
    assert dict(request.counts) == {"k": 3}
    assert request.inner.count == 5


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"big": "1.5"}', "invalid value for integer field"),
        (b'{"big": "1e-1"}', "invalid value for integer field"),
        (b'{"big": "1e30"}', "out of range"),
        (b'{"ubig": "1e999999999"}', "out of range"),
        (b'{"small": "3e9"}', "out of range|Couldn't parse"),
    ],
)
def test_fractions_and_huge_exponents_in_integer_strings_are_refused(
    echo_table: RouteTable, body: bytes, error: str
) -> None:
    with pytest.raises(TranscodeError, match=error):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"innerList": [], "inner_list": [{"count": 1}]}',
        b'{"customName": "a", "renamed": "b"}',
        b'{"maybeBig": "1", "maybe_big": "2"}',
        b'{"idempotencyKey": "a", "inner": {"id": "x"}, "idempotency_key": "b"}',
        b'{"inners": {"k": {"count": 1, "count": 2}}}',
    ],
)
def test_one_field_given_twice_is_refused_whatever_its_spelling(
    echo_table: RouteTable, body: bytes
) -> None:
    with pytest.raises(TranscodeError, match=r"more than once|duplicate field"):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"\\udc00id": "x"}',  # a key
        b'{"id": "x\\ud800"}',  # a value
        b'{"tags": ["ok", "\\udfff"]}',  # in a list
        b'{"inner": {"id": "\\ud83d"}}',  # in a nested message
        b'{"color": "\\ud800"}',  # where an enum name is expected
    ],
)
def test_unpaired_surrogate_escapes_are_malformed_json(echo_table: RouteTable, body: bytes) -> None:
    with pytest.raises(TranscodeError, match="unpaired surrogate"):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", body)


def test_paired_surrogate_escapes_are_one_character(echo_table: RouteTable) -> None:
    request = transcode(echo_table, "PATCH", "/v1/echoes/e1", b'{"tags": ["\\ud83d\\ude00"]}')
    assert list(request.tags) == ["\U0001f600"]


@pytest.mark.parametrize("body", [b'{"ratio": 1e400}', b'{"unknownField": -1e999}'])
def test_numbers_past_a_doubles_range_are_refused(echo_table: RouteTable, body: bytes) -> None:
    # Also in fields nobody reads: the gateway's login limiter reads the body with a parser
    # that refuses them, and both must see the same request.
    with pytest.raises(TranscodeError, match="out of range"):
        transcode(echo_table, "PATCH", "/v1/echoes/e1", body)
