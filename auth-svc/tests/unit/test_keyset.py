import base64
import hashlib
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from auth_svc.signing.keyset import (
    SigningKey,
    generate_key_file,
    jwk_thumbprint,
    load_or_create_keys,
)


def test_an_empty_directory_gets_one_private_key_file(tmp_path: Path) -> None:
    keys = load_or_create_keys(tmp_path / "keys")
    files = list((tmp_path / "keys").glob("*.pem"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert len(keys.keys) == 1


def test_reloading_keeps_the_same_key(tmp_path: Path) -> None:
    first = load_or_create_keys(tmp_path)
    second = load_or_create_keys(tmp_path)
    assert [k.kid for k in first.keys] == [k.kid for k in second.keys]


def test_the_newest_key_signs_and_all_are_published(tmp_path: Path) -> None:
    generate_key_file(tmp_path, datetime(2024, 1, 1, tzinfo=UTC))
    newest = generate_key_file(tmp_path, datetime(2025, 1, 1, tzinfo=UTC))
    keys = load_or_create_keys(tmp_path)
    assert len(keys.jwks()) == 2
    expected = serialization.load_pem_private_key(newest.read_bytes(), password=None)
    assert isinstance(expected, Ed25519PrivateKey)
    assert (
        keys.signing_key.public_x
        == base64.urlsafe_b64encode(
            expected.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )
        .rstrip(b"=")
        .decode()
    )


def test_kid_is_the_rfc7638_thumbprint(tmp_path: Path) -> None:
    key = load_or_create_keys(tmp_path).signing_key
    jwk = key.public_jwk()
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": key.public_x,
        "kid": key.kid,
        "use": "sig",
        "alg": "EdDSA",
    }
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": key.public_x}, separators=(",", ":")
    ).encode()
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
    assert key.kid == expected.decode() == jwk_thumbprint(key.public_x)
    # PyJWT computes the same thumbprint from the public JWK.
    assert jwt.PyJWK.from_dict(jwk).key_id == key.kid


def test_a_key_of_another_type_is_refused(tmp_path: Path) -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(
        rsa.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        load_or_create_keys(tmp_path)


def _kid_of(path: Path) -> str:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return SigningKey.from_private_key(key).kid


def test_a_next_key_is_published_but_does_not_sign_until_renamed(tmp_path: Path) -> None:
    current = generate_key_file(tmp_path, datetime(2024, 1, 1, tzinfo=UTC))
    upcoming = generate_key_file(tmp_path, datetime(2025, 1, 1, tzinfo=UTC))
    announced = upcoming.rename(upcoming.with_name(upcoming.stem + ".next.pem"))
    keys = load_or_create_keys(tmp_path)
    assert keys.signing_key.kid == _kid_of(current)
    assert {jwk["kid"] for jwk in keys.jwks()} == {_kid_of(current), _kid_of(announced)}

    active = announced.rename(tmp_path / announced.name.replace(".next.pem", ".pem"))
    assert load_or_create_keys(tmp_path).signing_key.kid == _kid_of(active)


def test_only_announced_keys_still_get_a_signing_key(tmp_path: Path) -> None:
    upcoming = generate_key_file(tmp_path, datetime(2030, 1, 1, tzinfo=UTC))
    announced = upcoming.rename(upcoming.with_name(upcoming.stem + ".next.pem"))
    keys = load_or_create_keys(tmp_path)
    assert keys.signing_key.kid != _kid_of(announced)
    assert len(keys.jwks()) == 2


def test_a_read_only_directory_with_keys_is_only_read(tmp_path: Path) -> None:
    # A Kubernetes Secret mounts read-only: loading must not try to write a lock file there.
    generate_key_file(tmp_path, datetime(2024, 1, 1, tzinfo=UTC))
    tmp_path.chmod(0o500)
    try:
        opened: list[str] = []
        real_open = open

        def watching_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if any(flag in mode for flag in "wax+"):
                opened.append(str(file))
            return real_open(file, mode, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("builtins.open", watching_open)
            keys = load_or_create_keys(tmp_path)
        assert len(keys.jwks()) == 1
        assert opened == []
        assert not (tmp_path / ".lock").exists()
    finally:
        tmp_path.chmod(0o700)
