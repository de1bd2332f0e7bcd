"""Loaded by pytest before any test is collected.

With ``--import-mode=importlib`` pytest names ``gateway/tests/...`` modules ``gateway.tests…``
and would register the folder ``gateway/`` as a namespace module ``gateway``, hiding the real
package in ``gateway/src/gateway``. Importing the real package first keeps it in place.

Nothing left behind: tests create databases named ``t_*`` and ``e2e_*``
(``tollgate_devstack.testing``) and must drop them. A run that leaves one behind fails,
naming it, so a leak shows the day it appears.
"""

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

import gateway  # noqa: F401
from tollgate_devstack.redis_cluster import redis_cluster
from tollgate_devstack.testing import postgres_server_url, redis_server_url

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


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real three-master Redis Cluster for the whole run (started on first use, stopped at
    the end): its ``REDIS_URL``."""
    with redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as url:
        yield url


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The Redis a test runs on: the test server, or the Redis Cluster for a test
    parametrized with ``pytest.mark.parametrize("redis_url", ["node", "cluster"],
    indirect=True)``."""
    if getattr(request, "param", "node") == "cluster":
        url: str = request.getfixturevalue("redis_cluster_url")
        return url
    return redis_server_url()


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
