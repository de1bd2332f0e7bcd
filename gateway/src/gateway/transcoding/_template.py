"""Path templates of google.api.HttpRule: parsing, matching and expansion.

Grammar (google/api/http.proto)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.transcoding._errors import InvalidHttpRuleError
from gateway.transcoding._escaping import (
    UnescapingMode,
    escape_multi_segment,
    escape_segment,
    unescape,
)

_PCHARS = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What `expand` puts where a template has an anonymous `*` or `**`.
_ANONYMOUS_FILL = "_"


class SegmentKind(enum.IntEnum):
    """Kinds of template segments, ordered from most to least specific."""

    LITERAL = 0
    WILDCARD = 1
    DEEP_WILDCARD = 2


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    literal: str = ""


@dataclass(frozen=True, slots=True)
class Variable:
    """A ``{field.path=...}`` capture over ``segments[start:end]``."""

    field_path: str
    start: int
    end: int


class PathTemplate:
    """A compiled path template; build it with :func:`parse_template`."""

    __slots__ = ("_deep", "_literals", "segments", "source", "variables", "verb")

    def __init__(
        self,
        source: str,
        segments: tuple[Segment, ...],
        variables: tuple[Variable, ...],
        verb: str,
    ) -> None:
        self.source = source
        self.segments = segments
        self.variables = variables
        self.verb = verb
        kinds = [segment.kind for segment in segments]
        deep = SegmentKind.DEEP_WILDCARD
        self._deep = kinds.index(deep) if deep in kinds else -1
        self._literals = tuple(
            (index, segment.literal)
            for index, segment in enumerate(segments)
            if segment.kind is SegmentKind.LITERAL
        )

    def __repr__(self) -> str:
        return f"PathTemplate({self.source!r})"

    @property
    def field_paths(self) -> tuple[str, ...]:
        return tuple(variable.field_path for variable in self.variables)

    @property
    def precedence(self) -> tuple[tuple[int, ...], int]:
        """Sort key: literals before ``*`` before ``**``, segment by segment; longer
        templates before their prefixes; a template with a verb before one without."""
        kinds = tuple(int(segment.kind) for segment in self.segments)
        return (*kinds, 3), 0 if self.verb else 1

    def match(self, components: Sequence[str], mode: UnescapingMode) -> dict[str, str] | None:
        """Match path components (verb already removed); ``None`` if they don't match.

        Raises :class:`TranscodeError` for a malformed escape in a captured value.
        """
        count = len(components)
        extra = count - len(self.segments)
        deep = self._deep
        if deep < 0:
            if extra != 0:
                return None
            for index, literal in self._literals:
                if components[index] != literal:
                    return None
        else:
            if extra < -1:
                return None
            for index, literal in self._literals:
                if components[index if index < deep else index + extra] != literal:
                    return None
        bindings: dict[str, str] = {}
        for variable in self.variables:
            if variable.end - variable.start == 1 and variable.start != deep:
                position = (
                    variable.start
                    if deep < 0 or variable.start < deep
                    else (variable.start + extra)
                )
                bindings[variable.field_path] = unescape(
                    components[position], mode, multi_segment=False
                )
            else:
                bindings[variable.field_path] = self._capture(variable, components, mode)
        return bindings

    def _capture(self, variable: Variable, components: Sequence[str], mode: UnescapingMode) -> str:
        extra = len(components) - len(self.segments)
        deep = self._deep
        parts: list[str] = []
        for index in range(variable.start, variable.end):
            segment = self.segments[index]
            position = index if deep < 0 or index <= deep else index + extra
            if segment.kind is SegmentKind.LITERAL:
                parts.append(segment.literal)
            elif segment.kind is SegmentKind.WILDCARD:
                parts.append(unescape(components[position], mode, multi_segment=False))
            else:
                joined = "/".join(components[position : position + extra + 1])
                parts.append(unescape(joined, mode, multi_segment=True))
        return "/".join(parts)

    def expand(self, bindings: Mapping[str, str]) -> str:
        """Build the request path that binds ``bindings`` (field path → value).

        Values are percent-encoded so that matching the result gives them back; a
        ``**`` value keeps its slashes. Anonymous wildcards are filled with ``_``.
        Raises ``KeyError`` for a missing binding and ``ValueError`` for a value that
        doesn't fit its variable's segments.
        """
        starts = {variable.start: variable for variable in self.variables}
        parts: list[str] = []
        index = 0
        while index < len(self.segments):
            variable = starts.get(index)
            if variable is not None:
                parts.extend(self._expand_variable(variable, bindings[variable.field_path]))
                index = variable.end
                continue
            segment = self.segments[index]
            parts.append(
                segment.literal if segment.kind is SegmentKind.LITERAL else _ANONYMOUS_FILL
            )
            index += 1
        path = "/" + "/".join(parts)
        return f"{path}:{self.verb}" if self.verb else path

    def _expand_variable(self, variable: Variable, value: str) -> list[str]:
        pattern = self.segments[variable.start : variable.end]
        if len(pattern) == 1:
            if pattern[0].kind is SegmentKind.WILDCARD:
                return [escape_segment(value)]
            if pattern[0].kind is SegmentKind.DEEP_WILDCARD:
                return [escape_multi_segment(value)]
        pieces = value.split("/")
        kinds = [segment.kind for segment in pattern]
        if SegmentKind.DEEP_WILDCARD in kinds:
            head = kinds.index(SegmentKind.DEEP_WILDCARD)
            tail = len(pattern) - head - 1
            if len(pieces) < len(pattern) - 1:
                raise ValueError(f"{value!r} does not fit {variable.field_path}")
            middle = "/".join(pieces[head : len(pieces) - tail])
            pieces = [*pieces[:head], middle, *pieces[len(pieces) - tail :]]
        if len(pieces) != len(pattern):
            raise ValueError(f"{value!r} does not fit {variable.field_path}")
        out: list[str] = []
        for segment, piece in zip(pattern, pieces, strict=True):
            if segment.kind is SegmentKind.LITERAL:
                if piece != segment.literal:
                    raise ValueError(f"{value!r} does not fit {variable.field_path}")
                out.append(piece)
            elif segment.kind is SegmentKind.WILDCARD:
                out.append(escape_segment(piece))
            else:
                out.append(escape_multi_segment(piece))
        return out


def parse_template(source: str) -> PathTemplate:
    """Compile a path template; raises :class:`InvalidHttpRuleError` if it is invalid."""
    if not source.startswith("/"):
        raise InvalidHttpRuleError(f"{source!r}: a path template starts with '/'")
    if source == "/":
        return PathTemplate(source, (Segment(SegmentKind.LITERAL, ""),), (), "")
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.body, self.verb = _split_verb(source)
        self.pos = 1
        self.segments: list[Segment] = []
        self.variables: list[Variable] = []

    def fail(self, reason: str) -> InvalidHttpRuleError:
        return InvalidHttpRuleError(f"{self.source!r}: {reason}")

    def parse(self) -> PathTemplate:
        if self.verb is not None and not _PCHARS.fullmatch(self.verb):
            raise self.fail(f"invalid verb {self.verb!r}")
        self.parse_segments(in_variable=False)
        if self.pos != len(self.body):
            raise self.fail(f"unexpected {self.body[self.pos]!r} at {self.pos}")
        deep = sum(segment.kind is SegmentKind.DEEP_WILDCARD for segment in self.segments)
        if deep > 1:
            raise self.fail("at most one '**' is allowed")
        paths = [variable.field_path for variable in self.variables]
        if len(set(paths)) != len(paths):
            raise self.fail("a field is bound twice")
        return PathTemplate(
            self.source, tuple(self.segments), tuple(self.variables), self.verb or ""
        )

    def parse_segments(self, *, in_variable: bool) -> None:
        while True:
            self.parse_segment(in_variable=in_variable)
            if self.pos < len(self.body) and self.body[self.pos] == "/":
                self.pos += 1
                continue
            return

    def parse_segment(self, *, in_variable: bool) -> None:
        body = self.body
        if self.pos < len(body) and body[self.pos] == "{":
            if in_variable:
                raise self.fail("variables cannot be nested")
            self.parse_variable()
            return
        end = self.pos
        while end < len(body) and body[end] not in "/{}":
            end += 1
        token = body[self.pos : end]
        self.pos = end
        if token == "*":
            self.segments.append(Segment(SegmentKind.WILDCARD))
        elif token == "**":
            self.segments.append(Segment(SegmentKind.DEEP_WILDCARD))
        elif not token:
            raise self.fail(f"empty segment at {end}")
        elif not _PCHARS.fullmatch(token):
            raise self.fail(f"invalid literal {token!r}")
        else:
            self.segments.append(Segment(SegmentKind.LITERAL, token))

    def parse_variable(self) -> None:
        body = self.body
        close = body.find("}", self.pos)
        if close < 0:
            raise self.fail("unterminated variable")
        head = body[self.pos + 1 : close]
        field_path, has_pattern, _ = head.partition("=")
        if not all(_IDENT.fullmatch(name) for name in field_path.split(".")):
            raise self.fail(f"invalid field path {field_path!r}")
        start = len(self.segments)
        if has_pattern:
            self.pos += 1 + len(field_path) + 1
            self.parse_segments(in_variable=True)
            if self.pos >= len(body) or body[self.pos] != "}":
                raise self.fail(f"unterminated variable {field_path!r}")
        else:
            self.segments.append(Segment(SegmentKind.WILDCARD))
            self.pos = close
        self.pos += 1
        self.variables.append(Variable(field_path, start, len(self.segments)))


def _split_verb(source: str) -> tuple[str, str | None]:
    """Split ``:verb`` off: the first ':' after the last top-level '/' (grpc-gateway
    treats such a suffix as a verb even when it could be part of a literal)."""
    depth = 0
    last_slash = 0
    for index, char in enumerate(source):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            last_slash = index
    colon = -1
    depth = 0
    for index in range(last_slash, len(source)):
        char = source[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == ":" and depth == 0:
            colon = index
            break
    if colon < 0:
        return source, None
    return source[:colon], source[colon + 1 :]
