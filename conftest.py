"""Loaded by pytest before any test is collected.

With ``--import-mode=importlib`` pytest names ``gateway/tests/...`` modules ``gateway.tests…``
and would register the folder ``gateway/`` as a namespace module ``gateway``, hiding the real
package in ``gateway/src/gateway``. Importing the real package first keeps it in place.

Nothing left behind: tests create databases named ``t_*`` and ``e2e_*``
(``tollgate_devstack.testing``) and must drop them. A run that leaves one behind fails,
naming it, so a leak shows the day it appears.
"""

import asyncio

import asyncpg
import pytest

import gateway  # noqa: F401
from tollgate_devstack.testing import postgres_server_url

_TEST_DATABASES = r"^(t|e2e)_"
_before: set[str] | None = None


def _test_databases() -> set[str] | None:
    async def names() -> set[str]:
        conn = await asyncpg.connect(postgres_server_url(), timeout=5)
        try:
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname ~ $1", _TEST_DATABASES
            )
            return {row["datname"] for row in rows}
        finally:
            await conn.close()

    try:
        return asyncio.run(names())
    except (OSError, asyncpg.PostgresError):
        return None  # no test server: the tests that need one say so themselves


def pytest_sessionstart(session: pytest.Session) -> None:
    global _before
    _before = _test_databases()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    after = _test_databases()
    if _before is None or after is None:
        return
    left = sorted(after - _before)
    if left:
        session.config.get_terminal_writer().line(
            f"test databases left behind (drop them in the test that made them): {left}",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
