"""What auth's use cases need from storage, declared here and implemented by ``store/``
(PostgreSQL users, Redis sessions and login throttle): the ports, and the records that cross
them."""

from __future__ import annotations

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

    async def delete_all(self, user_id: str) -> list[str]: ...

    async def list_for_user(self, user_id: str) -> list[SessionState]: ...


class LoginThrottle(Protocol):
    async def allow(self, account: str, client: str) -> bool: ...
