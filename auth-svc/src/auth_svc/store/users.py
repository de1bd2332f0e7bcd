"""Users and their email verification tokens in PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from auth_svc.domain.accounts import REGISTRATION_SAGA, AccountState
from auth_svc.domain.errors import EmailTaken, StoreUnavailable
from auth_svc.domain.outbox import OutboxMessage
from auth_svc.domain.verification import StoredVerification, check_verification
from auth_svc.store.outbox import enqueue
from auth_svc.usecases.ports import Registered, User
from tollgate_kit.db import DATABASE_UNREACHABLE
from tollgate_kit.outages import translate_outages
from tollgate_kit.saga import start_saga

EMAIL_UNIQUE_INDEX = "users_email_lower_key"


_BY_EMAIL = (
    "SELECT id, email, password_hash, email_verified_at, created_at, state,"
    " mfa_secret IS NOT NULL AS mfa_enabled FROM users WHERE lower(email) = lower($1)"
)
_BY_ID = (
    "SELECT id, email, password_hash, email_verified_at, created_at, state,"
    " mfa_secret IS NOT NULL AS mfa_enabled FROM users WHERE id = $1"
)


def _user(row: asyncpg.Record) -> User:
    # A closed account has neither email nor password hash (erased); it matches no login.
    return User(
        id=str(row["id"]),
        email=row["email"] or "",
        password_hash=(row["password_hash"] or "").encode("ascii"),
        email_verified_at=row["email_verified_at"],
        created_at=row["created_at"],
        state=AccountState(row["state"]),
        mfa_enabled=bool(row["mfa_enabled"]),
    )


@translate_outages(DATABASE_UNREACHABLE, StoreUnavailable)
class UserStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def register(
        self,
        *,
        email: str,
        password_hash: bytes,
        verification_digest: bytes,
        verification_ttl: timedelta,
        welcome: OutboxMessage,
    ) -> Registered:
        """Create the user (PENDING), its verification token, its welcome mail (held until the
        sign-up saga releases it) and that saga in one transaction: either all exist
        afterwards or none does."""
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    "INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3) "
                    "RETURNING id, email, password_hash, email_verified_at, created_at, state,"
                    " mfa_secret IS NOT NULL AS mfa_enabled",
                    uuid.uuid4(),
                    email,
                    password_hash.decode("ascii"),
                )
            except asyncpg.UniqueViolationError as err:
                if err.constraint_name == EMAIL_UNIQUE_INDEX:
                    raise EmailTaken("an account with this email already exists") from err
                raise
            if row is None:
                raise RuntimeError("INSERT … RETURNING returned no row")
            user = _user(row)
            await conn.execute(
                "INSERT INTO email_verification_tokens (token_hash, user_id, expires_at) "
                "VALUES ($1, $2, now() + $3)",
                verification_digest,
                uuid.UUID(user.id),
                verification_ttl,
            )
            welcome_id = await enqueue(conn, welcome, held=True)
            saga_id = await start_saga(
                conn,
                REGISTRATION_SAGA,
                user.id,
                {"welcome_message_id": welcome_id, "sign_up_credit": True},
            )
        return Registered(user=user, saga_id=saga_id)

    async def by_email(self, email: str) -> User | None:
        row = await self._pool.fetchrow(
            _BY_EMAIL,
            email,
        )
        return None if row is None else _user(row)

    async def replace_password_hash(self, user_id: str, old: bytes, new: bytes) -> bool:
        """Store ``new`` for the user if the stored hash is still ``old`` (a password change
        in between wins); whether it was stored."""
        status = await self._pool.execute(
            "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
            uuid.UUID(user_id),
            old.decode("ascii"),
            new.decode("ascii"),
        )
        return bool(status == "UPDATE 1")

    async def by_id(self, user_id: str) -> User | None:
        try:
            key = uuid.UUID(user_id)
        except ValueError:
            return None
        row = await self._pool.fetchrow(
            _BY_ID,
            key,
        )
        return None if row is None else _user(row)

    async def verify_email(self, digest: bytes) -> str:
        """Consume the verification token with SHA-256 ``digest``; the user id it verified.
        The row lock makes two concurrent uses of one token see each other."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT user_id, expires_at, used_at, now() AS now "
                "FROM email_verification_tokens WHERE token_hash = $1 FOR UPDATE",
                digest,
            )
            stored = None
            if row is not None:
                stored = StoredVerification(
                    user_id=str(row["user_id"]),
                    expires_at=row["expires_at"],
                    used_at=row["used_at"],
                )
            now: datetime = row["now"] if row is not None else datetime.now(UTC)
            user_id = check_verification(stored, now)
            await conn.execute(
                "UPDATE email_verification_tokens SET used_at = now() WHERE token_hash = $1",
                digest,
            )
            await conn.execute(
                "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) "
                "WHERE id = $1",
                uuid.UUID(user_id),
            )
        return user_id
