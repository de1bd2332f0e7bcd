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
        return await asyncio.to_thread(self._check_at_current_cost, password, hashed)

    def needs_rehash(self, hashed: bytes) -> bool:
        """True when ``hashed`` was made at another cost than the configured one: rehash it
        on the next successful login, so stored hashes follow a cost change."""
        return cost_of(hashed) != self._cost

    def _check_at_current_cost(self, password: bytes, hashed: bytes) -> bool:
        """``checkpw``, and when a hash made at a lower cost than today's does not match, the
        time a check at today's cost would have taken.

        Unknown emails are checked against a dummy at today's cost; without this, after a
        cost increase a wrong password for an existing account would answer measurably
        faster, and timing would tell which accounts exist. Each cost step doubles the work,
        so 2^(today - stored) - 1 more checks at the stored cost make up the difference.
        """
        if bcrypt.checkpw(password, hashed):
            return True
        stored = cost_of(hashed)
        if stored is not None and stored < self._cost:
            for _ in range(2 ** (self._cost - stored) - 1):
                bcrypt.checkpw(password, hashed)
        return False


def cost_of(hashed: bytes) -> int | None:
    """The cost factor of a modular-crypt bcrypt hash (``$2b$12$…`` → 12), None if unreadable."""
    parts = hashed.split(b"$")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    return int(parts[2])
