"""Email verification tokens: random, single-use, expiring; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from auth_svc.domain.errors import (
    VerificationTokenExpired,
    VerificationTokenUnknown,
    VerificationTokenUsed,
)

TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class VerificationToken:
    token: str  # goes into the mail only
    digest: bytes  # goes into the database


def new_verification_token() -> VerificationToken:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return VerificationToken(token=token, digest=token_digest(token))


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def verification_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/app/verify-email?token={quote(token, safe='')}"


@dataclass(frozen=True, slots=True)
class StoredVerification:
    user_id: str
    expires_at: datetime
    used_at: datetime | None


def check_verification(stored: StoredVerification | None, now: datetime) -> str:
    """The user id a token verifies, or why it cannot be used.

    Unknown token → :class:`VerificationTokenUnknown` (INVALID_ARGUMENT: the link is wrong);
    used or expired → :class:`VerificationTokenUsed` / :class:`VerificationTokenExpired`
    (FAILED_PRECONDITION: the link was right but is no longer valid).
    """
    if stored is None:
        raise VerificationTokenUnknown("unknown verification token")
    if stored.used_at is not None:
        raise VerificationTokenUsed("verification token has already been used")
    if stored.expires_at <= now:
        raise VerificationTokenExpired("verification token has expired")
    return stored.user_id
