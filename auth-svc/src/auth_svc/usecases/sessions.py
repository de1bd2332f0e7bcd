"""Login, refresh rotation with reuse detection, logout and the user's session list."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth_svc.domain.accounts import AccountState
from auth_svc.domain.claims import new_id
from auth_svc.domain.emails import login_budget_key, normalise_email
from auth_svc.domain.errors import (
    AccountClosing,
    InvalidCredentials,
    InvalidEmail,
    InvalidToken,
    RefreshTokenReused,
    SessionEnded,
    SessionNotFound,
    StoreUnavailable,
    TooManyAttempts,
)
from auth_svc.domain.passwords import password_bytes
from auth_svc.domain.sessions import PresentedRefresh, Rotation, SessionState
from auth_svc.hashing import PasswordHasher
from auth_svc.metrics import AuthMetrics
from auth_svc.signing.issuer import TokenIssuer, TokenPair
from auth_svc.usecases.ports import LoginThrottle, MfaChallenges, Sessions, Users
from tollgate_kit.logs import get_logger
from tollgate_kit.tokens import REFRESH, TokenClaims, TokenError, TokenVerifier

log = get_logger(__name__)

CHALLENGE_BYTES = 32


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The password was right and the account has a second factor: the login goes on with
    this challenge (:meth:`auth_svc.usecases.mfa.MfaService.complete_login`)."""

    token: str


class SessionService:
    def __init__(
        self,
        *,
        users: Users,
        sessions: Sessions,
        hasher: PasswordHasher,
        limiter: LoginThrottle,
        issuer: TokenIssuer,
        verifier: TokenVerifier,
        metrics: AuthMetrics,
        challenges: MfaChallenges,
        challenge_ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self._challenges = challenges
        self._challenge_ttl = challenge_ttl
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._limiter = limiter
        self._issuer = issuer
        self._verifier = verifier
        self._metrics = metrics

    async def login(self, email: str, password: str, client: str) -> TokenPair | MfaRequired:
        """Unknown email and wrong password take the same path: one bcrypt check (against a
        dummy hash when there is no user) and one answer. An account with a second factor
        gets a challenge instead of a session."""
        result = "error"
        try:
            address: str | None = normalise_email(email)
        except InvalidEmail:
            address = None
        try:
            # Counted per account, not per spelling, and the same whether the account exists
            # (a budget keyed on the user id would tell): see login_budget_key.
            if not await self._limiter.allow(login_budget_key(address or email), client):
                result = "rate_limited"
                raise TooManyAttempts("too many login attempts; try again later")
            user = await self._users.by_email(address) if address else None
            ok = await self._hasher.verify(
                password_bytes(password), user.password_hash if user else None
            )
            if user is None or not ok:
                result = "invalid_credentials"
                raise InvalidCredentials("invalid email or password")
            if user.state is AccountState.CLOSING:
                result = "account_closing"
                raise AccountClosing("the account is being closed")
            if self._hasher.needs_rehash(user.password_hash):
                await self._rehash(user.id, user.password_hash, password_bytes(password))
            if user.mfa_enabled:
                challenge = secrets.token_urlsafe(CHALLENGE_BYTES)
                await self._challenges.create(challenge, user.id, self._challenge_ttl)
                result = "mfa_required"
                log.info("login_needs_second_factor", user_id=user.id)
                return MfaRequired(challenge)
            pair = await self.open_session(user.id)
            result = "success"
        finally:
            self._metrics.login.labels(result).inc()
        return pair

    async def open_session(self, user_id: str) -> TokenPair:
        """A new session for ``user_id``, whose credentials were checked, and its tokens."""
        now = time.time()
        session_id, refresh_jti = new_id(), new_id()
        await self._sessions.create(
            SessionState(
                session_id=session_id,
                user_id=user_id,
                created_at=now,
                last_refreshed_at=now,
                refresh_jti=refresh_jti,
                family=refresh_jti,
            )
        )
        pair = self._issuer.issue_pair(
            user_id=user_id,
            session_id=session_id,
            refresh_jti=refresh_jti,
            now=datetime.fromtimestamp(now, UTC),
        )
        log.info("login_succeeded", user_id=user_id, session_id=session_id)
        return pair

    async def _rehash(self, user_id: str, stored: bytes, password: bytes) -> None:
        """Bring a hash made at another bcrypt cost to the configured one, now that the
        password is known to be right. Opportunistic: if the database refuses the write (a
        standby during a failover), the login still succeeds and a later one retries."""
        new_hash = await self._hasher.hash(password)
        try:
            stored_new = await self._users.replace_password_hash(user_id, stored, new_hash)
        except StoreUnavailable as err:
            log.warning("password_rehash_failed", user_id=user_id, error=type(err).__name__)
            return
        if stored_new:
            log.info("password_rehashed", user_id=user_id)

    async def refresh(self, refresh_token: str) -> TokenPair:
        result = "error"
        try:
            try:
                claims = await self._verifier.verify(refresh_token, REFRESH)
            except TokenError as err:
                result = "invalid_token"
                raise InvalidToken(str(err)) from err
            new_jti = new_id()
            now = time.time()
            presented = PresentedRefresh(
                user_id=claims.subject, session_id=claims.session_id, token_id=claims.token_id
            )
            decision = await self._sessions.rotate(presented, new_jti, now)
            if decision is Rotation.ENDED:
                result = "session_ended"
                raise SessionEnded("session has ended")
            if decision is Rotation.REUSED:
                result = "reused"
                log.warning(
                    "refresh_token_reused",
                    user_id=claims.subject,
                    session_id=claims.session_id,
                )
                raise RefreshTokenReused("refresh token was already used; the session is revoked")
            pair = self._issuer.issue_pair(
                user_id=claims.subject,
                session_id=claims.session_id,
                refresh_jti=new_jti,
                now=datetime.fromtimestamp(now, UTC),
            )
            result = "success"
        finally:
            self._metrics.refresh.labels(result).inc()
        return pair

    async def logout(self, caller: TokenClaims) -> None:
        await self._sessions.delete(caller.session_id, caller.subject)
        log.info("logged_out", user_id=caller.subject, session_id=caller.session_id)

    async def list_sessions(self, caller: TokenClaims) -> list[SessionState]:
        return await self._sessions.list_for_user(caller.subject)

    async def end_all(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of the user at once (account closure, a password reset), or
        every one but ``keep`` (a password change); how many ended."""
        ended = await self._sessions.delete_all(user_id, keep=keep)
        log.info("sessions_ended", user_id=user_id, sessions=len(ended))
        return len(ended)

    async def revoke(self, caller: TokenClaims, session_id: str) -> None:
        """End one of the caller's sessions; another user's session is "not found"."""
        state = await self._sessions.get(session_id) if session_id else None
        if state is None or state.user_id != caller.subject:
            raise SessionNotFound("no such session")
        await self._sessions.delete(state.session_id, state.user_id)
        log.info("session_revoked", user_id=caller.subject, session_id=session_id)
