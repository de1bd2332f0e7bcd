"""Tokens as a verifier sees them: JWKS, claims, and every kind of token that must fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth_svc.signing.keyset import SigningKey, generate_key_file, load_or_create_keys
from tollgate.auth.v1 import auth_pb2
from tollgate_kit.errors import error_reason
from tollgate_kit.jwks_client import grpc_jwks_fetcher
from tollgate_kit.tokens import JwksCache, TokenVerifier


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_key(auth: Any) -> SigningKey:
    return load_or_create_keys(auth.settings.keys_dir).signing_key


async def signed_in(auth: Any, email: str = "ann@example.com") -> auth_pb2.LoginResponse:
    await auth.register(email)
    response: auth_pb2.LoginResponse = await auth.login(email)
    return response


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def me_code(auth: Any, token: str) -> tuple[grpc.StatusCode, str | None]:
    try:
        await auth.stub.Me(auth_pb2.MeRequest(), metadata=(("authorization", f"Bearer {token}"),))
    except grpc.aio.AioRpcError as err:
        return err.code(), error_reason(err)
    return grpc.StatusCode.OK, None


async def test_jwks_publishes_the_ed25519_key_by_its_thumbprint(auth: Any) -> None:
    response = await auth.stub.GetJwks(auth_pb2.GetJwksRequest())
    [key] = response.keys
    assert (key.kty, key.crv, key.alg, key.use) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert key.kid == service_key(auth).kid
    assert key.x == service_key(auth).public_x


async def test_tokens_verify_with_the_kit_verifier_over_grpc_jwks(auth: Any) -> None:
    login = await signed_in(auth)
    verifier = TokenVerifier(
        JwksCache(grpc_jwks_fetcher(auth.channel)), issuer="tollgate-auth", audience="tollgate"
    )
    access = await verifier.verify(login.access_token, "access")
    refresh = await verifier.verify(login.refresh_token, "refresh")
    assert access.session_id == refresh.session_id
    assert access.expires_at - access.issued_at == 15 * 60
    assert refresh.expires_at - refresh.issued_at == 30 * 24 * 3600
    assert access.token_id != refresh.token_id
    header = jwt.get_unverified_header(login.access_token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == service_key(auth).kid
    assert (login.token_type, login.expires_in) == ("Bearer", 900)
    me = await auth.stub.Me(
        auth_pb2.MeRequest(), metadata=(("authorization", f"Bearer {login.access_token}"),)
    )
    assert me.user_id == access.subject
    assert me.email == "ann@example.com"
    assert not me.email_verified
    assert me.created_at.seconds > 0


def forge(claims: dict[str, Any], key: Ed25519PrivateKey, kid: str) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    encode = lambda part: b64url(json.dumps(part).encode())  # noqa: E731
    return f"{encode(header)}.{encode(claims)}"


def tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def bad_tokens() -> dict[str, Callable[[dict[str, Any], SigningKey, str], str]]:
    """Each builds a token that must be refused from a valid access token's claims, the
    service's real signing key, and the valid token itself."""

    def expired(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        now = int(time.time())
        return forge({**claims, "iat": now - 3600, "exp": now - 60}, key.private_key, key.kid)

    def wrong_aud(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        return forge({**claims, "aud": "someone-else"}, key.private_key, key.kid)

    def wrong_iss(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        return forge({**claims, "iss": "https://evil.example"}, key.private_key, key.kid)

    def tampered(_: dict[str, Any], __: SigningKey, token: str) -> str:
        return tamper(token)

    def unknown_kid(claims: dict[str, Any], _: SigningKey, __: str) -> str:
        return forge(claims, Ed25519PrivateKey.generate(), "not-a-known-kid")

    def own_kid_other_key(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        return forge(claims, Ed25519PrivateKey.generate(), key.kid)

    def alg_none(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        return unsigned({"alg": "none", "typ": "JWT", "kid": key.kid}, claims) + "."

    def hs256_with_public_key(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims)
        public_pem = key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # Both the PEM and the raw "x" are what an attacker would try as the HMAC secret.
        for secret in (public_pem, base64.urlsafe_b64decode(key.public_x + "==")):
            mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{b64url(mac)}"
        raise AssertionError

    def missing_sid(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        return forge({k: v for k, v in claims.items() if k != "sid"}, key.private_key, key.kid)

    def unknown_session(claims: dict[str, Any], key: SigningKey, _: str) -> str:
        return forge({**claims, "sid": str(uuid.uuid4())}, key.private_key, key.kid)

    def garbage(_: dict[str, Any], __: SigningKey, ___: str) -> str:
        return "not.a.jwt"

    return {
        f.__name__: f
        for f in (
            expired,
            wrong_aud,
            wrong_iss,
            tampered,
            unknown_kid,
            own_kid_other_key,
            alg_none,
            hs256_with_public_key,
            missing_sid,
            unknown_session,
            garbage,
        )
    }


@pytest.mark.parametrize("case", sorted(bad_tokens()))
async def test_bad_access_tokens_are_unauthenticated(auth: Any, case: str) -> None:
    login = await signed_in(auth)
    assert await me_code(auth, login.access_token) == (grpc.StatusCode.OK, None)
    token = bad_tokens()[case](claims_of(login.access_token), service_key(auth), login.access_token)
    code, _ = await me_code(auth, token)
    assert code is grpc.StatusCode.UNAUTHENTICATED


async def test_a_refresh_token_is_not_an_access_token(auth: Any) -> None:
    login = await signed_in(auth)
    assert await me_code(auth, login.refresh_token) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_INVALID",
    )


async def test_an_access_token_is_not_a_refresh_token(auth: Any) -> None:
    login = await signed_in(auth)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await auth.stub.Refresh(auth_pb2.RefreshRequest(refresh_token=login.access_token))
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(caught.value) == "TOKEN_INVALID"


async def test_a_missing_bearer_token_is_unauthenticated(auth: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await auth.stub.Me(auth_pb2.MeRequest())
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_rotated_keys_sign_with_the_newest_and_accept_the_older(
    settings_for: Callable[..., Any], start_auth: Callable[..., Any], tmp_path: Path
) -> None:
    keys_dir = tmp_path / "rotating"
    keys_dir.mkdir()
    older = generate_key_file(keys_dir)
    generate_key_file(keys_dir)
    async with start_auth(settings_for(keys_dir=keys_dir)) as auth:
        jwks = await auth.stub.GetJwks(auth_pb2.GetJwksRequest())
        keys = load_or_create_keys(keys_dir)
        assert [k.kid for k in jwks.keys] == [k.kid for k in keys.keys]
        login = await signed_in(auth)
        assert jwt.get_unverified_header(login.access_token)["kid"] == keys.keys[1].kid
        # A token signed earlier with the older key still verifies while that key is listed.
        old_key = serialization.load_pem_private_key(older.read_bytes(), password=None)
        assert isinstance(old_key, Ed25519PrivateKey)
        token = forge(claims_of(login.access_token), old_key, keys.keys[0].kid)
        assert await me_code(auth, token) == (grpc.StatusCode.OK, None)
