"""The whole suite as real processes, started once per test session by the same launcher
`make run` uses: free ports, fresh databases on the test PostgreSQL, a fresh Redis prefix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import running_suite

LOGS: dict[str, list[str]] = {}


def _collect(name: str, line: str) -> None:
    LOGS.setdefault(name, []).append(line)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    web_dist = Path(__file__).resolve().parents[2] / "web" / "dist"
    with running_suite(
        "e2e",
        tmp_path_factory.mktemp("stack"),
        env={"GATEWAY_WEB_DIR": str(web_dist)},
        log_sink=_collect,
    ) as suite:
        yield suite


def service_logs(name: str) -> list[str]:
    return list(LOGS.get(name, []))
