"""A LISTEN connection that wakes a background loop on NOTIFY, reopened when lost. Polling
still does the work when it cannot be opened: LISTEN is only the fast path."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from opentelemetry.instrumentation.utils import suppress_instrumentation

from tollgate_kit.db import connect
from tollgate_kit.logs import get_logger
from tollgate_kit.tasks import stop_if_cancelled

log = get_logger(__name__)


class NotifyListener:
    def __init__(self, dsn: str | None, channel: str) -> None:
        self._dsn = dsn
        self._channel = channel
        self._wake = asyncio.Event()
        self._conn: asyncpg.Connection | None = None

    async def serve(
        self,
        work: Callable[[], Awaitable[None]],
        interval: float,
        failed: Callable[[], None],
    ) -> None:
        """The loop of a background worker (the outbox relay, the saga runner) until cancelled:
        make sure the LISTEN connection is open, run one round of ``work``, then sleep until a
        NOTIFY or ``interval`` seconds. A round that raises is handed to ``failed`` (called in
        the ``except`` block, so it may log the exception) and the loop goes on; the connection
        is closed when the loop ends."""
        try:
            while True:
                stop_if_cancelled()
                with suppress_instrumentation():
                    await self.ensure()
                self.clear()
                try:
                    await work()
                except Exception:
                    failed()
                await self.wait(interval)
        finally:
            await self.close()

    def clear(self) -> None:
        """Forget earlier notifications: called before a round looks for work."""
        self._wake.clear()

    async def wait(self, seconds: float) -> None:
        """Until a NOTIFY arrives (or arrived since :meth:`clear`) or ``seconds`` pass."""
        # asyncio.timeout, not wait_for: on Python 3.11 a cancellation that lands as wait_for
        # times out comes back as TimeoutError, which would be suppressed here, and the loop
        # would outlive its service's shutdown.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def ensure(self) -> None:
        """Open (or reopen) the connection; failures are logged, never raised."""
        if self._dsn is None:
            return
        if self._conn is not None and not self._conn.is_closed():
            return
        await self.close()
        try:
            conn = await connect(self._dsn, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as err:
            log.warning("listen_failed", channel=self._channel, error=str(err))
            return
        self._conn = conn  # owned from here on, so a cancellation still closes it
        try:
            await conn.add_listener(self._channel, self._on_notify)
        except (OSError, TimeoutError, asyncpg.PostgresError) as err:
            log.warning("listen_failed", channel=self._channel, error=str(err))
            await self.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await conn.close(timeout=2)
        except asyncio.CancelledError:
            conn.terminate()
            raise
        except Exception:
            conn.terminate()
