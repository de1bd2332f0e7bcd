"""The restart policy of `make run`: backoff that doubles, a crash loop that stops it."""

from __future__ import annotations

from typing import cast

import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.supervisor import CrashLoop, RestartPolicy, Supervisor


class _FakeStack:
    """Processes that exit when told and record their relaunches (pure logic under test)."""

    def __init__(self) -> None:
        self.dead: dict[str, int] = {}
        self.relaunched: list[str] = []

    def exited(self) -> list[tuple[str, int]]:
        return list(self.dead.items())

    def relaunch(self, name: str) -> None:
        self.dead.pop(name)
        self.relaunched.append(name)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _supervisor(policy: RestartPolicy) -> tuple[Supervisor, _FakeStack, _Clock, list[str]]:
    stack, clock = _FakeStack(), _Clock()
    said: list[str] = []
    return Supervisor(cast(Stack, stack), policy, said.append, clock), stack, clock, said


def test_an_exited_service_is_restarted_after_a_doubling_backoff() -> None:
    supervisor, stack, clock, said = _supervisor(RestartPolicy(backoff_seconds=0.5))
    for expected_delay in (0.5, 1.0, 2.0):
        stack.dead["email"] = -9
        supervisor.check()
        assert said[-1] == f"email exited with code -9; restarting in {expected_delay:g}s"
        clock.now += expected_delay - 0.01
        supervisor.check()
        assert "email" in stack.dead  # not before its backoff is over
        clock.now += 0.01
        supervisor.check()
        assert said[-1] == "email restarted"
    assert stack.relaunched == ["email"] * 3


def test_more_exits_than_allowed_within_the_window_is_a_crash_loop() -> None:
    supervisor, stack, clock, _ = _supervisor(RestartPolicy(max_restarts=2, window_seconds=60))
    for _ in range(2):
        stack.dead["auth"] = 1
        supervisor.check()
        clock.now += 10
        supervisor.check()
    stack.dead["auth"] = 1
    with pytest.raises(CrashLoop, match="auth exited with code 1, 3 times within 60s"):
        supervisor.check()


def test_exits_older_than_the_window_are_forgotten() -> None:
    supervisor, stack, clock, said = _supervisor(RestartPolicy(max_restarts=1, window_seconds=60))
    stack.dead["billing"] = 1
    supervisor.check()
    clock.now += 61
    supervisor.check()
    stack.dead["billing"] = 1
    supervisor.check()  # the first exit is out of the window: a restart, not a crash loop
    assert said[-1] == "billing exited with code 1; restarting in 0.5s"


def test_the_backoff_is_capped() -> None:
    supervisor, *_ = _supervisor(RestartPolicy(backoff_seconds=1, max_backoff_seconds=5))
    assert [supervisor.backoff(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backoff_seconds": 0},
        {"backoff_seconds": 5, "max_backoff_seconds": 1},
        {"max_restarts": -1},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RestartPolicy(**kwargs)  # type: ignore[arg-type]
