"""The TOTP second factor: enrollment, its confirmation (with recovery codes), turning it off
and the second step of a login.

Codes are throttled per account (any client address): six digits are guessable only with
very many tries, and those tries may come from many addresses. A TOTP code is accepted once
(the store refuses a step not after the last one accepted); a recovery code once, ever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from auth_svc.domain import totp
from auth_svc.domain.credentials import mfa_changed_message
from auth_svc.domain.errors import (
    MfaAlreadyEnabled,
    MfaChallengeInvalid,
    MfaCodeInvalid,
    MfaNotEnabled,
    TooManyAttempts,
    UserNotFound,
)
from auth_svc.hashing import PasswordHasher
from auth_svc.metrics import AuthMetrics
from auth_svc.signing.issuer import TokenPair
from auth_svc.usecases.audit import audited
from auth_svc.usecases.credentials import CredentialService
from auth_svc.usecases.ports import LoginThrottle, MfaChallenges, SecondFactors, Users
from auth_svc.usecases.sessions import SessionService
from tollgate_kit.tokens import TokenClaims

# Every address counts towards one budget per account.
_ANY_CLIENT = "*"


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_code: str


class MfaService:
    def __init__(
        self,
        *,
        users: Users,
        factors: SecondFactors,
        challenges: MfaChallenges,
        sessions: SessionService,
        credentials: CredentialService,
        hasher: PasswordHasher,
        limiter: LoginThrottle,
        metrics: AuthMetrics,
    ) -> None:
        self._users = users
        self._factors = factors
        self._challenges = challenges
        self._sessions = sessions
        self._credentials = credentials
        self._hasher = hasher
        self._limiter = limiter
        self._metrics = metrics

    async def _throttle(self, user_id: str) -> None:
        if not await self._limiter.allow("mfa:" + user_id, _ANY_CLIENT):
            raise TooManyAttempts("too many codes tried; try again later")

    async def _use_code(self, user_id: str, secret: str, code: str) -> str:
        """Spend ``code`` (a TOTP code of ``secret`` or a recovery code); which kind it was.
        Wrong, replayed and used codes are one error."""
        await self._throttle(user_id)
        if totp.is_totp_code(code):
            step = totp.matching_step(secret, code, time.time())
            if step is not None and await self._factors.accept_step(user_id, step):
                return "totp"
        elif code.strip() and await self._factors.use_recovery_code(
            user_id, totp.recovery_digest(code)
        ):
            return "recovery_code"
        raise MfaCodeInvalid("the code is wrong or was already used")

    async def enroll(self, caller: TokenClaims, client: str) -> Enrollment:
        with audited(self._metrics, "mfa_enroll", client, caller.subject):
            user = await self._users.by_id(caller.subject)
            if user is None:
                raise UserNotFound("user not found")
            secret = totp.new_secret()
            if not await self._factors.begin_enrollment(user.id, secret):
                raise MfaAlreadyEnabled("the second factor is already on; disable it first")
            uri = totp.provisioning_uri(secret, user.email)
            return Enrollment(secret=secret, otpauth_uri=uri, qr_code=totp.qr_code(uri))

    async def confirm(self, caller: TokenClaims, code: str, client: str) -> list[str]:
        """Turn the second factor on; the ten recovery codes, which are not kept."""
        with audited(self._metrics, "mfa_confirm", client, caller.subject):
            state = await self._factors.state(caller.subject)
            user = await self._users.by_id(caller.subject)
            if state is None or user is None:
                raise UserNotFound("user not found")
            if state.secret is not None:
                raise MfaAlreadyEnabled("the second factor is already on")
            if state.pending_secret is None:
                raise MfaNotEnabled("no enrollment to confirm: enroll first")
            await self._throttle(caller.subject)
            step = totp.matching_step(state.pending_secret, code, time.time())
            if step is None:
                raise MfaCodeInvalid("the code is wrong")
            codes = totp.new_recovery_codes()
            digests = [totp.recovery_digest(c) for c in codes]
            notice = mfa_changed_message(user.email, enabled=True)
            if not await self._factors.confirm_enrollment(
                caller.subject, state.pending_secret, step, digests, notice
            ):
                raise MfaCodeInvalid("the enrollment was restarted; use the new secret")
            return codes

    async def disable(self, caller: TokenClaims, password: str, code: str, client: str) -> None:
        with audited(self._metrics, "mfa_disable", client, caller.subject):
            user = await self._credentials.check_password(caller, password, client)
            state = await self._factors.state(user.id)
            if state is None or state.secret is None:
                raise MfaNotEnabled("the second factor is not on")
            await self._use_code(user.id, state.secret, code)
            await self._factors.disable(user.id, mfa_changed_message(user.email, enabled=False))

    async def complete_login(self, challenge: str, code: str, client: str) -> TokenPair:
        """A login's second step: a session once the code is right (the challenge then is
        used up)."""
        with audited(self._metrics, "mfa_login", client) as attempt:
            user_id = await self._challenges.peek(challenge) if challenge.strip() else None
            if user_id is None:
                raise MfaChallengeInvalid("the sign-in has expired; sign in again")
            attempt.user_id = user_id
            state = await self._factors.state(user_id)
            if state is None or state.secret is None:
                raise MfaChallengeInvalid("the sign-in has expired; sign in again")
            attempt.outcome = await self._use_code(user_id, state.secret, code)
            if not await self._challenges.take(challenge):
                raise MfaChallengeInvalid("the sign-in has expired; sign in again")
            return await self._sessions.open_session(user_id)
