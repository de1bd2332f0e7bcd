"""Registration (with its welcome mail in the outbox and its sign-up saga), email
verification and ``Me``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from auth_svc.domain.accounts import REGISTRATION_SAGA
from auth_svc.domain.emails import registrable_email
from auth_svc.domain.errors import (
    EmailTaken,
    InvalidEmail,
    InvalidPassword,
    UserNotFound,
    VerificationTokenUnknown,
)
from auth_svc.domain.outbox import welcome_message
from auth_svc.domain.passwords import check_new_password
from auth_svc.domain.verification import (
    new_verification_token,
    token_digest,
    verification_url,
)
from auth_svc.hashing import PasswordHasher
from auth_svc.metrics import AuthMetrics
from auth_svc.usecases.ports import User, Users
from tollgate_kit.logs import get_logger
from tollgate_kit.saga import SagaRecord

log = get_logger(__name__)


class SagaLauncher(Protocol):
    """Runs a committed saga's first attempt at once (``tollgate_kit.saga.SagaRunner``)."""

    def launch(self, saga_id: str, kind: str) -> asyncio.Task[None]: ...

    async def wait_finished(
        self, saga_id: str, within: float, *, first_attempt: bool = False
    ) -> SagaRecord | None: ...


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    public_url: str
    verification_ttl: timedelta
    # Register answers once the sign-up saga's first attempt is over, or after this long.
    sign_up_wait: float = 2.0


class AccountService:
    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        metrics: AuthMetrics,
        policy: AccountPolicy,
        sagas: SagaLauncher,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._metrics = metrics
        self._policy = policy
        self._sagas = sagas

    async def register(self, email: str, password: str) -> User:
        result = "error"
        try:
            try:
                address = registrable_email(email)
            except InvalidEmail:
                result = "invalid_email"
                raise
            try:
                encoded = check_new_password(password)
            except InvalidPassword:
                result = "invalid_password"
                raise
            password_hash = await self._hasher.hash(encoded)
            token = new_verification_token()
            welcome = welcome_message(
                address,
                verification_url(self._policy.public_url, token.token),
                self._policy.verification_ttl,
            )
            try:
                registered = await self._users.register(
                    email=address,
                    password_hash=password_hash,
                    verification_digest=token.digest,
                    verification_ttl=self._policy.verification_ttl,
                    welcome=welcome,
                )
            except EmailTaken:
                result = "email_taken"
                raise
            result = "success"
        finally:
            self._metrics.register.labels(result).inc()
        user = registered.user
        log.info("user_registered", user_id=user.id, saga_id=registered.saga_id)
        # A normal sign-up is ACTIVE when this answers; with billing-svc down the account
        # stays PENDING (login works) and the saga completes once billing is back.
        self._sagas.launch(registered.saga_id, REGISTRATION_SAGA)
        await self._sagas.wait_finished(
            registered.saga_id, self._policy.sign_up_wait, first_attempt=True
        )
        return await self._users.by_id(user.id) or user

    async def me(self, user_id: str) -> User:
        user = await self._users.by_id(user_id)
        if user is None:
            raise UserNotFound("user not found")
        return user

    async def verify_email(self, token: str) -> None:
        if not token.strip():
            raise VerificationTokenUnknown("verification token is required")
        user_id = await self._users.verify_email(token_digest(token.strip()))
        log.info("email_verified", user_id=user_id)
