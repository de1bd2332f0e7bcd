"""Password policy: 8 characters at least, at most 72 UTF-8 bytes (bcrypt's input limit).

Passwords are NFKC-normalised first (NIST SP 800-63B §5.1.1.2), so the same password typed
on keyboards that compose characters differently hashes the same.
"""

from __future__ import annotations

import unicodedata

from auth_svc.domain.errors import InvalidPassword

MIN_CHARACTERS = 8
MAX_BYTES = 72


def password_bytes(password: str) -> bytes:
    """The bytes that are hashed for ``password``."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def check_new_password(password: str) -> bytes:
    """The bytes to hash for a new password, or :class:`InvalidPassword` with the reason.

    Longer passwords are rejected rather than truncated: a silently truncated password
    would accept any suffix.
    """
    normalised = unicodedata.normalize("NFKC", password)
    encoded = normalised.encode("utf-8")
    if len(normalised) < MIN_CHARACTERS:
        raise InvalidPassword(f"password must be at least {MIN_CHARACTERS} characters long")
    if len(encoded) > MAX_BYTES:
        raise InvalidPassword(
            f"password must be at most {MAX_BYTES} bytes in UTF-8 (it is {len(encoded)})"
        )
    return encoded


def fits_bcrypt(encoded: bytes) -> bool:
    return len(encoded) <= MAX_BYTES
