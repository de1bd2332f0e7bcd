"""Parsing path templates of google.api.HttpRule.

Grammar (google/api/http.proto)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.transcoding._errors import InvalidHttpRuleError
from gateway.transcoding._template import PathTemplate, Segment, SegmentKind, Variable

_PCHARS = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


def expand(template: PathTemplate | str, bindings: Mapping[str, str]) -> str:
    """The request path for ``bindings`` under ``template`` (see :meth:`PathTemplate.expand`)."""
    compiled = parse_template(template) if isinstance(template, str) else template
    return compiled.expand(bindings)
