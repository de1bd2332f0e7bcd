"""Verification of Tollgate's access and refresh tokens (EdDSA JWTs) against a cached JWKS.

auth-svc signs; the gateway and every service that needs the caller verify with this module,
using only public keys. Algorithms are pinned, so ``alg: none`` and HS256-with-the-public-key
tokens never reach a key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from tollgate_kit.logs import get_logger

log = get_logger(__name__)

ACCESS = "access"
REFRESH = "refresh"
TOKEN_USE_CLAIM = "token_use"
ALGORITHMS = ("EdDSA",)
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "exp", "jti", "sid", TOKEN_USE_CLAIM)

# With no key at all (auth-svc down since start-up), fetches are retried this often at most.
_EMPTY_RETRY_SECONDS = 1.0

JwksFetcher = Callable[[], Awaitable[Sequence[Mapping[str, str]]]]


class TokenError(Exception):
    """A token that must not be accepted; the message is safe to show to the client and
    ``reason`` is machine-readable (``TOKEN_EXPIRED`` or ``TOKEN_INVALID``)."""

    def __init__(self, message: str, reason: str = "TOKEN_INVALID") -> None:
        super().__init__(message)
        self.reason = reason


class KeySetUnavailable(Exception):
    """The key set could not be fetched and no key on hand decides the token: the caller
    should answer "unavailable, retry", never "invalid token"."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    session_id: str
    token_id: str
    token_use: str
    issued_at: int
    expires_at: int
    key_id: str = ""


# The hash tag of every key a session transaction touches (the session, the user's set of
# sessions, the ended-sessions feed and its epoch): on a Redis Cluster they share one slot,
# so ending a session and announcing it stay one MULTI/EXEC.
SESSIONS_TAG = "{auth}"


def session_key(prefix: str, session_id: str) -> str:
    """Redis key of a session; shared by auth-svc (writer) and verifiers (readers)."""
    return f"{prefix}{SESSIONS_TAG}:session:{session_id}"


class JwksCache:
    """Public keys by ``kid``. An unknown ``kid`` triggers a refetch (a key rotation), at most
    once per ``min_refetch_seconds`` so garbage ``kid``s cannot hammer auth-svc."""

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        min_refetch_seconds: float = 30.0,
        max_age_seconds: float = 300.0,
    ) -> None:
        self._fetch = fetch
        self._min_refetch = min_refetch_seconds
        # Past this age the set is refetched even without an unknown kid, so a key that
        # auth-svc withdrew (say, compromised) stops verifying within max_age.
        self._max_age = max_age_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        # The last fetch attempt, successful or not; refetches are spaced from it.
        self._attempted_at = float("-inf")
        self._last_fetch_failed = False
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Fetch the set; raises :class:`KeySetUnavailable` when the fetch fails."""
        previous_attempt, self._attempted_at = self._attempted_at, time.monotonic()
        try:
            jwks = await self._fetch()
        except Exception as err:
            self._last_fetch_failed = True
            raise KeySetUnavailable(f"key set fetch failed: {type(err).__name__}") from err
        except BaseException:
            # Cancelled (the caller's deadline): nothing was learnt, so the next call may try.
            self._attempted_at = previous_attempt
            raise
        keys: dict[str, PyJWK] = {}
        for jwk in jwks:
            data = {k: v for k, v in jwk.items() if v}
            if data.get("alg") in ALGORITHMS and data.get("kid"):
                try:
                    keys[data["kid"]] = PyJWK.from_dict(data)
                except (jwt.PyJWTError, ValueError, TypeError, KeyError) as err:
                    # One bad entry must not take the good keys down with it.
                    log.warning("jwk_skipped", kid=data["kid"], error=type(err).__name__)
        self._keys = keys
        self._fetched_at = time.monotonic()
        self._last_fetch_failed = False

    def knows(self, kid: str) -> bool:
        return kid in self._keys

    async def ensure_fresh(self) -> None:
        """Refetch a set older than max_age; on failure keep the old set and retry after
        min_refetch (an auth-svc outage must not fail every call at once)."""
        if time.monotonic() - self._fetched_at <= self._max_age:
            return
        async with self._lock:
            now = time.monotonic()
            if now - self._fetched_at <= self._max_age:
                return
            since_attempt = now - self._attempted_at
            if self._keys and self._last_fetch_failed and since_attempt < self._min_refetch:
                return  # a recent attempt failed: serve the old set until the next one
            if not self._keys and since_attempt < min(self._min_refetch, _EMPTY_RETRY_SECONDS):
                raise KeySetUnavailable("key set unavailable")
            try:
                await self.refresh()
            except KeySetUnavailable:
                if not self._keys:
                    raise

    async def key(self, kid: str) -> PyJWK | None:
        """The key named ``kid``; None when the (fresh) set has no such key. Raises
        :class:`KeySetUnavailable` when the set could not be fetched to look for it."""
        await self.ensure_fresh()
        found = self._keys.get(kid)
        if found is not None:
            return found
        async with self._lock:
            if kid in self._keys:
                return self._keys[kid]
            if time.monotonic() - self._attempted_at >= self._min_refetch:
                await self.refresh()
            elif self._last_fetch_failed:
                raise KeySetUnavailable("key set unavailable")
        return self._keys.get(kid)


class TokenVerifier:
    """Verifies tokens and remembers the claims of those it accepted.

    A client sends the same access token with every call until it expires, and checking an
    EdDSA signature is the costliest step of authenticating a call. The cache is keyed by the
    whole token (signature included) and its use, and an entry serves only until the token's
    ``exp``. Revocation is not a token property: callers check the session on every call.
    """

    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float = 5.0,
        cache_size: int = 10_000,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._cache_size = cache_size
        self._verified: dict[tuple[str, str], TokenClaims] = {}

    async def verify(self, token: str, expected_use: str = ACCESS) -> TokenClaims:
        key = (token, expected_use)
        claims = self._verified.get(key)
        if claims is not None and time.time() < claims.expires_at:
            await self._keys.ensure_fresh()
            if self._keys.knows(claims.key_id):
                return claims
        self._verified.pop(key, None)
        claims = await self._verify(token, expected_use)
        if len(self._verified) >= self._cache_size:
            self._verified.clear()  # bounded; each client refills it with its next call
        self._verified[key] = claims
        return claims

    async def _verify(self, token: str, expected_use: str) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise TokenError("malformed token") from err
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise TokenError("token algorithm not accepted")
        if not isinstance(kid, str) or not kid:
            raise TokenError("token has no key id")
        key = await self._keys.key(kid)
        if key is None:
            raise TokenError("token signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as err:
            raise TokenError("token expired", "TOKEN_EXPIRED") from err
        except jwt.PyJWTError as err:
            raise TokenError("invalid token") from err
        if claims[TOKEN_USE_CLAIM] != expected_use:
            article = "an" if expected_use[:1] in "aeiou" else "a"
            raise TokenError(f"not {article} {expected_use} token")
        return TokenClaims(
            subject=str(claims["sub"]),
            session_id=str(claims["sid"]),
            token_id=str(claims["jti"]),
            token_use=str(claims[TOKEN_USE_CLAIM]),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            key_id=kid,
        )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
