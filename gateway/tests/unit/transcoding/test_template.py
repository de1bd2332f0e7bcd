"""Path templates: parsing, matching, unescaping and expansion."""

from __future__ import annotations

import pytest

from gateway.transcoding import (
    InvalidHttpRuleError,
    TranscodeError,
    UnescapingMode,
    expand,
    parse_template,
)
from gateway.transcoding._template import SegmentKind

RESERVED = UnescapingMode.ALL_EXCEPT_RESERVED


def match(template: str, path: str, mode: UnescapingMode = RESERVED) -> dict[str, str] | None:
    compiled = parse_template(template)
    components = path[1:].split("/")
    if compiled.verb:
        suffix = f":{compiled.verb}"
        if not components[-1].endswith(suffix):
            return None
        components[-1] = components[-1][: -len(suffix)]
    return compiled.match(components, mode)


def test_literal_template_matches_only_its_own_path() -> None:
    assert match("/v1/wallet", "/v1/wallet") == {}
    assert match("/v1/wallet", "/v1/wallets") is None
    assert match("/v1/wallet", "/v1/wallet/") is None
    assert match("/v1/wallet", "/v1") is None


def test_root_template_matches_the_root_path() -> None:
    assert match("/", "/") == {}
    assert match("/", "/x") is None


def test_variable_captures_one_segment() -> None:
    assert match("/v1/charges/{charge_id}/refunds", "/v1/charges/ch_1/refunds") == {
        "charge_id": "ch_1"
    }
    assert match("/v1/charges/{charge_id}/refunds", "/v1/charges/a/b/refunds") is None


def test_variable_with_nested_field_path() -> None:
    template = parse_template("/v1/{msg.inner.id}")
    assert template.field_paths == ("msg.inner.id",)
    assert match("/v1/{msg.inner.id}", "/v1/42") == {"msg.inner.id": "42"}


def test_variable_with_segments_pattern_captures_literals_too() -> None:
    template = "/v1/{name=shelves/*/books/*}"
    assert match(template, "/v1/shelves/s1/books/b2") == {"name": "shelves/s1/books/b2"}
    assert match(template, "/v1/rooms/s1/books/b2") is None
    assert match(template, "/v1/shelves/s1/books") is None


def test_anonymous_wildcards_match_without_binding() -> None:
    assert match("/v1/*/items", "/v1/anything/items") == {}
    assert match("/v1/**", "/v1/a/b/c") == {}


def test_deep_wildcard_keeps_slashes_and_may_be_empty() -> None:
    assert match("/v1/files/{path=**}", "/v1/files/a/b/c.txt") == {"path": "a/b/c.txt"}
    assert match("/v1/files/{path=**}", "/v1/files") == {"path": ""}


def test_deep_wildcard_before_trailing_literals() -> None:
    template = "/v1/files/{path=**}/content"
    assert match(template, "/v1/files/a/b/content") == {"path": "a/b"}
    assert match(template, "/v1/files/a/b") is None


def test_verb_is_split_from_the_last_segment() -> None:
    template = parse_template("/v1/{name=operations/*}:cancel")
    assert template.verb == "cancel"
    assert [segment.kind for segment in template.segments] == [
        SegmentKind.LITERAL,
        SegmentKind.LITERAL,
        SegmentKind.WILDCARD,
    ]
    assert match("/v1/{name=operations/*}:cancel", "/v1/operations/op1:cancel") == {
        "name": "operations/op1"
    }


def test_verb_after_a_literal_and_after_a_deep_wildcard() -> None:
    assert parse_template("/v1/items:batchGet").verb == "batchGet"
    assert match("/v1/{path=**}:undelete", "/v1/a/b:undelete") == {"path": "a/b"}


def test_single_segment_captures_are_fully_unescaped() -> None:
    assert match("/v1/{id}", "/v1/a%2Fb%20c%3Ad") == {"id": "a/b c:d"}
    assert match("/v1/{id}", "/v1/%C3%A9t%C3%A9") == {"id": "été"}


def test_deep_captures_keep_reserved_characters_escaped_by_default() -> None:
    assert match("/v1/{path=**}", "/v1/a%2Fb/c%3Ad%20e") == {"path": "a%2Fb/c%3Ad e"}


def test_unescaping_modes_for_deep_captures() -> None:
    path = "/v1/a%2Fb/c%3Ad"
    assert match("/v1/{path=**}", path, UnescapingMode.ALL_EXCEPT_SLASH) == {"path": "a%2Fb/c:d"}
    assert match("/v1/{path=**}", path, UnescapingMode.ALL_CHARACTERS) == {"path": "a/b/c:d"}
    assert match("/v1/{path=**}", path, UnescapingMode.LEGACY) == {"path": "a%2Fb/c%3Ad"}


def test_literals_are_compared_with_the_raw_path() -> None:
    assert match("/v1/wallet", "/v1/walle%74") is None


@pytest.mark.parametrize("path", ["/v1/%zz", "/v1/abc%", "/v1/%4"])
def test_malformed_escape_in_a_capture_is_a_transcode_error(path: str) -> None:
    with pytest.raises(TranscodeError, match="malformed path escape"):
        match("/v1/{id}", path)


def test_escape_that_is_not_utf8_is_a_transcode_error() -> None:
    with pytest.raises(TranscodeError, match="UTF-8"):
        match("/v1/{id}", "/v1/%FF")


@pytest.mark.parametrize(
    "template",
    [
        "v1/wallet",  # no leading slash
        "",
        "/v1//wallet",  # empty segment
        "/v1/wallet/",  # trailing slash
        "/v1/{id",  # unterminated variable
        "/v1/{id=*",  # unterminated variable pattern
        "/v1/{a={b}}",  # nested variable
        "/v1/{id.}",  # empty field path component
        "/v1/{field-name}",  # not an identifier
        "/v1/{1st}",  # identifier starting with a digit
        "/v1/a?b",  # not a path character
        "/v1/a%2z",  # bad percent-encoding
        "/v1/{a=**}/{b=**}",  # two deep wildcards
        "/v1/{id}/{id}",  # same field twice
        "/v1/{id=}",  # empty pattern
        "/v1/a{id}",  # variable glued to a literal
        "/v1/{id}:",  # empty verb
        "/v1/x:a b",  # verb with a space
    ],
)
def test_invalid_templates_are_rejected_at_compile_time(template: str) -> None:
    with pytest.raises(InvalidHttpRuleError):
        parse_template(template)


def test_precedence_orders_literals_before_wildcards_and_verbs_first() -> None:
    ordered = sorted(
        ["/v1/{name}", "/v1/latest", "/v1/{path=**}", "/v1/{name}:cancel", "/v1/{p=**}/x"],
        key=lambda source: parse_template(source).precedence,
    )
    assert ordered == [
        "/v1/latest",
        "/v1/{name}:cancel",
        "/v1/{name}",
        "/v1/{p=**}/x",
        "/v1/{path=**}",
    ]


def test_expand_escapes_single_segment_values() -> None:
    assert expand("/v1/charges/{id}/refunds", {"id": "a/b c"}) == "/v1/charges/a%2Fb%20c/refunds"


def test_expand_keeps_slashes_of_deep_values_and_adds_the_verb() -> None:
    assert expand("/v1/{path=**}:undelete", {"path": "a/b c"}) == "/v1/a/b%20c:undelete"


def test_expand_checks_values_against_their_pattern() -> None:
    assert expand("/v1/{name=shelves/*}", {"name": "shelves/s 1"}) == "/v1/shelves/s%201"
    with pytest.raises(ValueError, match="does not fit"):
        expand("/v1/{name=shelves/*}", {"name": "rooms/1"})
    with pytest.raises(KeyError):
        expand("/v1/{name}", {})


def test_expand_fills_anonymous_wildcards() -> None:
    assert expand("/v1/*/x/**", {}) == "/v1/_/x/_"
