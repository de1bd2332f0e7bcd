"""Keeps `make run`'s services up: a service that exits is started again after a backoff,
as compose's ``restart: unless-stopped`` would; a crash loop is given up on."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tollgate_devstack.stack import Stack

Report = Callable[[str], None]


@dataclass(frozen=True)
class RestartPolicy:
    # The first restart waits this long; each further exit within the window doubles it.
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 10.0
    # More exits than this within ``window_seconds`` is a crash loop: the launcher stops.
    max_restarts: int = 5
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.backoff_seconds <= 0 or self.max_backoff_seconds < self.backoff_seconds:
            raise ValueError("backoff must be positive and at most max_backoff_seconds")
        if self.max_restarts < 0 or self.window_seconds <= 0:
            raise ValueError("max_restarts must be >= 0 and window_seconds positive")


@dataclass
class _History:
    exits: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


class CrashLoop(RuntimeError):
    pass


class Supervisor:
    """Call :meth:`check` regularly from the thread that started the stack (the services'
    death signal is bound to that thread)."""

    def __init__(
        self,
        stack: Stack,
        policy: RestartPolicy,
        report: Report,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stack = stack
        self._policy = policy
        self._report = report
        self._clock = clock
        self._history: dict[str, _History] = {}

    def check(self) -> None:
        """Schedules a restart for every process that exited, starts those whose backoff is
        over; raises :class:`CrashLoop` when one exited too often."""
        now = self._clock()
        for name, code in self._stack.exited():
            history = self._history.setdefault(name, _History())
            if history.restart_at is not None:
                continue
            history.exits.append(now)
            while history.exits and now - history.exits[0] > self._policy.window_seconds:
                history.exits.popleft()
            if len(history.exits) > self._policy.max_restarts:
                raise CrashLoop(
                    f"{name} exited with code {code}, {len(history.exits)} times within "
                    f"{self._policy.window_seconds:g}s"
                )
            delay = self.backoff(len(history.exits))
            history.restart_at = now + delay
            self._report(f"{name} exited with code {code}; restarting in {delay:g}s")
        for name, history in self._history.items():
            if history.restart_at is not None and now >= history.restart_at:
                history.restart_at = None
                self._stack.relaunch(name)
                self._report(f"{name} restarted")

    def backoff(self, exits: int) -> float:
        """The wait before the restart that follows the ``exits``-th exit in the window."""
        delay = self._policy.backoff_seconds * 2 ** max(exits - 1, 0)
        return float(min(delay, self._policy.max_backoff_seconds))
