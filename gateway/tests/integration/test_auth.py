"""Authentication at the gateway: 401 with WWW-Authenticate and an ErrorInfo reason."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tollgate_kit.ended_sessions import announce_ended
from tollgate_kit.redis_client import RedisClient

pytestmark = pytest.mark.integration


def _reason(response: httpx.Response) -> str:
    body = response.json()
    assert body["code"] == 16
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    return str(body["details"][0]["reason"])


async def test_missing_token_is_401_with_bearer_challenge(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/wallet")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="tollgate"'
    assert _reason(response) == "TOKEN_MISSING"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer "],
)
async def test_malformed_authorization_is_401(
    gateway: httpx.AsyncClient, authorization: str
) -> None:
    response = await gateway.get("/v1/wallet", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_bad_signature_is_401_invalid_token(gateway: httpx.AsyncClient, keys: Any) -> None:
    forged = keys.sign(key=Ed25519PrivateKey.generate())
    response = await gateway.get("/v1/wallet", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert _reason(response) == "TOKEN_INVALID"


async def test_expired_token_is_401(gateway: httpx.AsyncClient, open_session: Any) -> None:
    now = int(time.time())
    session = await open_session(iat=now - 600, exp=now - 60)
    response = await gateway.get("/v1/wallet", headers=session.headers)
    assert response.status_code == 401
    assert _reason(response) == "TOKEN_EXPIRED"


async def test_refresh_token_is_not_an_access_token(
    gateway: httpx.AsyncClient, open_session: Any
) -> None:
    session = await open_session(token_use="refresh")
    response = await gateway.get("/v1/wallet", headers=session.headers)
    assert response.status_code == 401


@pytest.mark.parametrize("redis_url", ["node", "cluster"], indirect=True)
async def test_an_ended_session_blocks_the_token_within_a_second(
    gateway: httpx.AsyncClient, open_session: Any, redis: RedisClient, redis_prefix: str
) -> None:
    session, other = await open_session(), await open_session()
    assert (await gateway.get("/v1/wallet", headers=session.headers)).status_code == 200
    # What auth-svc does on logout: announce the ended session on the feed.
    await announce_ended(redis, redis_prefix, session.session_id, valid_until=time.time() + 900)
    ended_at = time.monotonic()
    while (response := await gateway.get("/v1/wallet", headers=session.headers)).status_code == 200:
        assert time.monotonic() - ended_at < 1.0
        await asyncio.sleep(0.01)
    assert response.status_code == 401
    assert _reason(response) == "SESSION_REVOKED"
    assert (await gateway.get("/v1/wallet", headers=other.headers)).status_code == 200


async def test_jwks_is_fetched_once_and_cached(
    gateway: httpx.AsyncClient, open_session: Any, backends: Any
) -> None:
    session = await open_session()
    for _ in range(3):
        assert (await gateway.get("/v1/wallet", headers=session.headers)).status_code == 200
    assert len(backends.recorded.requests.get("GetJwks", [])) == 1


async def test_unknown_key_id_is_refused(gateway: httpx.AsyncClient, keys: Any) -> None:
    token = keys.sign(kid="rotated-away")
    response = await gateway.get("/v1/wallet", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
