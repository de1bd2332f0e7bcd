"""Static content: the React app at ``/app/*``, GraphiQL at ``GET /graphql`` (browsers), the
API reference (Swagger UI) at ``/docs`` and the OpenAPI document at ``/openapi.json``.

The app is a single-page app: a path that is not a file gets ``index.html`` (the client
router takes over), except under ``/app/assets/``, where a missing hashed file is a 404.
Hashed assets are cached for a year, ``index.html`` is revalidated on every load. Every
page carries a strict Content-Security-Policy (no inline code, no framing).
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from gateway.asgi import send_bytes

CSP = (
    "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; img-src 'self' data:"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
)
# GraphiQL's editor (Monaco) adds <style> elements and runs its language services in workers
# built into /app/assets: styles may be inline there, scripts still come only from the gateway.
GRAPHIQL_CSP = (
    "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; img-src 'self' data:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
)
# Swagger UI (React) sets style attributes and shows data: icons; scripts still come only from
# the gateway.
DOCS_CSP = (
    "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
)
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"

_PLACEHOLDER = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate</title></head>
<body><h1>Tollgate</h1><p>The web app has not been built. Run <code>npm run build</code>
in <code>web/</code>; the API is described at
<a href="/openapi.json">/openapi.json</a>.</p></body></html>
"""


def _raw_headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in (*SECURITY_HEADERS, *pairs)]


def _safe_file(root: Path, relative: str) -> Path | None:
    """``root/relative`` when it is a file inside ``root`` (no ``..`` escapes)."""
    if not relative or "\x00" in relative:
        return None
    try:
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
    except (OSError, ValueError):  # e.g. a path component too long for the file system
        return None
    return candidate


class _StaticFiles:
    def __init__(self, root: Path, mount: str) -> None:
        self.root = root.resolve()
        self._mount = mount

    def relative(self, scope: Scope) -> str:
        path: str = scope["path"]
        return path[len(self._mount) :].lstrip("/")

    async def file(
        self, scope: Scope, receive: Receive, send: Send, path: Path, cache: str
    ) -> None:
        headers = dict(SECURITY_HEADERS)
        headers["cache-control"] = cache
        response: Response = FileResponse(path, headers=headers)
        await response(scope, receive, send)


class AppFiles(_StaticFiles):
    """``/app/*`` from the web build folder, with SPA fallback."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "/app")
        self.index = self.root / "index.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.index.is_file():
            headers = _raw_headers(
                ("content-type", "text/html; charset=utf-8"), ("cache-control", NO_CACHE)
            )
            await send_bytes(send, 200, _PLACEHOLDER, headers)
            return
        relative = self.relative(scope)
        found = _safe_file(self.root, relative)
        if found is not None and found != self.index:
            cache = IMMUTABLE if relative.startswith("assets/") else NO_CACHE
            await self.file(scope, receive, send, found, cache)
            return
        if relative.startswith("assets/"):
            headers = _raw_headers(("content-type", "text/plain"), ("cache-control", NO_CACHE))
            await send_bytes(send, 404, b"Not Found", headers)
            return
        await self.file(scope, receive, send, self.index, NO_CACHE)


class _BuiltPage:
    """One HTML page of the web build (its assets under ``/app/assets/``), with its CSP."""

    def __init__(self, root: Path, name: str, csp: str) -> None:
        self.page = root.resolve() / name
        self._csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {**dict(SECURITY_HEADERS), "content-security-policy": self._csp}
        headers["cache-control"] = NO_CACHE
        if not self.page.is_file():
            headers["content-type"] = "text/html; charset=utf-8"
            raw = [(k.encode(), v.encode()) for k, v in headers.items()]
            await send_bytes(send, 404, _PLACEHOLDER, raw)
            return
        response: Response = FileResponse(self.page, headers=headers)
        await response(scope, receive, send)


class GraphiQLPage(_BuiltPage):
    """``graphiql.html`` of the web build (GraphiQL from npm, built by ``npm run build`` in
    web/), for a browser that opens ``/graphql``."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "graphiql.html", GRAPHIQL_CSP)


class DocsPage(_BuiltPage):
    """``/docs``: ``docs.html`` of the web build (Swagger UI from npm, rendering
    ``/openapi.json``); anything below ``/docs/`` is a 404."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "docs.html", DOCS_CSP)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].rstrip("/") != "/docs":
            headers = _raw_headers(("content-type", "text/plain"), ("cache-control", NO_CACHE))
            await send_bytes(send, 404, b"Not Found", headers)
            return
        await super().__call__(scope, receive, send)


class OpenApiDocument:
    """The OpenAPI document, serialised once at start-up."""

    def __init__(self, document: bytes) -> None:
        self._headers = [
            (b"content-type", b"application/json"),
            (b"cache-control", b"no-cache"),
        ]
        self._document = document

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, self._document, self._headers)
