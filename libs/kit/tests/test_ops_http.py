"""The ops port's readiness probe: answered from the service's own check, never traced."""

from __future__ import annotations

import asyncio

import httpx
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from prometheus_client import CollectorRegistry

from tollgate_kit.ops_http import build_ops_app


async def test_readiness_checks_run_with_client_instrumentation_suppressed() -> None:
    seen: list[bool] = []
    answer = [True, False]

    async def ready() -> bool:
        # The probe's database and Redis pings would otherwise start a trace each.
        seen.append(is_instrumentation_enabled())
        return answer.pop(0)

    transport = httpx.ASGITransport(app=build_ops_app(CollectorRegistry(), ready))
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        first = await client.get("/readyz")
        second = await client.get("/readyz")
    assert (first.status_code, first.json()) == (200, {"status": "ready"})
    assert (second.status_code, second.json()) == (503, {"status": "not ready"})
    assert seen == [False, False]
    assert is_instrumentation_enabled()


async def test_a_readiness_check_that_hangs_answers_not_ready_in_time() -> None:
    async def hung() -> bool:
        await asyncio.sleep(30)
        return True

    app = build_ops_app(CollectorRegistry(), hung, ready_timeout=0.2)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        started = asyncio.get_running_loop().time()
        response = await client.get("/readyz")
        waited = asyncio.get_running_loop().time() - started
    assert (response.status_code, response.json()) == (503, {"status": "not ready"})
    assert waited < 2
