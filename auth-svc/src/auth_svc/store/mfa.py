"""The TOTP second factor in PostgreSQL (``users.mfa_*`` and ``mfa_recovery_codes``) and the
short-lived login challenges in Redis."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from auth_svc.domain.errors import StoreUnavailable
from auth_svc.domain.outbox import OutboxMessage
from auth_svc.store.outbox import enqueue
from auth_svc.usecases.ports import MfaState
from tollgate_kit.db import DATABASE_UNREACHABLE
from tollgate_kit.outages import translate_outages
from tollgate_kit.redis_client import REDIS_UNREACHABLE, RedisClient


@translate_outages(DATABASE_UNREACHABLE, StoreUnavailable)
class MfaStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def state(self, user_id: str) -> MfaState | None:
        row = await self._pool.fetchrow(
            "SELECT mfa_secret, mfa_pending_secret FROM users"
            " WHERE id = $1 AND state IN ('PENDING', 'ACTIVE')",
            uuid.UUID(user_id),
        )
        if row is None:
            return None
        return MfaState(secret=row["mfa_secret"], pending_secret=row["mfa_pending_secret"])

    async def begin_enrollment(self, user_id: str, secret: str) -> bool:
        """Keep ``secret`` as the pending one (replacing an earlier pending one); False when
        the second factor is already on."""
        status = await self._pool.execute(
            "UPDATE users SET mfa_pending_secret = $2 WHERE id = $1 AND mfa_secret IS NULL",
            uuid.UUID(user_id),
            secret,
        )
        return bool(status == "UPDATE 1")

    async def confirm_enrollment(
        self,
        user_id: str,
        secret: str,
        step: int,
        recovery_digests: Sequence[bytes],
        notice: OutboxMessage,
    ) -> bool:
        """Turn the second factor on with the pending ``secret`` (whose code of ``step`` was
        shown) and these recovery codes, and queue ``notice``; False if the pending secret
        changed meanwhile."""
        key = uuid.UUID(user_id)
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE users SET mfa_secret = mfa_pending_secret, mfa_pending_secret = NULL,"
                " mfa_last_step = $3, mfa_enabled_at = now()"
                " WHERE id = $1 AND mfa_secret IS NULL AND mfa_pending_secret = $2",
                key,
                secret,
                step,
            )
            if status != "UPDATE 1":
                return False
            await conn.execute("DELETE FROM mfa_recovery_codes WHERE user_id = $1", key)
            await conn.executemany(
                "INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                [(key, digest) for digest in recovery_digests],
            )
            await enqueue(conn, notice)
        return True

    async def accept_step(self, user_id: str, step: int) -> bool:
        """Record that the code of ``step`` was used; False when it or a later one already
        was (a replay)."""
        status = await self._pool.execute(
            "UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND mfa_secret IS NOT NULL"
            " AND (mfa_last_step IS NULL OR mfa_last_step < $2)",
            uuid.UUID(user_id),
            step,
        )
        return bool(status == "UPDATE 1")

    async def use_recovery_code(self, user_id: str, digest: bytes) -> bool:
        """Spend the unused recovery code with ``digest``; False when there is none."""
        status = await self._pool.execute(
            "UPDATE mfa_recovery_codes SET used_at = now()"
            " WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            uuid.UUID(user_id),
            digest,
        )
        return bool(status == "UPDATE 1")

    async def disable(self, user_id: str, notice: OutboxMessage) -> None:
        """Turn the second factor off, forget its recovery codes, and queue ``notice``."""
        key = uuid.UUID(user_id)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE users SET mfa_secret = NULL, mfa_pending_secret = NULL,"
                " mfa_last_step = NULL, mfa_enabled_at = NULL WHERE id = $1",
                key,
            )
            await conn.execute("DELETE FROM mfa_recovery_codes WHERE user_id = $1", key)
            await enqueue(conn, notice)


@translate_outages(REDIS_UNREACHABLE, StoreUnavailable)
class MfaChallengeStore:
    """A login's pending second step: the SHA-256 of its token → the account's id."""

    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, token: str) -> str:
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return f"{self._prefix}auth:mfa_challenge:{digest}"

    async def create(self, token: str, user_id: str, ttl: timedelta) -> None:
        await self._redis.set(self._key(token), user_id, ex=max(1, int(ttl.total_seconds())))

    async def peek(self, token: str) -> str | None:
        value = await self._redis.get(self._key(token))
        return None if value is None else value.decode() if isinstance(value, bytes) else value

    async def take(self, token: str) -> bool:
        """Use the challenge up; False when it was already used or has expired."""
        return bool(await self._redis.delete(self._key(token)))
