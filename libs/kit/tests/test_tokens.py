"""TokenVerifier: only EdDSA tokens signed by a published key, for this issuer and audience."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tollgate_kit.tokens import (
    ACCESS,
    REFRESH,
    JwksCache,
    KeySetUnavailable,
    TokenError,
    TokenVerifier,
    bearer_token,
)

ISS, AUD = "tollgate-auth", "tollgate"


class KeySet:
    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {"k1": Ed25519PrivateKey.generate()}
        self.fetches = 0

    def jwk(self, kid: str) -> dict[str, str]:
        raw = (
            self.keys[kid]
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}

    async def fetch(self) -> Sequence[Mapping[str, str]]:
        self.fetches += 1
        return [self.jwk(kid) for kid in self.keys]

    def sign(self, kid: str = "k1", **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISS,
            "aud": AUD,
            "sub": "u1",
            "iat": now,
            "exp": now + 60,
            "jti": "j1",
            "sid": "s1",
            "token_use": ACCESS,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.keys[kid], algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture
def keyset() -> KeySet:
    return KeySet()


@pytest.fixture
def verifier(keyset: KeySet) -> TokenVerifier:
    return TokenVerifier(JwksCache(keyset.fetch, min_refetch_seconds=0), issuer=ISS, audience=AUD)


async def test_valid_access_token_yields_its_claims(
    keyset: KeySet, verifier: TokenVerifier
) -> None:
    claims = await verifier.verify(keyset.sign())
    assert (claims.subject, claims.session_id, claims.token_id) == ("u1", "s1", "j1")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"aud": "someone-else"}, "invalid"),
        ({"iss": "evil"}, "invalid"),
        ({"sid": None}, "invalid"),
        ({"token_use": REFRESH}, "not an access token"),
    ],
)
async def test_bad_claims_are_rejected(
    keyset: KeySet, verifier: TokenVerifier, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(TokenError, match=message):
        await verifier.verify(keyset.sign(**overrides))


async def test_an_access_token_is_not_a_refresh_token(
    keyset: KeySet, verifier: TokenVerifier
) -> None:
    with pytest.raises(TokenError, match=r"^not a refresh token$"):
        await verifier.verify(keyset.sign(), REFRESH)


async def test_tampered_payload_is_rejected(keyset: KeySet, verifier: TokenVerifier) -> None:
    header, payload, signature = keyset.sign().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        await verifier.verify(f"{header}.{forged}.{signature}")


async def test_alg_none_and_hs256_with_public_key_are_rejected(
    keyset: KeySet, verifier: TokenVerifier
) -> None:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": AUD,
        "sub": "u1",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        "sid": "s",
        "token_use": ACCESS,
    }
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})
    with pytest.raises(TokenError, match="algorithm"):
        await verifier.verify(unsigned)
    public_pem = (
        keyset.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"k1","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    import hashlib
    import hmac

    mac = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    forged = b".".join([header, body, base64.urlsafe_b64encode(mac).rstrip(b"=")]).decode()
    with pytest.raises(TokenError, match="algorithm"):
        await verifier.verify(forged)


async def test_unknown_kid_refetches_once_then_rejects(
    keyset: KeySet, verifier: TokenVerifier
) -> None:
    await verifier.verify(keyset.sign())
    keyset.keys["k2"] = Ed25519PrivateKey.generate()
    claims = await verifier.verify(keyset.sign(kid="k2"))  # rotation: refetched
    assert claims.subject == "u1"
    stranger = Ed25519PrivateKey.generate()
    token = jwt.encode({"sub": "u1"}, stranger, algorithm="EdDSA", headers={"kid": "nobody"})
    with pytest.raises(TokenError, match="unknown key"):
        await verifier.verify(token)


async def test_refetch_on_unknown_kid_is_rate_limited(keyset: KeySet) -> None:
    verifier = TokenVerifier(
        JwksCache(keyset.fetch, min_refetch_seconds=60), issuer=ISS, audience=AUD
    )
    await verifier.verify(keyset.sign())
    for _ in range(5):
        with pytest.raises(TokenError):
            await verifier.verify(
                jwt.encode(
                    {}, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "garbage"}
                )
            )
    assert keyset.fetches == 1


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


async def test_a_withdrawn_key_stops_verifying_once_the_set_ages_out(keyset: KeySet) -> None:
    keyset.keys["k2"] = Ed25519PrivateKey.generate()
    cache = JwksCache(keyset.fetch, min_refetch_seconds=60, max_age_seconds=0.05)
    verifier = TokenVerifier(cache, issuer=ISS, audience=AUD)
    token = keyset.sign(kid="k2")
    fresh = keyset.sign(kid="k2", jti="j2")
    await verifier.verify(token)
    del keyset.keys["k2"]  # auth-svc withdraws the key (say, it leaked)
    await asyncio.sleep(0.06)
    with pytest.raises(TokenError, match="unknown key"):
        await verifier.verify(token)  # even though this exact token was accepted before
    with pytest.raises(TokenError, match="unknown key"):
        await verifier.verify(fresh)


class FlakyKeySet(KeySet):
    """A key set whose source (auth-svc) can go down."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def fetch(self) -> Sequence[Mapping[str, str]]:
        self.fetches += 1
        if self.down:
            raise ConnectionError("auth-svc unreachable")
        return [self.jwk(kid) for kid in self.keys]


async def test_no_key_set_at_all_is_unavailable_not_invalid() -> None:
    keyset = FlakyKeySet()
    keyset.down = True
    verifier = TokenVerifier(JwksCache(keyset.fetch), issuer=ISS, audience=AUD)
    for _ in range(5):
        with pytest.raises(KeySetUnavailable):
            await verifier.verify(keyset.sign())
    assert keyset.fetches == 1  # retries are spaced, not one per call
    keyset.down = False
    await asyncio.sleep(1.05)
    assert (await verifier.verify(keyset.sign())).subject == "u1"


async def test_an_unknown_kid_during_an_outage_is_unavailable() -> None:
    keyset = FlakyKeySet()
    verifier = TokenVerifier(
        JwksCache(keyset.fetch, min_refetch_seconds=0.2), issuer=ISS, audience=AUD
    )
    await verifier.verify(keyset.sign())
    keyset.down = True
    keyset.keys["k2"] = Ed25519PrivateKey.generate()  # rotated while auth-svc is unreachable
    await asyncio.sleep(0.2)
    for _ in range(3):
        with pytest.raises(KeySetUnavailable):
            await verifier.verify(keyset.sign(kid="k2"))
    assert keyset.fetches == 2  # one attempt; the others wait for min_refetch
    # Tokens of the keys on hand keep working through the outage.
    assert (await verifier.verify(keyset.sign(jti="other"))).subject == "u1"
    keyset.down = False
    await asyncio.sleep(0.2)
    assert (await verifier.verify(keyset.sign(kid="k2"))).subject == "u1"


async def test_an_aged_set_survives_a_failed_refetch() -> None:
    keyset = FlakyKeySet()
    cache = JwksCache(keyset.fetch, min_refetch_seconds=60, max_age_seconds=0.05)
    verifier = TokenVerifier(cache, issuer=ISS, audience=AUD)
    await verifier.verify(keyset.sign())
    keyset.down = True
    await asyncio.sleep(0.06)
    for jti in ("a", "b", "c"):
        assert (await verifier.verify(keyset.sign(jti=jti))).subject == "u1"
    assert keyset.fetches == 2  # one failed refetch, then the old set until min_refetch


async def test_a_malformed_key_in_the_set_is_skipped() -> None:
    keyset = KeySet()
    good = keyset.jwk("k1")
    broken = {**good, "kid": "broken", "x": "not*base64*at*all"}
    short = {**good, "kid": "short", "x": "AAAA"}

    async def fetch() -> Sequence[Mapping[str, str]]:
        return [broken, short, good]

    verifier = TokenVerifier(JwksCache(fetch), issuer=ISS, audience=AUD)
    assert (await verifier.verify(keyset.sign())).subject == "u1"


async def test_a_cancelled_refetch_does_not_hold_back_the_next_one() -> None:
    keyset = KeySet()
    hang = asyncio.Event()

    async def fetch() -> Sequence[Mapping[str, str]]:
        keyset.fetches += 1
        if hang.is_set():
            await asyncio.sleep(3600)
        return [keyset.jwk(kid) for kid in keyset.keys]

    verifier = TokenVerifier(JwksCache(fetch, min_refetch_seconds=0.3), issuer=ISS, audience=AUD)
    await verifier.verify(keyset.sign())
    await asyncio.sleep(0.35)
    keyset.keys["k2"] = Ed25519PrivateKey.generate()  # rotation
    # The first call that meets the new kid gives up (its deadline) while fetching.
    hang.set()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(verifier.verify(keyset.sign(kid="k2")), timeout=0.1)
    hang.clear()
    # The next call refetches at once instead of rejecting the token until min_refetch.
    assert (await verifier.verify(keyset.sign(kid="k2"))).subject == "u1"
    assert keyset.fetches == 3
