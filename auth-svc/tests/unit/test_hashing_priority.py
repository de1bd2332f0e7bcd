"""bcrypt runs at a lower CPU priority than the service's event loop (a login storm must
not take the cores from a wallet read), and still answers correctly."""

from __future__ import annotations

import os
import threading

from auth_svc.hashing import HASHING_NICENESS, PasswordHasher


def _own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_hashing_threads_run_niced_and_the_loop_does_not() -> None:
    before = _own_niceness()
    hasher = await PasswordHasher.create(4)
    try:
        hashed = await hasher.hash(b"correct horse")
        assert await hasher.verify(b"correct horse", hashed)
        assert not await hasher.verify(b"wrong horse", hashed)
        niceness = await hasher._run(_own_niceness)
    finally:
        hasher.close()
    assert niceness == min(before + HASHING_NICENESS, 19)
    assert _own_niceness() == before
