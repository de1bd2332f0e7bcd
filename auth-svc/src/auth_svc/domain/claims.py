"""The claims of Tollgate's access and refresh tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ACCESS = "access"
REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    issuer: str
    audience: str
    access_ttl: timedelta
    refresh_ttl: timedelta


def new_id() -> str:
    return str(uuid.uuid4())


def build_claims(
    policy: TokenPolicy,
    *,
    user_id: str,
    session_id: str,
    token_use: str,
    now: datetime,
    token_id: str | None = None,
) -> dict[str, Any]:
    """Claims ``iss aud sub iat exp jti sid token_use``."""
    if token_use == ACCESS:
        ttl = policy.access_ttl
    elif token_use == REFRESH:
        ttl = policy.refresh_ttl
    else:
        raise ValueError(f"unknown token use {token_use!r}")
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": user_id,
        "iat": issued,
        "exp": issued + int(ttl.total_seconds()),
        "jti": token_id or new_id(),
        "sid": session_id,
        "token_use": token_use,
    }
    return claims
