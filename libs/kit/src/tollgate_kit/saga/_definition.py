"""What a saga is made of: named steps, each with an optional compensation."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class SagaState(enum.Enum):
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    # A compensation failed permanently: a person has to look (the stuck alert fires).
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (SagaState.COMPLETED, SagaState.COMPENSATED, SagaState.FAILED)


class PermanentFailure(Exception):
    """Raised by a step that can never succeed: the saga compensates what it has done.

    ``reason`` is machine-readable (``WALLET_NOT_EMPTY``) and stored as the saga's last error.
    Every other exception a step raises counts as transient and is retried with backoff.
    """

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step is called with. ``saga_id`` is its idempotency key: a step may run more
    than once (a runner that crashed after the effect, before recording it) and must then
    have its effect once."""

    saga_id: str
    kind: str
    subject: str
    payload: Mapping[str, Any]
    attempt: int
    # Why the saga is compensating (the failed step's reason); empty while it runs forward.
    failure: str = ""


Action = Callable[[StepContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    action: Action
    compensate: Action | None = None


@dataclass(frozen=True, slots=True)
class SagaDefinition:
    kind: str
    steps: Sequence[Step] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"saga {self.kind!r} has no steps")
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"saga {self.kind!r} repeats a step name")

    def step_name(self, index: int) -> str:
        return self.steps[index].name if 0 <= index < len(self.steps) else "end"
