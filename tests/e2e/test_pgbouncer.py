"""PgBouncer in transaction pooling mode in front of PostgreSQL (Debian's ``pgbouncer``, started
by the test): forty service replicas' pools fit in a database limited to fifty connections,
and the whole suite works through it (asyncpg with its statement cache off)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from auth_svc.config import AuthSettings
from tollgate_devstack.pgbouncer import POOLED_DSN_OPTIONS, pgbouncer, pgbouncer_binary
from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import (
    postgres_server_url,
    running_suite,
    through_port,
    unique_name,
    with_database,
)
from tollgate_kit.db import create_pool

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(pgbouncer_binary() is None, reason="needs Debian's pgbouncer"),
]

REPLICAS = 40
DATABASE_LIMIT = 50
PASSWORD = "correct horse battery"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(postgres_server_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def limited_database() -> Iterator[tuple[str, str]]:
    """A database that takes at most fifty connections, and a role (not a superuser: they
    are exempt from the limit) that owns it: (database, role)."""
    role, database = unique_name("t_pgb_role"), unique_name("t_pgb")
    asyncio.run(_admin(f'CREATE ROLE "{role}" LOGIN'))
    try:
        asyncio.run(
            _admin(f'CREATE DATABASE "{database}" OWNER "{role}" CONNECTION LIMIT {DATABASE_LIMIT}')
        )
        try:
            yield database, role
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        asyncio.run(_admin(f'DROP ROLE IF EXISTS "{role}"'))


def _as(role: str, database: str, port: int | None = None) -> str:
    server = urlsplit(with_database(postgres_server_url(), database))
    dsn = server._replace(netloc=f"{role}@{server.hostname}:{server.port or 5432}").geturl()
    return through_port(dsn, port) if port is not None else dsn


async def _server_connections(database: str) -> int:
    conn = await asyncpg.connect(postgres_server_url())
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
        )
        return count
    finally:
        await conn.close()


async def _pools(dsn: str, count: int, size: int) -> list[asyncpg.Pool]:
    pools: list[asyncpg.Pool] = []
    try:
        for _ in range(count):
            pool = await create_pool(dsn, min_size=size, max_size=size)
            pools.append(pool)
    except BaseException:
        await asyncio.gather(*(pool.close() for pool in pools))
        raise
    return pools


async def _busy(pool: asyncpg.Pool, size: int) -> list[int]:
    """Every connection of the pool at work at once: a transaction with a prepared query."""

    async def one(n: int) -> int:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_sleep(0.02)")
            value: int = await conn.fetchval("SELECT $1::int + 1", n)
            return value

    return await asyncio.gather(*(one(n) for n in range(size)))


def test_forty_replicas_pools_fit_in_a_database_limited_to_fifty_connections(
    limited_database: tuple[str, str], tmp_path: Path
) -> None:
    database, role = limited_database
    size = AuthSettings().database_pool_size  # what each service replica opens

    async def direct() -> None:
        # Without a pooler the database refuses the sixth replica's pool.
        # (_pools closes what it opened before raising.)
        with pytest.raises(asyncpg.exceptions.TooManyConnectionsError):
            await _pools(_as(role, database), REPLICAS, size)

    asyncio.run(direct())

    with pgbouncer(tmp_path, default_pool_size=40, max_db_connections=40, users=[role]) as port:

        async def pooled() -> int:
            dsn = f"{_as(role, database, port)}?{POOLED_DSN_OPTIONS}"
            pools = await _pools(dsn, REPLICAS, size)
            try:
                results = await asyncio.gather(*(_busy(pool, size) for pool in pools))
                assert results == [list(range(1, size + 1))] * REPLICAS
                # Every replica's pool holds all its connections, the database sees few.
                assert sum(pool.get_size() for pool in pools) == REPLICAS * size
                return await _server_connections(database)
            finally:
                await asyncio.gather(*(pool.close() for pool in pools))

        assert asyncio.run(pooled()) <= 40 < DATABASE_LIMIT


@pytest.fixture(scope="module")
def bounced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, int]]:
    """The suite with every service's database connections through one PgBouncer."""
    with (
        pgbouncer(tmp_path_factory.mktemp("pgbouncer"), default_pool_size=10) as port,
        running_suite(
            "pgb",
            tmp_path_factory.mktemp("stack"),
            database_ports={"auth": port, "billing": port, "email": port},
            database_options=POOLED_DSN_OPTIONS,
            log_sink=lambda _n, _l: None,
        ) as stack,
    ):
        yield stack, port


def _transactions_through(port: int, database: str) -> int:
    """PgBouncer's own count of the transactions it pooled for ``database``."""
    user = urlsplit(postgres_server_url()).username or "postgres"
    shown = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-At", "-F", "|", "pgbouncer"],
        input="SHOW STATS;\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in shown.splitlines():
        fields = line.split("|")
        if fields[0] == database:
            return int(fields[1])  # total_xact_count
    return 0


def test_the_suite_works_through_pgbouncer_in_transaction_mode(
    bounced: tuple[Stack, int],
) -> None:
    stack, port = bounced
    billing = stack.config.database_names["billing"]
    before = _transactions_through(port, billing)
    email = f"pgb-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=stack.http_url("gateway"), timeout=10) as api:
        assert api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        for _ in range(3):  # the same statements again: no cached statement may be reused
            key = {**auth, "Idempotency-Key": uuid.uuid4().hex}
            top_up = api.post("/v1/wallet/top-ups", json={"amount": "1000"}, headers=key)
            assert top_up.status_code == 200, top_up.text
            key = {**auth, "Idempotency-Key": uuid.uuid4().hex}
            charge = api.post(
                "/v1/wallet/charges",
                json={"amount": "300", "description": "through the pooler"},
                headers=key,
            )
            assert charge.status_code == 200, charge.text
            charged = charge.json()["transaction"]["id"]
            key = {**auth, "Idempotency-Key": uuid.uuid4().hex}
            refund = api.post(
                f"/v1/wallet/charges/{charged}/refunds", json={"amount": "100"}, headers=key
            )
            assert refund.status_code == 200, refund.text
        wallet = api.get("/v1/wallet", headers=auth)
        assert wallet.status_code == 200
        assert wallet.json()["balance"] == str(3 * (1000 - 300 + 100))
    assert _transactions_through(port, billing) > before
