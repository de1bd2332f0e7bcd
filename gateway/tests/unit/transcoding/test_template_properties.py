"""Property: expanding a template with values and routing the result gives the values back."""

from __future__ import annotations

from collections.abc import Callable

from google.api.http_pb2 import HttpRule
from google.protobuf.descriptor import ServiceDescriptor
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.transcoding import Match, RouteTable, build_request, expand, parse_template

FIELDS = tuple(f"f{i}" for i in range(6))
LITERALS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=8)
# Any text at all: a single-segment value is percent-encoded whole, slashes included.
SEGMENT_VALUES = st.text(min_size=1, max_size=12)
# A `*` inside a multi-segment variable: its slashes would be ambiguous.
PIECE_VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=8
)
# A `**` value keeps reserved characters escaped, so those that must be escaped in a
# URL path ('?', '#', '[', ']') cannot come back unchanged.
DEEP_SEGMENTS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/?#[]"), min_size=1, max_size=8
)


@st.composite
def templates_with_bindings(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    pieces: list[str] = []
    bindings: dict[str, str] = {}
    names = iter(FIELDS)
    deep_used = False
    for _ in range(draw(st.integers(min_value=1, max_value=len(FIELDS)))):
        kind = draw(st.sampled_from(["literal", "wildcard", "variable", "patterned", "deep"]))
        if kind == "literal":
            pieces.append(draw(LITERALS))
        elif kind == "wildcard":
            pieces.append("*")
        elif kind == "patterned":
            name, literal = next(names), draw(LITERALS)
            pieces.append(f"{{{name}={literal}/*}}")
            bindings[name] = f"{literal}/{draw(PIECE_VALUES)}"
        elif kind == "deep" and not deep_used:
            deep_used, name = True, next(names)
            pieces.append(f"{{{name}=**}}")
            bindings[name] = "/".join(draw(st.lists(DEEP_SEGMENTS, min_size=1, max_size=4)))
        else:
            name = next(names)
            pieces.append(f"{{{name}}}")
            bindings[name] = draw(SEGMENT_VALUES)
    verb = draw(st.none() | LITERALS)
    template = "/" + "/".join(pieces) + (f":{verb}" if verb else "")
    return template, bindings


@settings(max_examples=200, deadline=None)
@given(templates_with_bindings())
def test_expanded_template_routes_back_to_the_same_bindings(
    make_service: Callable[..., ServiceDescriptor], case: tuple[str, dict[str, str]]
) -> None:
    template, bindings = case
    table = RouteTable.from_services([make_service({"Call": HttpRule(get=template)})])

    found = table.match("GET", expand(template, bindings))

    assert isinstance(found, Match)
    assert found.path_params == bindings
    request = build_request(found.route, found.path_params)
    assert {name: getattr(request, name) for name in bindings} == bindings


@given(templates_with_bindings())
def test_expansion_is_a_valid_request_path_for_its_template(
    case: tuple[str, dict[str, str]],
) -> None:
    template, bindings = case
    path = parse_template(template).expand(bindings)
    assert path.startswith("/")
    assert not set(path) & set(" ?#[]")
