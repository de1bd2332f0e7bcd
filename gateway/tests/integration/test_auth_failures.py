"""Requests that fail authentication are limited per client address (429 past the budget),
and nobody with a valid token pays for them."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_failed_authentication_is_throttled_per_client_address(
    gateway_factory: Any, open_session: Any
) -> None:
    session = await open_session()
    limits = {"unauthenticated_rate_limit_per_minute": 1, "unauthenticated_rate_limit_burst": 3}
    async with gateway_factory(**limits) as gateway:
        bad = {"Authorization": "Bearer not-a-jwt"}
        statuses = [
            (await gateway.get("/v1/wallet", headers=bad)).status_code,
            (await gateway.get("/v1/wallet")).status_code,
            (await gateway.post("/v1/wallet/charges", json={}, headers=bad)).status_code,
        ]
        assert statuses == [401, 401, 401]
        for headers in (bad, {}):
            refused = await gateway.get("/v1/auth/me", headers=headers)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["details"][0]["reason"] == "RATE_LIMITED"
        # A valid token is not refused for the failures from its address.
        assert (await gateway.get("/v1/wallet", headers=session.headers)).status_code == 200
        # Public routes are not counted.
        assert (await gateway.get("/.well-known/jwks.json")).status_code == 200


async def test_another_address_keeps_its_budget(gateway_factory: Any) -> None:
    limits = {
        "unauthenticated_rate_limit_per_minute": 1,
        "unauthenticated_rate_limit_burst": 1,
        "trusted_proxies": ["203.0.113.9"],
    }
    async with gateway_factory(**limits) as gateway:
        first = {"X-Forwarded-For": "198.51.100.1"}
        assert (await gateway.get("/v1/wallet", headers=first)).status_code == 401
        assert (await gateway.get("/v1/wallet", headers=first)).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.2"}
        assert (await gateway.get("/v1/wallet", headers=other)).status_code == 401
