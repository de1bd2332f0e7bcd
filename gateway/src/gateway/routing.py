"""Which endpoint serves a request, decided once per request by the routing middleware
(:mod:`gateway.middleware.routing`), the step before the logger.

The logger needs the route *template* (never the raw path) for its line and the metrics,
auth needs to know whether the route is public, the rate limiter which limit applies;
:class:`Router` answers all three with one :class:`Target`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.asgi import request_state, send_error
from gateway.transcoding import Match, MethodNotAllowed, RouteTable, TranscodeError


class Access(enum.Enum):
    PUBLIC = "public"
    # A valid access token and an open session are required.
    USER = "user"
    # A token is checked when present; operations that need a user ask for it (GraphQL).
    OPTIONAL = "optional"


class Limit(enum.Enum):
    NONE = "none"
    # Per user (per client address when there is no user).
    USER = "user"
    # The stricter login/register limit, per client address + email.
    LOGIN = "login"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A fixed (non-transcoded) endpoint: ``/healthz``, ``/docs``, ``/app`` …"""

    template: str
    app: ASGIApp
    methods: frozenset[str]
    access: Access = Access.PUBLIC
    limit: Limit = Limit.NONE


@dataclass(frozen=True, slots=True)
class Target:
    template: str
    app: ASGIApp
    access: Access
    limit: Limit
    match: Match | None = None


UNMATCHED = "unmatched"


class Router:
    """Fixed endpoints by exact path or prefix, then the transcoded routes."""

    def __init__(
        self,
        table: RouteTable,
        rest_app: ASGIApp,
        *,
        exact: Mapping[str, Endpoint],
        prefixes: Mapping[str, Endpoint],
        public_methods: Collection[str],
        login_methods: Collection[str],
        method_not_allowed_status: int = 405,
    ) -> None:
        self._table = table
        self._rest = rest_app
        self._exact = dict(exact)
        self._prefixes = tuple(prefixes.items())
        self._public = frozenset(public_methods)
        self._login = frozenset(login_methods)
        self._not_allowed_status = method_not_allowed_status
        self._not_found = Target(
            UNMATCHED, _error_app(404, 5, "Not Found"), Access.PUBLIC, Limit.NONE
        )
        # One Target per route, built once.
        self._route_targets: dict[int, tuple[str, Access, Limit]] = {}
        for route in table:
            name = route.method.full_name
            public = name in self._public
            limit = Limit.LOGIN if name in self._login else Limit.USER
            self._route_targets[id(route)] = (
                route.template.source,
                Access.PUBLIC if public else Access.USER,
                limit,
            )

    def resolve(self, scope: Scope) -> Target:
        method: str = scope["method"]
        path: str = scope["path"]
        endpoint = self._exact.get(path)
        if endpoint is None:
            for prefix, candidate in self._prefixes:
                if path.startswith(prefix):
                    endpoint = candidate
                    break
        if endpoint is not None:
            if method == "HEAD" and "GET" in endpoint.methods:
                method = "GET"
            if method not in endpoint.methods:
                return self._refuse(endpoint.template, 405, tuple(sorted(endpoint.methods)))
            return Target(endpoint.template, endpoint.app, endpoint.access, endpoint.limit)
        raw_path = scope.get("raw_path")
        target_path = raw_path.decode("latin-1") if raw_path else path
        try:
            found = self._table.match(method, target_path)
            if method == "HEAD" and not isinstance(found, Match):
                # HEAD is GET without the body (RFC 9110 9.3.2); dispatch drops the body.
                found = self._table.match("GET", target_path)
        except TranscodeError as error:
            app = _error_app(400, 3, error.message, reason=error.reason)
            return Target(UNMATCHED, app, Access.PUBLIC, Limit.NONE)
        if isinstance(found, Match):
            template, access, limit = self._route_targets[id(found.route)]
            return Target(template, self._rest, access, limit, found)
        if isinstance(found, MethodNotAllowed):
            return self._refuse(UNMATCHED, self._not_allowed_status, found.allowed_methods)
        return self._not_found

    def _refuse(self, template: str, status: int, allowed: tuple[str, ...]) -> Target:
        if "GET" in allowed and "HEAD" not in allowed:
            allowed = tuple(sorted((*allowed, "HEAD")))
        headers = [(b"allow", ", ".join(allowed).encode())] if status == 405 else []
        app = _error_app(status, 12, "Method Not Allowed", headers)
        return Target(template, app, Access.PUBLIC, Limit.NONE)


def _error_app(
    status: int,
    code: int,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    reason: str | None = None,
) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send_error(send, status, code, message, reason=reason, headers=headers or ())

    return app


async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
    """The innermost ASGI app: run the endpoint the router chose (for HEAD, without
    sending the body; the headers, Content-Length included, are those of the GET)."""
    app = request_state(scope).target.app
    if scope["method"] == "HEAD":
        await app(scope, receive, _without_body(send))
        return
    await app(scope, receive, send)


def _without_body(send: Send) -> Send:
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return send_head
