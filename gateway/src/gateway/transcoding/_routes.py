"""The route table: HTTP bindings compiled from service descriptors, and routing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from gateway.transcoding._errors import InvalidHttpRuleError
from gateway.transcoding._escaping import UnescapingMode
from gateway.transcoding._fields import STRING_MESSAGES, FieldPath, is_map
from gateway.transcoding._rules import HttpBinding, http_bindings
from gateway.transcoding._template import PathTemplate, SegmentKind
from gateway.transcoding._template_parser import parse_template

_ENCODED_SLASH_SPLIT = re.compile("/|%2F")


@dataclass(frozen=True, slots=True)
class HeaderField:
    """A top-level request field (``field_name``, its proto name) that travels in an HTTP
    header: the body and the query may not set it, the OpenAPI document declares the header
    with ``schema``."""

    field_name: str
    header: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    description: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """One HTTP binding of one RPC, compiled once at start-up."""

    http_method: str
    template: PathTemplate
    method: MethodDescriptor
    #: The gRPC method path, e.g. ``/tollgate.billing.v1.BillingService/Charge``.
    grpc_method: str
    request_class: type[Message]
    response_class: type[Message]
    #: ``""`` (no body), ``"*"`` (the whole request) or a top-level field name.
    body: str
    response_body: str
    #: 0 for the primary rule, 1.. for ``additional_bindings``.
    binding_index: int
    path_fields: tuple[tuple[str, FieldPath], ...] = field(repr=False)
    body_field: FieldDescriptor | None = field(repr=False)
    response_field: FieldDescriptor | None = field(repr=False)
    #: Field paths (proto names) that query parameters may not set.
    query_filter: frozenset[tuple[str, ...]] = field(repr=False)
    verb_suffix: str = field(repr=False)
    #: Top-level request fields that travel in a header, never in the body or the query.
    header_fields: tuple[tuple[FieldDescriptor, HeaderField], ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Match:
    """The request path matched ``route``; ``path_params`` maps field paths to values."""

    route: Route
    path_params: dict[str, str]


@dataclass(frozen=True, slots=True)
class NotFound:
    """No route has this path (grpc-gateway: HTTP 404, code NOT_FOUND)."""

    http_status: int = 404
    grpc_code: int = 5
    message: str = "Not Found"


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """The path exists, but not for this HTTP method.

    grpc-gateway's default routing error handler maps this to gRPC code UNIMPLEMENTED
    and so HTTP 501 with the message "Method Not Allowed"; a caller that prefers
    RFC 9110's 405 can use ``allowed_methods`` for the ``Allow`` header.
    """

    allowed_methods: tuple[str, ...]
    http_status: int = 501
    grpc_code: int = 12
    message: str = "Method Not Allowed"


class _MethodRoutes:
    """The routes of one HTTP method, in precedence order, indexed by first literal."""

    def __init__(self, routes: Sequence[Route]) -> None:
        ordered = sorted(routes, key=lambda route: route.template.precedence)
        self.by_first_literal: dict[str, list[Route]] = {}
        self.others: list[Route] = []
        for route in ordered:
            first = route.template.segments[0]
            # A one-segment template with a verb sees "literal:verb" as its first component.
            if first.kind is SegmentKind.LITERAL and not (
                route.template.verb and len(route.template.segments) == 1
            ):
                self.by_first_literal.setdefault(first.literal, []).append(route)
            else:
                self.others.append(route)

    def find(self, components: list[str], mode: UnescapingMode) -> Match | None:
        for candidates in (self.by_first_literal.get(components[0], ()), self.others):
            for route in candidates:
                parts = components
                suffix = route.verb_suffix
                if suffix:
                    last = parts[-1]
                    if not last.endswith(suffix) or len(last) == len(suffix):
                        continue
                    parts = [*parts[:-1], last[: -len(suffix)]]
                bindings = route.template.match(parts, mode)
                if bindings is not None:
                    return Match(route, bindings)
        return None


class RouteTable:
    """All HTTP routes of a set of gRPC services; build it with :meth:`from_services`."""

    def __init__(
        self,
        routes: Iterable[Route],
        *,
        unescaping_mode: UnescapingMode = UnescapingMode.ALL_EXCEPT_RESERVED,
    ) -> None:
        self.routes = tuple(routes)
        self.unescaping_mode = unescaping_mode
        seen: dict[tuple[object, ...], Route] = {}
        by_method: dict[str, list[Route]] = {}
        for route in self.routes:
            shape = (route.http_method, route.template.segments, route.template.verb)
            clash = seen.setdefault(shape, route)
            if clash is not route:
                raise InvalidHttpRuleError(
                    f"{route.http_method} {route.template.source} is bound to both "
                    f"{clash.method.full_name} and {route.method.full_name}"
                )
            by_method.setdefault(route.http_method, []).append(route)
        self._by_method = {method: _MethodRoutes(group) for method, group in by_method.items()}

    @classmethod
    def from_services(
        cls,
        services: Iterable[ServiceDescriptor],
        *,
        unescaping_mode: UnescapingMode = UnescapingMode.ALL_EXCEPT_RESERVED,
        serve_unbound_methods: bool = False,
        header_fields: Sequence[HeaderField] = (),
    ) -> RouteTable:
        """Compile the ``google.api.http`` rules of every RPC of ``services``.

        ``header_fields`` are top-level request fields that travel in an HTTP header (the
        idempotency key): in a request that has such a field, the body and the query may
        not set it, and the OpenAPI document declares the header instead.

        Raises :class:`InvalidHttpRuleError` for an invalid template or a rule that
        names a missing field, for a streaming RPC with a rule, and for two RPCs bound
        to the same method and path.
        """
        routes = [
            compile_route(method, binding, header_fields)
            for service in services
            for method in service.methods
            for binding in http_bindings(method, unbound_fallback=serve_unbound_methods)
        ]
        return cls(routes, unescaping_mode=unescaping_mode)

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)

    def match(self, http_method: str, path: str) -> Match | NotFound | MethodNotAllowed:
        """Route a request.

        ``path`` is the raw, still percent-encoded request path (ASGI ``raw_path``),
        or the decoded path in ``UnescapingMode.LEGACY``. Raises
        :class:`TranscodeError` for a malformed escape in a captured value.
        """
        if not path.startswith("/"):
            return NotFound()
        if self.unescaping_mode is UnescapingMode.ALL_CHARACTERS:
            components = _ENCODED_SLASH_SPLIT.split(path[1:])
        else:
            components = path[1:].split("/")
        routes = self._by_method.get(http_method)
        if routes is not None:
            found = routes.find(components, self.unescaping_mode)
            if found is not None:
                return found
        allowed = tuple(
            sorted(
                method
                for method, others in self._by_method.items()
                if method != http_method and others.find(components, self.unescaping_mode)
            )
        )
        return MethodNotAllowed(allowed) if allowed else NotFound()


def compile_route(
    method: MethodDescriptor, binding: HttpBinding, header_fields: Sequence[HeaderField] = ()
) -> Route:
    """Compile one binding of ``method``; raises :class:`InvalidHttpRuleError`."""
    where = f"{method.full_name} ({binding.http_method} {binding.pattern})"
    if method.client_streaming or method.server_streaming:
        raise InvalidHttpRuleError(f"{where}: streaming RPCs are not supported")
    if binding.http_method == "GET" and binding.body:
        raise InvalidHttpRuleError(f"{where}: a GET binding cannot have a body")
    template = parse_template(binding.pattern)
    request = method.input_type
    path_fields = tuple(
        (variable, _path_field(request, variable, where)) for variable in template.field_paths
    )
    body_field = None
    if binding.body not in ("", "*"):
        body_field = request.fields_by_name.get(binding.body)
        if body_field is None:
            raise InvalidHttpRuleError(f"{where}: no body field {binding.body!r}")
    response_field = None
    if binding.response_body:
        response_field = method.output_type.fields_by_name.get(binding.response_body)
        if response_field is None:
            raise InvalidHttpRuleError(f"{where}: no response field {binding.response_body!r}")
    bound = {tuple(name.split(".")) for name in template.field_paths}
    if body_field is not None:
        bound.add((body_field.name,))
    return Route(
        http_method=binding.http_method,
        template=template,
        method=method,
        grpc_method=f"/{method.containing_service.full_name}/{method.name}",
        request_class=GetMessageClass(request),
        response_class=GetMessageClass(method.output_type),
        body=binding.body,
        response_body=binding.response_body,
        binding_index=binding.index,
        path_fields=path_fields,
        body_field=body_field,
        response_field=response_field,
        query_filter=frozenset(bound),
        verb_suffix=f":{template.verb}" if template.verb else "",
        header_fields=tuple(
            (request.fields_by_name[bound.field_name], bound)
            for bound in header_fields
            if bound.field_name in request.fields_by_name
        ),
    )


def _path_field(request: Descriptor, variable: str, where: str) -> FieldPath:
    descriptor: Descriptor | None = request
    path: list[FieldDescriptor] = []
    for name in variable.split("."):
        if descriptor is None or (path and path[-1].is_repeated):
            raise InvalidHttpRuleError(f"{where}: {variable!r} goes through a non-message")
        found = descriptor.fields_by_name.get(name)
        if found is None:
            raise InvalidHttpRuleError(f"{where}: no field {variable!r} in the request")
        path.append(found)
        descriptor = found.message_type
    leaf = path[-1]
    leaf_type = leaf.message_type
    if is_map(leaf) or (leaf_type is not None and leaf_type.full_name not in STRING_MESSAGES):
        raise InvalidHttpRuleError(f"{where}: {variable!r} cannot be a path parameter")
    return tuple(path)
