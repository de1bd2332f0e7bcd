"""Compiled path templates of google.api.HttpRule: matching and expansion."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.transcoding._escaping import (
    UnescapingMode,
    escape_multi_segment,
    escape_segment,
    unescape,
)

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
    """A compiled path template; build it with ``parse_template``."""

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
