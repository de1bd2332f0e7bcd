"""An OpenAPI 3.1 document generated from the same route table as the transcoder."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.transcoding._routes import Route, RouteTable
from gateway.transcoding._schemas import SchemaRegistry, is_required, is_well_known, ref
from gateway.transcoding._template import PathTemplate, SegmentKind

_JSON = "application/json"
_BEARER = "bearerAuth"
# Nested messages are flattened into dotted query parameters down to this depth.
_MAX_QUERY_DEPTH = 5


def build_openapi(
    table: RouteTable,
    *,
    title: str,
    version: str,
    description: str = "",
    public_methods: Collection[str] = (),
    servers: Sequence[str] = (),
    error_responses: Callable[[Route, bool], Mapping[str, Any]] | None = None,
    comments: Mapping[str, str] | None = None,
    examples: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the OpenAPI document (a JSON-ready dict) for every route of ``table``.

    One operation per HTTP binding, with path and query parameters, request body and
    response schemas as protojson renders them, and ``google.rpc.Status`` as the error
    body. Operations need a bearer JWT unless their RPC is in ``public_methods``
    (full names like ``tollgate.auth.v1.AuthService.Login``). ``error_responses(route,
    secured)`` adds an operation's error responses by HTTP status (its ``default`` stays).
    ``comments`` (``.proto`` comments by full name, :func:`comments_by_name`) become the
    summaries and descriptions of tags, operations, parameters, schemas and properties;
    ``examples`` (JSON values by message full name) the request and response examples.
    """
    notes = comments or {}
    schemas = SchemaRegistry(notes)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, None] = {}
    for route in table:
        service = route.method.containing_service
        tags[service.full_name] = None
        secured = route.method.full_name not in public_methods
        operation = _operation(route, schemas, secured=secured)
        _describe(operation, route, notes, examples or {})
        if error_responses is not None:
            errors = dict(error_responses(route, secured))
            operation["responses"] = {
                "200": operation["responses"]["200"],
                **errors,
                "default": operation["responses"]["default"],
            }
        path = _openapi_path(route.template)
        method = route.http_method.lower()
        if method in paths.get(path, {}):
            # Two templates that differ only inside a variable (`{name=a/*}`, `{name=b/*}`).
            path = route.template.source
        paths.setdefault(path, {})[method] = operation
    for name in _output_only(paths, schemas.schemas):
        schemas.mark_output(name)
    _nullable_inputs(paths, schemas.schemas)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            **({"description": description} if description else {}),
        },
        "tags": [_tag(name, notes) for name in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.schemas.items())),
            "securitySchemes": {
                _BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
    if servers:
        document["servers"] = [{"url": url} for url in servers]
    return document


def _output_only(paths: Mapping[str, Any], components: Mapping[str, Any]) -> set[str]:
    """Schemas reachable from successful responses and from no request."""
    sent, answered = _roots(paths)
    return _refs(answered, components) - _refs(sent, components)


def _roots(paths: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    sent: list[Any] = []
    answered: list[Any] = []
    for item in paths.values():
        for operation in item.values():
            sent += [operation["parameters"], operation.get("requestBody")]
            answered.append(operation["responses"]["200"])
    return sent, answered


def _nullable_inputs(paths: Mapping[str, Any], components: dict[str, Any]) -> None:
    """In what is only ever sent, a field that is not required may be JSON ``null``: the
    gateway reads it as unset, as protojson does."""
    sent, answered = _roots(paths)
    objects = [components[n] for n in _refs(sent, components) - _refs(answered, components)]
    for item in paths.values():
        for operation in item.values():
            body = operation.get("requestBody")
            if body is not None and "$ref" not in body["content"][_JSON]["schema"]:
                objects.append(body["content"][_JSON]["schema"])
    for schema in objects:
        required = set(schema.get("required", ()))
        properties = schema.get("properties", {})
        for name, field in properties.items():
            if name not in required:
                properties[name] = _or_null(field)


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**schema, "type": [*kind, "null"]}
    # A $ref (a message or an enum), or a well-known type's open schema.
    notes = {k: v for k, v in schema.items() if k in ("description", "deprecated")}
    core = {k: v for k, v in schema.items() if k not in notes}
    return {**notes, "anyOf": [core, {"type": "null"}]} if core else schema


def _refs(roots: list[Any], components: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    todo = list(roots)
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str):
                name = target.rsplit("/", 1)[-1]
                if name not in found:
                    found.add(name)
                    todo.append(components.get(name))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def _tag(service: str, notes: Mapping[str, str]) -> dict[str, Any]:
    tag = {"name": service.rsplit(".", 1)[-1]}
    if service in notes:
        tag["description"] = notes[service]
    return tag


def _describe(
    operation: dict[str, Any], route: Route, notes: Mapping[str, str], examples: Mapping[str, Any]
) -> None:
    """The RPC's comment as summary (its first sentence) and description; the examples of
    its request (split over body and parameters) and response messages."""
    comment = notes.get(route.method.full_name)
    if comment:
        operation["summary"] = _first_sentence(comment)
        operation["description"] = comment
    request = examples.get(route.method.input_type.full_name)
    body = operation.get("requestBody")
    if body is not None and request is not None:
        if route.body_field is not None:
            request = request.get(route.body_field.json_name)
        elif isinstance(request, dict):
            request = {k: v for k, v in request.items() if k in _body_json_names(route)}
        body["content"][_JSON]["example"] = request
    if isinstance(request, dict):
        _parameter_examples(operation, route, examples[route.method.input_type.full_name])
    response = examples.get(route.method.output_type.full_name)
    if response is not None and route.response_field is None:
        operation["responses"]["200"]["content"][_JSON]["example"] = response


def _parameter_examples(operation: dict[str, Any], route: Route, request: dict[str, Any]) -> None:
    """Each path, header and top-level query parameter's value in the request's example."""
    names = {name: field_path[0].json_name for name, field_path in route.path_fields}
    names |= {bound.header: field.json_name for field, bound in route.header_fields}
    for parameter in operation["parameters"]:
        key = names.get(parameter["name"], parameter["name"])
        if key in request:
            parameter["example"] = request[key]


def _body_json_names(route: Route) -> set[str]:
    return {field.json_name for field in _body_fields(route)}


def _first_sentence(text: str) -> str:
    paragraph = text.split("\n\n", 1)[0]
    end = paragraph.find(". ")
    sentence = paragraph if end < 0 else paragraph[: end + 1]
    return sentence.rstrip(".")


def _operation(route: Route, schemas: SchemaRegistry, *, secured: bool) -> dict[str, Any]:
    method = route.method
    service = method.containing_service
    suffix = str(route.binding_index + 1) if route.binding_index else ""
    operation: dict[str, Any] = {
        "operationId": f"{service.name}_{method.name}{suffix}",
        "tags": [service.name],
        "parameters": [
            *_path_parameters(route, schemas),
            *_header_parameters(route),
            *_query_parameters(route, schemas),
        ],
        "responses": {
            "200": {
                "description": "A successful response.",
                "content": {_JSON: {"schema": _response_schema(route, schemas)}},
            },
            "default": {
                "description": "An error: a gRPC status as JSON.",
                "content": {_JSON: {"schema": ref("google.rpc.Status")}},
            },
        },
        "security": [{_BEARER: []}] if secured else [],
    }
    if method.GetOptions().deprecated:
        # `option deprecated = true;` on the RPC: announced here before it goes (see the
        # versioning policy in docs/architecture.md).
        operation["deprecated"] = True
    if route.body:
        operation["requestBody"] = {
            # An empty body is an empty message: required only when a field in it is.
            "required": any(is_required(field) for field in _body_fields(route)),
            "content": {_JSON: {"schema": _request_body_schema(route, schemas)}},
        }
    return operation


def _body_fields(route: Route) -> list[FieldDescriptor]:
    if route.body_field is not None:
        return [route.body_field]
    elsewhere = _not_in_body(route)
    return [field for field in route.method.input_type.fields if field.name not in elsewhere]


def _not_in_body(route: Route) -> frozenset[str]:
    """Top-level fields a ``body: "*"`` request takes elsewhere: the path or a header."""
    return frozenset(
        field_path[0].name for _, field_path in route.path_fields if len(field_path) == 1
    ) | {field.name for field, _ in route.header_fields}


def _openapi_path(template: PathTemplate) -> str:
    starts = {variable.start: variable for variable in template.variables}
    parts: list[str] = []
    index = 0
    while index < len(template.segments):
        variable = starts.get(index)
        if variable is not None:
            parts.append(f"{{{variable.field_path}}}")
            index = variable.end
            continue
        segment = template.segments[index]
        if segment.kind is SegmentKind.LITERAL:
            parts.append(segment.literal)
        else:
            parts.append("*" if segment.kind is SegmentKind.WILDCARD else "**")
        index += 1
    path = "/" + "/".join(parts)
    return f"{path}:{template.verb}" if template.verb else path


def _path_parameters(route: Route, schemas: SchemaRegistry) -> list[dict[str, Any]]:
    parameters = []
    for name, field_path in route.path_fields:
        leaf = field_path[-1]
        schema = schemas.field(leaf)
        parameter: dict[str, Any] = {"name": name, "in": "path", "required": True}
        variable = next(v for v in route.template.variables if v.field_path == name)
        described = schemas.describe(leaf)
        if described:
            parameter["description"] = described
        if variable.end - variable.start > 1 or (
            route.template.segments[variable.start].kind is SegmentKind.DEEP_WILDCARD
        ):
            matches = f"Matches the path template {route.template.source}."
            parameter["description"] = f"{described} {matches}".strip()
        if schema.get("type") == "string":
            # An empty segment matches no template.
            schema = {**schema, "minLength": 1}
        parameter["schema"] = schema
        parameters.append(parameter)
    return parameters


def _header_parameters(route: Route) -> list[dict[str, Any]]:
    parameters = []
    for field, bound in route.header_fields:
        parameter: dict[str, Any] = {
            "name": bound.header,
            "in": "header",
            "required": is_required(field),
            "schema": dict(bound.schema),
        }
        if bound.description:
            parameter["description"] = bound.description
        parameters.append(parameter)
    return parameters


def _query_parameters(route: Route, schemas: SchemaRegistry) -> list[dict[str, Any]]:
    if route.body == "*":
        return []
    parameters: list[dict[str, Any]] = []
    _collect_query(route, route.method.input_type, (), (), schemas, parameters, set())
    return parameters


def _collect_query(
    route: Route,
    descriptor: Descriptor,
    proto_prefix: tuple[str, ...],
    json_prefix: tuple[str, ...],
    schemas: SchemaRegistry,
    parameters: list[dict[str, Any]],
    visiting: set[str],
) -> None:
    visiting.add(descriptor.full_name)
    for field in descriptor.fields:
        proto_path = (*proto_prefix, field.name)
        json_path = (*json_prefix, field.json_name)
        if any(proto_path[: len(bound)] == bound for bound in route.query_filter):
            continue
        if not proto_prefix and any(field is bound[0] for bound in route.header_fields):
            continue
        entry = field.message_type
        if entry is not None and not is_well_known(entry):
            nested_ok = not field.is_repeated and len(proto_path) < _MAX_QUERY_DEPTH
            if nested_ok and entry.full_name not in visiting:
                _collect_query(route, entry, proto_path, json_path, schemas, parameters, visiting)
            continue
        if entry is not None and entry.full_name == "google.protobuf.Any":
            continue
        parameter: dict[str, Any] = {"name": ".".join(json_path), "in": "query"}
        if field.GetOptions().deprecated:
            parameter["deprecated"] = True
        described = schemas.describe(field)
        if described:
            parameter["description"] = described
        if is_required(field) and not proto_prefix:
            parameter["required"] = True
        parameter["schema"] = schemas.field(field)
        parameters.append(parameter)
    visiting.discard(descriptor.full_name)


def _request_body_schema(route: Route, schemas: SchemaRegistry) -> Any:
    if route.body_field is not None:
        return schemas.field(route.body_field)
    return schemas.message(route.method.input_type, without=_not_in_body(route))


def _response_schema(route: Route, schemas: SchemaRegistry) -> Any:
    if route.response_field is not None:
        return schemas.field(route.response_field)
    return schemas.message(route.method.output_type)
