"""Signs access and refresh tokens with the newest key of the key set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from auth_svc.domain.claims import ACCESS, REFRESH, TokenPolicy, build_claims
from auth_svc.signing.keyset import ALGORITHM, KeySet


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    refresh_jti: str
    expires_in: int


class TokenIssuer:
    def __init__(self, keys: KeySet, policy: TokenPolicy) -> None:
        self._keys = keys
        self._policy = policy

    @property
    def policy(self) -> TokenPolicy:
        return self._policy

    def sign(self, claims: dict[str, Any]) -> str:
        key = self._keys.signing_key
        return jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"}
        )

    def issue_pair(
        self, *, user_id: str, session_id: str, refresh_jti: str, now: datetime
    ) -> TokenPair:
        access = build_claims(
            self._policy, user_id=user_id, session_id=session_id, token_use=ACCESS, now=now
        )
        refresh = build_claims(
            self._policy,
            user_id=user_id,
            session_id=session_id,
            token_use=REFRESH,
            now=now,
            token_id=refresh_jti,
        )
        return TokenPair(
            access_token=self.sign(access),
            refresh_token=self.sign(refresh),
            refresh_jti=refresh_jti,
            expires_in=int(self._policy.access_ttl.total_seconds()),
        )
