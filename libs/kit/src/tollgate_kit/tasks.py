"""Helpers for the services' background tasks (outbox relay, retention purges)."""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Raise CancelledError when this task has been asked to stop.

    A cancellation must end the loop even if a library turned it into something else on the
    way (asyncpg's timeouts on Python 3.11 can surface one as TimeoutError, which the loop
    treats as a transient failure): the task still counts the request.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
