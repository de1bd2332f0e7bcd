"""The gateway's middleware chain as built by the real app: its order, and what the app
answers outside its lifespan."""

from __future__ import annotations

import httpx
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from gateway.app import GatewayApp
from gateway.bootstrap import build_app
from gateway.config import GatewaySettings
from gateway.errors import error_info
from gateway.middleware import (
    AuthMiddleware,
    LoggerMiddleware,
    RateLimitMiddleware,
    RecoverMiddleware,
    RoutingMiddleware,
)
from gateway.request_id import request_info
from gateway.routing import dispatch


def _app() -> GatewayApp:
    app = build_app(GatewaySettings())
    assert isinstance(app, GatewayApp)
    return app


def test_the_chain_runs_recover_cors_routing_logger_auth_ratelimit_then_dispatch() -> None:
    app = _app()
    app.build_middleware_stack()
    steps: list[type] = []
    step: ASGIApp | None = app.chain
    while step is not dispatch:
        assert step is not None
        steps.append(type(step))
        step = getattr(step, "app", None)
    # Routing comes before the logger so that the logger labels by route template
    # (docs/architecture.md, "gateway": a departure from ARCHITECTURE.md's order).
    assert steps == [
        RecoverMiddleware,
        CORSMiddleware,
        RoutingMiddleware,
        LoggerMiddleware,
        AuthMiddleware,
        RateLimitMiddleware,
    ]


async def test_outside_its_lifespan_the_app_answers_503_not_serving() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for path in ("/v1/wallet", "/healthz", "/nowhere"):
            response = await client.get(path)
            assert response.status_code == 503, path
            body = response.json()
            assert body == {
                "code": 14,
                "message": "the gateway is not serving",
                "details": [
                    error_info("GATEWAY_NOT_SERVING"),
                    request_info(response.headers["x-request-id"]),
                ],
            }
