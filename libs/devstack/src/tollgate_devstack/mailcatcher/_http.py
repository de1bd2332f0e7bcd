"""The HTTP side: a subset of Mailpit's API (same paths, same JSON) and a tiny inbox page."""

from __future__ import annotations

import html
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tollgate_devstack.mailcatcher._messages import CaughtMessage, MessageStore

DEFAULT_LIMIT = 50
# Received HTML is shown as is; it may not run scripts or load anything.
_VIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise ValueError(f"{name} must be a non-negative integer")
    return int(value)


def _not_found() -> Response:
    return PlainTextResponse("message not found", status_code=404)


def build_app(store: MessageStore) -> Starlette:
    def find(request: Request) -> CaughtMessage | None:
        return store.get(request.path_params["id"])

    async def list_messages(request: Request) -> Response:
        try:
            start = _int_param(request, "start", 0)
            limit = _int_param(request, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
        except ValueError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        newest_first = list(reversed(store.all()))
        page = newest_first[start : start + limit]
        unread = sum(1 for m in newest_first if not m.read)
        body: dict[str, Any] = {
            "total": len(newest_first),
            "unread": unread,
            "count": len(page),
            "messages_count": len(newest_first),
            "messages_unread": unread,
            "start": start,
            "tags": [],
            "messages": [m.summary_json() for m in page],
        }
        return JSONResponse(body)

    async def delete_messages(request: Request) -> Response:
        ids: list[str] | None = None
        raw = await request.body()
        if raw.strip():
            try:
                data = json.loads(raw)
            except ValueError:
                return PlainTextResponse("invalid JSON body", status_code=400)
            listed = data.get("IDs") if isinstance(data, dict) else None
            if isinstance(listed, list) and listed:
                ids = [str(i) for i in listed]
        store.delete(ids)
        return PlainTextResponse("ok")

    async def message(request: Request) -> Response:
        caught = find(request)
        if caught is None:
            return _not_found()
        caught.read = True
        return JSONResponse(caught.detail_json())

    async def message_raw(request: Request) -> Response:
        caught = find(request)
        if caught is None:
            return _not_found()
        return Response(caught.raw, media_type="text/plain; charset=utf-8")

    async def message_headers(request: Request) -> Response:
        caught = find(request)
        if caught is None:
            return _not_found()
        return JSONResponse(caught.headers)

    async def view_html(request: Request) -> Response:
        caught = find(request)
        if caught is None:
            return _not_found()
        return HTMLResponse(caught.html, headers={"Content-Security-Policy": _VIEW_CSP})

    async def view_text(request: Request) -> Response:
        caught = find(request)
        if caught is None:
            return _not_found()
        return PlainTextResponse(caught.text)

    async def ok(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def inbox(_: Request) -> Response:
        rows = "".join(
            "<tr><td>{created}</td><td>{to}</td><td>{subject}</td>"
            '<td><a href="view/{id}.html">html</a> <a href="view/{id}.txt">text</a> '
            '<a href="api/v1/message/{id}/raw">raw</a></td></tr>'.format(
                created=html.escape(m.created.strftime("%Y-%m-%d %H:%M:%S")),
                to=html.escape(", ".join(a.address for a in m.to)),
                subject=html.escape(m.subject),
                id=html.escape(m.id),
            )
            for m in reversed(store.all())
        )
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Tollgate mail</title>"
            "</head><body style='font-family: sans-serif'><h1>Tollgate mail catcher</h1>"
            "<p>API: <a href='api/v1/messages'>/api/v1/messages</a> (Mailpit-compatible)</p>"
            "<table border='1' cellpadding='4' style='border-collapse: collapse'>"
            "<tr><th>Received (UTC)</th><th>To</th><th>Subject</th><th></th></tr>"
            f"{rows}</table></body></html>"
        )
        return HTMLResponse(page)

    return Starlette(
        routes=[
            Route("/", inbox),
            Route("/livez", ok),
            Route("/readyz", ok),
            Route("/api/v1/messages", list_messages, methods=["GET"]),
            Route("/api/v1/messages", delete_messages, methods=["DELETE"]),
            Route("/api/v1/message/{id}", message),
            Route("/api/v1/message/{id}/raw", message_raw),
            Route("/api/v1/message/{id}/headers", message_headers),
            Route("/view/{id}.html", view_html),
            Route("/view/{id}.txt", view_text),
        ]
    )
