"""TokenVerifier remembers accepted tokens until they expire, and nothing else."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tollgate_kit.tokens import JwksCache, TokenError, TokenVerifier


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def verifier(key):
    fetches = []

    async def fetch():
        fetches.append(1)
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = jwt.utils.base64url_encode(raw).decode()
        return [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k", "alg": "EdDSA"}]

    return TokenVerifier(JwksCache(fetch), issuer="iss", audience="aud", leeway_seconds=0)


def token(key, exp):
    claims = {
        "iss": "iss",
        "aud": "aud",
        "sub": "u",
        "iat": int(time.time()) - 10,
        "exp": exp,
        "jti": "j",
        "sid": "s",
        "token_use": "access",
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k"})


async def test_a_verified_token_is_remembered_until_it_expires(verifier, key, monkeypatch):
    expired = token(key, int(time.time()) - 60)
    with pytest.raises(TokenError, match="expired"):
        await verifier.verify(expired)
    good = token(key, int(time.time()) + 60)
    first = await verifier.verify(good)
    assert await verifier.verify(good) is first
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    # Past its exp the entry is not used: the token goes through full verification again.
    assert await verifier.verify(good) is not first


async def test_a_tampered_token_is_not_taken_from_the_cache(verifier, key):
    good = token(key, int(time.time()) + 60)
    await verifier.verify(good)
    with pytest.raises(TokenError):
        await verifier.verify(good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1])


async def test_the_token_use_is_part_of_the_cache_key(verifier, key):
    good = token(key, int(time.time()) + 60)
    await verifier.verify(good, "access")
    with pytest.raises(TokenError):
        await verifier.verify(good, "refresh")
