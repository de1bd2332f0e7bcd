"""The TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps) and its recovery codes.

A code is accepted in its own step or one step either side (clock drift), and only once: the
store keeps the last step accepted and refuses any step not after it (so a code seen over a
shoulder cannot be replayed within its window). Recovery codes are random, single-use and
kept only as SHA-256 digests (they carry 50 random bits, so no slow hash is needed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import segno

ISSUER = "Tollgate"
PERIOD = 30
DIGITS = 6
# Steps either side of now a code may come from.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_HALF = 5


def new_secret() -> str:
    """A fresh base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://totp/...`` URI authenticator apps read (from the QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account, issuer_name=ISSUER
    )


def qr_code(uri: str) -> str:
    """``uri`` as a QR code: an SVG image in a ``data:`` URI (the web app shows it as is)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def code_at(secret: str, step: int) -> str:
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step))


def is_totp_code(code: str) -> bool:
    """Six digits (spaces allowed, as apps show "123 456"); anything else may be a recovery
    code."""
    digits = code.replace(" ", "").strip()
    return len(digits) == DIGITS and digits.isascii() and digits.isdigit()


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code ``code`` is (now's first, then its neighbours), or None."""
    if not is_totp_code(code):
        return None
    wanted = code.replace(" ", "").strip()
    current = int(now // PERIOD)
    for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
        if hmac.compare_digest(code_at(secret, step), wanted):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k7m2x-pq9ra``: typed by people, read back by nobody."""
    return [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_HALF))
            for _ in range(2)
        )
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def recovery_digest(code: str) -> bytes:
    """What is stored for a recovery code; case, spaces and dashes do not matter."""
    canonical = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(canonical.encode("utf-8")).digest()
