"""bcrypt, run in worker threads so the event loop never blocks on a hash."""

from __future__ import annotations

import asyncio
import secrets

import bcrypt

from auth_svc.domain.passwords import fits_bcrypt


class PasswordHasher:
    def __init__(self, cost: int, dummy_hash: bytes) -> None:
        self._cost = cost
        self._dummy_hash = dummy_hash

    @classmethod
    async def create(cls, cost: int) -> PasswordHasher:
        """A hasher with a dummy hash at ``cost``: checked when the email is unknown, so an
        unknown email costs the same time as a wrong password."""
        dummy = await asyncio.to_thread(
            bcrypt.hashpw, secrets.token_bytes(16).hex().encode(), bcrypt.gensalt(cost)
        )
        return cls(cost, dummy)

    async def hash(self, password: bytes) -> bytes:
        if not fits_bcrypt(password):
            raise ValueError("bcrypt takes at most 72 bytes")
        return await asyncio.to_thread(bcrypt.hashpw, password, bcrypt.gensalt(self._cost))

    async def verify(self, password: bytes, hashed: bytes | None) -> bool:
        """Check ``password`` against ``hashed``; with ``hashed=None`` (no such user) the same
        work is done against the dummy hash and the answer is False."""
        if not fits_bcrypt(password):
            # Registration never accepts such a password; still spend one hash of time.
            await asyncio.to_thread(bcrypt.checkpw, password[:72], self._dummy_hash)
            return False
        if hashed is None:
            await asyncio.to_thread(bcrypt.checkpw, password, self._dummy_hash)
            return False
        return await asyncio.to_thread(bcrypt.checkpw, password, hashed)
