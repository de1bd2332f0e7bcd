"""A token verifier that remembers what it has verified.

Verifying an EdDSA signature and decoding the claims is the costliest part of authenticating a
call, and a client sends the same access token with every call until it expires. The cache is
keyed by the whole token (signature included), so only byte-identical tokens hit it, and an
entry is used only until the token's ``exp``. The session check in Redis still runs on every
call, so a logout takes effect at once.
"""

from __future__ import annotations

import time

from tollgate_kit.tokens import ACCESS, JwksCache, TokenClaims, TokenVerifier


class CachingTokenVerifier(TokenVerifier):
    max_entries = 10_000

    _verified: dict[tuple[str, str], TokenClaims]

    def __init__(
        self, keys: JwksCache, *, issuer: str, audience: str, leeway_seconds: float = 5.0
    ) -> None:
        super().__init__(keys, issuer=issuer, audience=audience, leeway_seconds=leeway_seconds)
        self._verified = {}

    async def verify(self, token: str, expected_use: str = ACCESS) -> TokenClaims:
        key = (token, expected_use)
        claims = self._verified.get(key)
        if claims is not None:
            if time.time() < claims.expires_at:
                return claims
            del self._verified[key]
        claims = await super().verify(token, expected_use)
        if len(self._verified) >= self.max_entries:
            self._verified.clear()  # crude but bounded; refills at the next call of each client
        self._verified[key] = claims
        return claims
