"""bcrypt, run in worker threads so the event loop never blocks on a hash.

The threads run at a lower CPU priority (``nice`` +10, per thread): a storm of logins
would otherwise take every core from the requests that need a millisecond (a wallet read,
a charge) on the same host. bcrypt then uses what the others leave, which, on a host that
does little else, is all of it: logins keep the bcrypt bound, wallet reads keep their
latency (bench/rest_charge.py --storm). The pool has a thread per core this process may
run on (its affinity, as a container sets it), not per core of the host.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt

from auth_svc.domain.passwords import fits_bcrypt

HASHING_NICENESS = 10

T = TypeVar("T")


def _lower_priority() -> None:
    """Runs in each new hashing thread: Linux schedules threads, so this one thread's
    niceness rises (never needs privileges) and the service's event loop keeps its own."""
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(current + HASHING_NICENESS, 19))
    except OSError:
        pass  # not Linux, or not allowed: hashing still works at normal priority


class PasswordHasher:
    def __init__(self, cost: int, dummy_hash: bytes, pool: ThreadPoolExecutor) -> None:
        self._cost = cost
        self._dummy_hash = dummy_hash
        self._pool = pool

    @classmethod
    async def create(cls, cost: int) -> PasswordHasher:
        """A hasher with a dummy hash at ``cost``: checked when the email is unknown, so an
        unknown email costs the same time as a wrong password."""
        pool = ThreadPoolExecutor(
            # The cores this process may run on (a container's affinity), not the host's.
            max_workers=len(os.sched_getaffinity(0)) or 1,
            thread_name_prefix="bcrypt",
            initializer=_lower_priority,
        )
        dummy = await asyncio.get_running_loop().run_in_executor(
            pool, bcrypt.hashpw, secrets.token_bytes(16).hex().encode(), bcrypt.gensalt(cost)
        )
        return cls(cost, dummy, pool)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def hash(self, password: bytes) -> bytes:
        if not fits_bcrypt(password):
            raise ValueError("bcrypt takes at most 72 bytes")
        return await self._run(bcrypt.hashpw, password, bcrypt.gensalt(self._cost))

    async def verify(self, password: bytes, hashed: bytes | None) -> bool:
        """Check ``password`` against ``hashed``; with ``hashed=None`` (no such user) the same
        work is done against the dummy hash and the answer is False."""
        if not fits_bcrypt(password):
            # Registration never accepts such a password; still spend one hash of time.
            await self._run(bcrypt.checkpw, password[:72], self._dummy_hash)
            return False
        if hashed is None:
            await self._run(bcrypt.checkpw, password, self._dummy_hash)
            return False
        return await self._run(self._check_at_current_cost, password, hashed)

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
