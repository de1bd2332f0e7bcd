"""Ed25519 signing keys kept as PEM files in a directory; published as a JWKS.

Every ``*.pem`` file (PKCS#8 private key) in the directory is loaded and published. Keys are
ordered by file name and the last one signs, except ``*.next.pem`` files: those are published
but never sign. Rotating is publish first, sign later: add ``<time>.next.pem``, wait until
every verifier has refetched the key set, rename it to ``<time>.pem`` (it then sorts last and
signs), and remove the old key once the tokens it signed have expired. ``kid`` is the key's
RFC 7638 thumbprint.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
# Published, not signing: a key announced ahead of its use.
NEXT_SUFFIX = ".next.pem"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    public_x: str  # base64url of the raw public key

    @classmethod
    def from_private_key(cls, key: Ed25519PrivateKey) -> SigningKey:
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        x = _b64url(raw)
        return cls(kid=jwk_thumbprint(x), private_key=key, public_x=x)

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.public_x,
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


def jwk_thumbprint(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 public key (required members, sorted, no spaces)."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


class KeySet:
    """The service's keys, oldest first; the newest active one signs, all (``upcoming``
    ones included) are published and verify."""

    def __init__(self, keys: Sequence[SigningKey], upcoming: Sequence[SigningKey] = ()) -> None:
        if not keys:
            raise ValueError("a key set needs at least one key that may sign")
        self._signing = keys[-1]
        self._keys = (*keys, *upcoming)

    @property
    def signing_key(self) -> SigningKey:
        return self._signing

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return self._keys

    def jwks(self) -> list[dict[str, str]]:
        return [key.public_jwk() for key in self._keys]


def _load_pem(path: Path) -> SigningKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return SigningKey.from_private_key(key)


def _key_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.pem") if p.is_file())


def generate_key_file(directory: Path, now: datetime | None = None) -> Path:
    """Write a new Ed25519 key (mode 0600) whose name sorts after every existing one."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{stamp}.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = directory / f".{stamp}.pem.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return path


def _load(files: Sequence[Path]) -> KeySet | None:
    """The key set of ``files``; None when none of them may sign."""
    upcoming = [path for path in files if path.name.endswith(NEXT_SUFFIX)]
    active = [path for path in files if not path.name.endswith(NEXT_SUFFIX)]
    if not active:
        return None
    return KeySet([_load_pem(path) for path in active], [_load_pem(path) for path in upcoming])


def load_or_create_keys(directory: Path) -> KeySet:
    """Load every key in ``directory``; generate one first when none may sign.

    A directory that has a signing key is only read, so it may be a read-only mount (a
    Kubernetes Secret). Otherwise a lock file serialises replicas that start together on
    one empty directory, so they end up sharing one key instead of signing with keys the
    others do not know.
    """
    if directory.is_dir():
        keys = _load(_key_files(directory))
        if keys is not None:
            return keys
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            keys = _load(_key_files(directory))  # another replica may have written one
            if keys is None:
                generate_key_file(directory)
                keys = _load(_key_files(directory))
            if keys is None:
                raise RuntimeError(f"no signing key in {directory} after generating one")
            return keys
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
