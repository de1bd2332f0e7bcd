"""Password reset, password change and email change.

Each attempt leaves an audit line and a count (:mod:`auth_svc.usecases.audit`). Checking a
password here counts against the same budget as a login with it (per account and client
address), so these calls are no way around the login limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from auth_svc.domain.credentials import (
    app_link,
    email_change_message,
    email_change_requested_message,
    email_change_taken_message,
    password_changed_message,
    password_reset_message,
)
from auth_svc.domain.emails import login_budget_key, normalise_email, registrable_email
from auth_svc.domain.errors import (
    EmailChangeTokenInvalid,
    InvalidCredentials,
    InvalidEmail,
    ResetTokenInvalid,
    TooManyAttempts,
    UserNotFound,
)
from auth_svc.domain.passwords import check_new_password, password_bytes
from auth_svc.domain.verification import new_verification_token, token_digest
from auth_svc.hashing import PasswordHasher
from auth_svc.metrics import AuthMetrics
from auth_svc.usecases.audit import audited
from auth_svc.usecases.ports import Credentials, LoginThrottle, User, Users
from auth_svc.usecases.sessions import SessionService
from tollgate_kit.tokens import TokenClaims

RESET_SCREEN = "reset-password"
EMAIL_CHANGE_SCREEN = "confirm-email-change"


@dataclass(frozen=True, slots=True)
class CredentialPolicy:
    public_url: str
    reset_ttl: timedelta = timedelta(minutes=30)
    email_change_ttl: timedelta = timedelta(hours=24)


class CredentialService:
    def __init__(
        self,
        *,
        users: Users,
        credentials: Credentials,
        sessions: SessionService,
        hasher: PasswordHasher,
        limiter: LoginThrottle,
        metrics: AuthMetrics,
        policy: CredentialPolicy,
    ) -> None:
        self._users = users
        self._credentials = credentials
        self._sessions = sessions
        self._hasher = hasher
        self._limiter = limiter
        self._metrics = metrics
        self._policy = policy

    async def _throttle(self, budget: str, client: str) -> None:
        if not await self._limiter.allow(budget, client):
            raise TooManyAttempts("too many attempts; try again later")

    async def check_password(self, caller: TokenClaims, password: str, client: str) -> User:
        """The caller's account once ``password`` is its password, counted as a login."""
        user = await self._users.by_id(caller.subject)
        if user is None:
            raise UserNotFound("user not found")
        await self._throttle(login_budget_key(user.email), client)
        if not await self._hasher.verify(password_bytes(password), user.password_hash or None):
            raise InvalidCredentials("wrong password")
        return user

    async def request_password_reset(self, email: str, client: str) -> None:
        """Mail a reset link when an account has ``email``. The same work is done (a token
        made and hashed, the same statements) and the same answer given when none has."""
        with audited(self._metrics, "password_reset_request", client) as attempt:
            address = normalise_email(email)
            # Its own budget, keyed like the login's (per account spelling and client).
            await self._throttle("reset:" + login_budget_key(address), client)
            token = new_verification_token()
            mail = password_reset_message(
                address,
                app_link(self._policy.public_url, RESET_SCREEN, token.token),
                self._policy.reset_ttl,
            )
            attempt.user_id = await self._credentials.issue_password_reset(
                address, token.digest, self._policy.reset_ttl, mail
            )
            attempt.outcome = "sent" if attempt.user_id else "unknown_email"

    async def confirm_password_reset(self, token: str, new_password: str, client: str) -> None:
        """Set the password with a reset token; every session of the account ends."""
        with audited(self._metrics, "password_reset", client) as attempt:
            if not token.strip():
                raise ResetTokenInvalid("the reset token is required")
            new_hash = await self._hasher.hash(check_new_password(new_password))
            attempt.user_id = await self._credentials.reset_password(
                token_digest(token.strip()), new_hash, password_changed_message
            )
            await self._sessions.end_all(attempt.user_id)

    async def change_password(
        self, caller: TokenClaims, current: str, new_password: str, client: str
    ) -> None:
        """Replace the caller's password; every other session ends, the caller's stays."""
        with audited(self._metrics, "password_change", client, caller.subject) as attempt:
            user = await self.check_password(caller, current, client)
            new_hash = await self._hasher.hash(check_new_password(new_password))
            changed = await self._credentials.change_password(
                user.id, user.password_hash, new_hash, password_changed_message(user.email)
            )
            if not changed:
                raise InvalidCredentials("the password was changed meanwhile; sign in again")
            attempt.outcome = "success"
            await self._sessions.end_all(user.id, keep=caller.session_id)

    async def request_email_change(
        self, caller: TokenClaims, password: str, new_email: str, client: str
    ) -> None:
        """Mail a link to ``new_email`` and a notice to the current address. When another
        account has ``new_email`` the answer is the same; its owner is told by mail, and
        nobody else."""
        with audited(self._metrics, "email_change_request", client, caller.subject) as attempt:
            user = await self.check_password(caller, password, client)
            address = registrable_email(new_email)
            if address.lower() == user.email.lower():
                raise InvalidEmail("that is already the account's address")
            taken = await self._users.by_email(address) is not None
            mails = [email_change_requested_message(user.email)]
            digest = None
            if taken:
                mails.append(email_change_taken_message(address))
            else:
                token = new_verification_token()
                digest = token.digest
                link = app_link(self._policy.public_url, EMAIL_CHANGE_SCREEN, token.token)
                mails.append(email_change_message(address, link, self._policy.email_change_ttl))
            await self._credentials.request_email_change(
                user.id, address, digest, self._policy.email_change_ttl, mails
            )
            attempt.outcome = "taken" if taken else "sent"

    async def confirm_email_change(self, token: str, client: str) -> None:
        with audited(self._metrics, "email_change", client) as attempt:
            if not token.strip():
                raise EmailChangeTokenInvalid("the email change token is required")
            attempt.user_id, _ = await self._credentials.change_email(token_digest(token.strip()))
