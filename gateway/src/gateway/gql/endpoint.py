"""The ``/graphql`` HTTP endpoint (GraphQL over HTTP: POST JSON, or GET for queries)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from inspect import isawaitable
from typing import Any
from urllib.parse import parse_qs

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLFormattedError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    parse,
    validate,
)
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.asgi import (
    BodyTooLargeError,
    RequestState,
    header,
    joined_header,
    peer_host,
    read_body,
    request_state,
    send_bytes,
)
from gateway.call_metadata import call_metadata
from gateway.errors import BODY_TOO_LARGE, INVALID_HEADER, JSON_HEADERS
from gateway.gql.resolvers import GraphQLContext
from gateway.headers import InvalidHeaderError
from gateway.ratelimit import LoginRates, Rate
from gateway.transcoding import MALFORMED_JSON
from tollgate_kit.logs import get_logger

log = get_logger(__name__)

_CACHE_SIZE = 256
# Only short documents are kept parsed: the cache holds at most 256 of 8 KiB each.
_CACHEABLE_QUERY_LENGTH = 8192
# Lexical tokens a document may have: parsing stops there, before building a huge AST.
_MAX_TOKENS = 20_000


# The gRPC code name a refused request reports, by HTTP status (as on REST).
_CODE_BY_STATUS = {
    400: "INVALID_ARGUMENT",
    405: "UNIMPLEMENTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}
_INVALID_REQUEST = "GRAPHQL_REQUEST_INVALID"
_TOO_COMPLEX = "GRAPHQL_TOO_COMPLEX"


class _BadRequestError(Exception):
    """A request refused before execution: ``{"errors": [{message, extensions: {code,
    reason}}]}`` with the HTTP status, as the resolvers' errors carry code and reason."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str = _INVALID_REQUEST,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = headers

    def body(self) -> bytes:
        code = _CODE_BY_STATUS.get(self.status, "INVALID_ARGUMENT")
        error = {"message": self.message, "extensions": {"code": code, "reason": self.reason}}
        return orjson.dumps({"errors": [error]})


class GraphQLEndpoint:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        body_limit: int,
        default_deadline: float,
        login_rates: LoginRates,
        max_root_fields: int,
        max_fields: int = 1000,
        user_rate: Rate | None = None,
        page: ASGIApp | None = None,
    ) -> None:
        self.schema = schema
        # GraphiQL, for a browser that opens /graphql (GET, HTML accepted, no query).
        self._page = page
        self._body_limit = body_limit
        self._deadline = default_deadline
        self._login_rates = login_rates
        # Every root field is a backend call and pays one token of ``user_rate`` (the rate
        # limit middleware took the first).
        self._max_root_fields = max_root_fields
        self._user_rate = user_rate
        # Fields in all, fragments expanded: the work and size of one answer.
        self._max_fields = max_fields
        # Parsed and validated documents by query text.
        self._documents: dict[str, DocumentNode] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._page is not None and _wants_page(scope):
            await self._page(scope, receive, send)
            return
        try:
            await self._serve(scope, receive, send)
        except _BadRequestError as error:
            await send_bytes(send, error.status, error.body(), [*JSON_HEADERS, *error.headers])

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = await self._request(scope, receive)
        query = request.get("query")
        variables = request.get("variables") or None
        operation_name = request.get("operationName") or None
        if not isinstance(query, str) or not query.strip():
            raise _BadRequestError(400, "a GraphQL request needs a query")
        if variables is not None and not isinstance(variables, dict):
            raise _BadRequestError(400, "variables must be a JSON object")
        if operation_name is not None and not isinstance(operation_name, str):
            raise _BadRequestError(400, "operationName must be a string")
        document = self._document(query)
        if scope["method"] == "GET" and _is_mutation(document, operation_name):
            raise _BadRequestError(405, "mutations need POST", "METHOD_NOT_ALLOWED")
        state = request_state(scope)
        await self._charge_backend_calls(state, document, operation_name)
        client_address = state.client_address or peer_host(scope)
        try:
            metadata = call_metadata(
                scope,
                # Forwarded only when it verified: an invalid optional token stays here.
                authorization=(
                    header(scope, b"authorization") if state.claims is not None else None
                ),
                forwarded=joined_header(scope, b"x-forwarded-for"),
                client_address=client_address,
            )
        except InvalidHeaderError as error:
            raise _BadRequestError(400, str(error), INVALID_HEADER) from None
        context = GraphQLContext(
            backends=state.runtime.backends,
            timeout=self._deadline,
            client_address=client_address,
            claims=state.claims,
            auth_error=state.auth_error,
            limiter=state.runtime.limiter,
            login_rates=self._login_rates,
            metadata=metadata,
        )
        outcome = execute(
            self.schema,
            document,
            variable_values=variables,
            operation_name=operation_name,
            context_value=context,
        )
        result = await outcome if isawaitable(outcome) else outcome
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [public_error(error) for error in result.errors]
        await send_bytes(send, 200, orjson.dumps(payload), JSON_HEADERS)

    async def _request(self, scope: Scope, receive: Receive) -> dict[str, Any]:
        if scope["method"] == "GET":
            params = parse_qs(scope["query_string"].decode("latin-1"))
            request: dict[str, Any] = {key: values[-1] for key, values in params.items()}
            if isinstance(request.get("variables"), str):
                request["variables"] = _json(request["variables"].encode())
            return request
        try:
            body = await read_body(scope, receive, self._body_limit)
        except BodyTooLargeError:
            raise _BadRequestError(413, "request body too large", BODY_TOO_LARGE) from None
        document = _json(body)
        if not isinstance(document, dict):
            raise _BadRequestError(400, "the request body must be a JSON object")
        return document

    async def _charge_backend_calls(
        self, state: RequestState, document: DocumentNode, operation_name: str | None
    ) -> None:
        """Take one rate-limit token per root field past the first (each is a backend call;
        the middleware took one for the request), from the same budget, all or none."""
        limiter = state.runtime.limiter
        operation = _operation(document, operation_name)
        if self._user_rate is None or operation is None:
            return
        calls = root_field_count(document, operation)
        if calls <= 1:
            return
        if state.claims is not None:
            kind, identity = "user", state.claims.subject
        else:
            kind, identity = "addr", state.client_address
        try:
            decision = await limiter.hit(kind, identity, self._user_rate, cost=calls - 1)
        except RedisError as error:
            # As the middleware: the limit protects the backends, it does not gate access.
            log.warning("rate_limiter_unavailable", error=type(error).__name__)
            return
        if not decision.allowed:
            raise _BadRequestError(
                429,
                f"rate limit exceeded: this operation makes {calls} backend calls",
                "RATE_LIMITED",
                [(b"retry-after", str(max(1, math.ceil(decision.retry_after))).encode())],
            )

    def _document(self, query: str) -> DocumentNode:
        document = self._documents.get(query)
        if document is not None:
            return document
        try:
            document = parse(query, max_tokens=_MAX_TOKENS)
        except GraphQLError as error:
            raise _BadRequestError(400, error.message, "GRAPHQL_SYNTAX_ERROR") from None
        errors = validate(self.schema, document)
        if errors:
            message = "; ".join(error.message for error in errors)
            raise _BadRequestError(400, message, "GRAPHQL_VALIDATION_FAILED")
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            if root_field_count(document, definition) > self._max_root_fields:
                raise _BadRequestError(
                    400,
                    f"an operation may select at most {self._max_root_fields} root fields",
                    _TOO_COMPLEX,
                )
            if field_count(document, definition, self._max_fields) > self._max_fields:
                raise _BadRequestError(
                    400,
                    f"an operation may select at most {self._max_fields} fields in all",
                    _TOO_COMPLEX,
                )
        if len(query) <= _CACHEABLE_QUERY_LENGTH:
            if len(self._documents) >= _CACHE_SIZE:
                self._documents.clear()
            self._documents[query] = document
        return document


def root_field_count(document: DocumentNode, operation: OperationDefinitionNode) -> int:
    """How many root fields ``operation`` resolves: its distinct response keys (alias or
    name) through fragments, as graphql-core merges them; each is a resolver, so a backend
    call. ``__typename`` is answered on the spot and is free; ``__schema`` and ``__type`` are
    work like any other field (thousands of aliased ``__schema`` once froze a worker)."""
    groups = _collect([operation.selection_set], _fragments(document))
    return sum(1 for names, _ in groups.values() if names != {"__typename"})


def field_count(document: DocumentNode, operation: OperationDefinitionNode, limit: int) -> int:
    """How many fields the answer to ``operation`` has, counted as graphql-core executes it:
    fields with one response key merge (their sub-selections together), and each fragment is
    spread once per selection, so repeating a spread adds nothing (and the count stays linear
    where a naive expansion is exponential). Counting stops past ``limit``."""
    fragments = _fragments(document)
    counted = 0

    def count(selection_sets: list[SelectionSetNode]) -> None:
        nonlocal counted
        groups = _collect(selection_sets, fragments)
        counted += len(groups)
        for _, subsets in groups.values():
            if counted > limit:
                return
            if subsets:
                count(subsets)

    count([operation.selection_set])
    return counted


def _fragments(document: DocumentNode) -> dict[str, SelectionSetNode]:
    return {
        definition.name.value: definition.selection_set
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def _collect(
    selection_sets: list[SelectionSetNode], fragments: dict[str, SelectionSetNode]
) -> dict[str, tuple[set[str], list[SelectionSetNode]]]:
    """The fields of ``selection_sets`` by response key, as graphql-core collects them: each
    key with the field names under it and their sub-selections; inline fragments and spreads
    followed, each fragment once."""
    groups: dict[str, tuple[set[str], list[SelectionSetNode]]] = {}
    visited: set[str] = set()
    pending = list(selection_sets)
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names, subsets = groups.setdefault(
                    (selection.alias or selection.name).value, (set(), [])
                )
                names.add(selection.name.value)
                if selection.selection_set is not None:
                    subsets.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in visited and name in fragments:
                    visited.add(name)
                    pending.append(fragments[name])
    return groups


def public_error(error: GraphQLError) -> GraphQLFormattedError:
    """The error as the client sees it. Errors the resolvers raise on purpose (GraphQL
    errors with code and reason) pass as they are; anything else is a failure of ours,
    logged here and answered without its text."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error.formatted
    log.error(
        "graphql_resolver_failed",
        path=error.path,
        error=type(original).__name__,
        exc_info=original,
    )
    formatted = error.formatted
    formatted["message"] = "internal error"
    formatted["extensions"] = {"code": "INTERNAL", "reason": None}
    return formatted


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _BadRequestError(400, "malformed JSON", MALFORMED_JSON) from None


def _operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named, else the first."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition
    return None


def _wants_page(scope: Scope) -> bool:
    """A browser navigating to /graphql: GET, HTML accepted, no GraphQL query."""
    if scope["method"] not in ("GET", "HEAD") or b"query=" in scope["query_string"]:
        return False
    return "text/html" in (header(scope, b"accept") or "")


def _is_mutation(document: DocumentNode, operation_name: str | None) -> bool:
    operation = _operation(document, operation_name)
    return operation is not None and operation.operation is OperationType.MUTATION
