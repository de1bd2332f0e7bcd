"""One JSON log line per request, in the kit's format, with the route template and trace id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from tollgate_kit.logs import configure_logging

pytestmark = pytest.mark.integration


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging("gateway", "INFO")
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("json_logs")
async def test_one_json_line_per_request(
    gateway_factory: Any, open_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    session = await open_session()
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    async with gateway_factory() as gateway:
        await gateway.post(
            "/v1/wallet/charges/ch-77/refunds",
            json={"amount": 1},
            headers={**session.headers, "traceparent": f"00-{trace_id}-b7ad6b7169203331-01"},
        )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    requests = [line for line in lines if line.get("msg") == "http_request"]
    assert len(requests) == 1
    line = requests[0]
    assert line["service"] == "gateway"
    assert line["level"] == "info"
    assert line["method"] == "POST"
    assert line["route"] == "/v1/wallet/charges/{charge_id}/refunds"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["trace_id"] == trace_id
    assert "ts" in line


@pytest.mark.usefixtures("json_logs")
async def test_a_failed_request_is_logged_once_with_its_trace_id(
    gateway_factory: Any, open_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    session = await open_session()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    async with gateway_factory() as gateway:
        gateway.app.state.runtime.backends.call = broken  # type: ignore[attr-defined]
        response = await gateway.get(
            "/v1/wallet",
            headers={**session.headers, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
    assert response.status_code == 500
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    failures = [line for line in lines if line.get("msg") == "request_failed"]
    assert len(failures) == 1
    assert failures[0]["trace_id"] == trace_id
    assert "RuntimeError" in failures[0]["exception"]


@pytest.mark.usefixtures("json_logs")
async def test_refusals_before_the_handler_are_logged_with_their_route(
    gateway_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Routing runs before the logger: a request auth refuses still has its route template,
    # and one that matches no route is logged as such.
    async with gateway_factory() as gateway:
        refused = await gateway.get("/v1/wallet")
        unknown = await gateway.get("/v1/no/such/route")
    assert refused.status_code == 401
    assert unknown.status_code == 404
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    requests = [
        (line["method"], line["route"], line["status"])
        for line in lines
        if line.get("msg") == "http_request"
    ]
    assert requests == [("GET", "/v1/wallet", 401), ("GET", "unmatched", 404)]


async def test_after_its_lifespan_the_app_answers_503_not_serving(gateway_factory: Any) -> None:
    async with gateway_factory() as gateway:
        assert (await gateway.get("/healthz")).status_code == 200
        app = gateway.app
    assert app.state.runtime is None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["details"][0]["reason"] == "GATEWAY_NOT_SERVING"
