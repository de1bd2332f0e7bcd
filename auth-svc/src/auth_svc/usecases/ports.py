"""What auth's use cases need from storage, declared here and implemented by ``store/``
(PostgreSQL users, Redis sessions and login throttle): the ports, and the records that cross
them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from auth_svc.domain.accounts import AccountState
from auth_svc.domain.outbox import OutboxMessage
from auth_svc.domain.sessions import PresentedRefresh, Rotation, SessionState


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    password_hash: bytes
    email_verified_at: datetime | None
    created_at: datetime
    state: AccountState = AccountState.ACTIVE
    # Login asks for a TOTP code (or a recovery code) after the password.
    mfa_enabled: bool = False


@dataclass(frozen=True, slots=True)
class Registered:
    user: User
    # The sign-up saga (open the wallet, release the welcome mail, activate).
    saga_id: str


class Users(Protocol):
    async def register(
        self,
        *,
        email: str,
        password_hash: bytes,
        verification_digest: bytes,
        verification_ttl: timedelta,
        welcome: OutboxMessage,
    ) -> Registered: ...

    async def by_email(self, email: str) -> User | None: ...

    async def by_id(self, user_id: str) -> User | None: ...

    async def replace_password_hash(self, user_id: str, old: bytes, new: bytes) -> bool: ...

    async def verify_email(self, digest: bytes) -> str: ...


class Sessions(Protocol):
    async def create(self, state: SessionState) -> None: ...

    async def get(self, session_id: str) -> SessionState | None: ...

    async def rotate(self, presented: PresentedRefresh, new_jti: str, now: float) -> Rotation: ...

    async def delete(self, session_id: str, user_id: str) -> None: ...

    async def delete_all(self, user_id: str, *, keep: str | None = None) -> list[str]: ...

    async def list_for_user(self, user_id: str) -> list[SessionState]: ...


class LoginThrottle(Protocol):
    async def allow(self, account: str, client: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class MfaState:
    secret: str | None  # the confirmed TOTP secret: the second factor is on
    pending_secret: str | None  # an enrollment waiting for its first code


class Credentials(Protocol):
    async def issue_password_reset(
        self, email: str, digest: bytes, ttl: timedelta, mail: OutboxMessage
    ) -> str | None: ...

    async def reset_password(
        self, digest: bytes, password_hash: bytes, notice: Callable[[str], OutboxMessage]
    ) -> str: ...

    async def change_password(
        self, user_id: str, old: bytes, new: bytes, notice: OutboxMessage
    ) -> bool: ...

    async def request_email_change(
        self,
        user_id: str,
        new_email: str,
        digest: bytes | None,
        ttl: timedelta,
        mails: Sequence[OutboxMessage],
    ) -> None: ...

    async def change_email(self, digest: bytes) -> tuple[str, str]: ...


class SecondFactors(Protocol):
    async def state(self, user_id: str) -> MfaState | None: ...

    async def begin_enrollment(self, user_id: str, secret: str) -> bool: ...

    async def confirm_enrollment(
        self,
        user_id: str,
        secret: str,
        step: int,
        recovery_digests: Sequence[bytes],
        notice: OutboxMessage,
    ) -> bool: ...

    async def accept_step(self, user_id: str, step: int) -> bool: ...

    async def use_recovery_code(self, user_id: str, digest: bytes) -> bool: ...

    async def disable(self, user_id: str, notice: OutboxMessage) -> None: ...


class MfaChallenges(Protocol):
    async def create(self, token: str, user_id: str, ttl: timedelta) -> None: ...

    async def peek(self, token: str) -> str | None: ...

    async def take(self, token: str) -> bool: ...
