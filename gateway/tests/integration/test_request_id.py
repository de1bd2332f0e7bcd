"""Every gateway response names its request with an id a user can quote (the trace id, or a
fresh id where nothing is traced), and every JSON error body carries it as a
google.rpc.RequestInfo detail."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

HEX32 = re.compile(r"[0-9a-f]{32}")


async def test_the_request_id_is_the_callers_trace_id(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    answer = await gateway.get(
        "/v1/wallet",
        headers={**session.headers, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == trace_id


async def test_error_bodies_carry_the_request_id(gateway: httpx.AsyncClient) -> None:
    answers = [await gateway.get("/v1/wallet"), await gateway.get("/v1/wallet")]
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert all(HEX32.fullmatch(request_id) for request_id in ids)
    assert ids[0] != ids[1]
    for answer, request_id in zip(answers, ids, strict=True):
        assert answer.status_code == 401
        details = answer.json()["details"]
        assert details[-1] == {
            "@type": "type.googleapis.com/google.rpc.RequestInfo",
            "requestId": request_id,
            "servingData": "",
        }
        assert details[0]["reason"] == "TOKEN_MISSING"


async def test_probes_and_preflights_are_named_too(gateway_factory: Any) -> None:
    async with gateway_factory(cors_allow_origins=["https://app.example.com"]) as gateway:
        answers = [
            await gateway.get("/healthz"),
            await gateway.options(
                "/v1/wallet",
                headers={
                    "Origin": "https://app.example.com",
                    "Access-Control-Request-Method": "GET",
                },
            ),
        ]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert all(HEX32.fullmatch(answer.headers["x-request-id"]) for answer in answers)
