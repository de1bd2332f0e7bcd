"""The whole suite as real processes, started once per test session by the same launcher
`make run` uses: free ports, fresh databases on the test PostgreSQL, a fresh Redis prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tollgate_devstack.services import available_services
from tollgate_devstack.stack import Stack, StackConfig, port_keys
from tollgate_devstack.testing import (
    free_port,
    postgres_server_url,
    redis_server_url,
    temp_redis_prefix,
    unique_name,
)

LOGS: dict[str, list[str]] = {}


def _collect(name: str, line: str) -> None:
    LOGS.setdefault(name, []).append(line)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    specs = available_services()
    prefix_cm = temp_redis_prefix("e2e")
    prefix = asyncio.run(prefix_cm.__aenter__())
    config = StackConfig(
        database_url=postgres_server_url(),
        redis_url=redis_server_url(),
        data_dir=Path(tmp_path_factory.mktemp("stack")),
        database_names={
            spec.name: unique_name(f"e2e_{spec.name}") for spec in specs if spec.database
        },
        redis_key_prefix=prefix,
        ports={key: free_port() for key in port_keys(specs)},
        env={
            "AUTH_BCRYPT_COST": "4",
            "AUTH_OUTBOX_POLL_SECONDS": "0.2",
            "AUTH_OUTBOX_BACKOFF_MAX_SECONDS": "1",
            "GATEWAY_WORKERS": "1",
            "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
            "GATEWAY_RATE_LIMIT_BURST": "100000",
            # The limiters themselves are tested against a second, strict gateway.
            "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": "100000",
            "GATEWAY_LOGIN_RATE_LIMIT_BURST": "100000",
            "GATEWAY_WEB_DIR": str(Path(__file__).resolve().parents[2] / "web" / "dist"),
        },
        services=specs,
    )
    suite = Stack(config, log_sink=_collect)
    suite.start()
    try:
        yield suite
    finally:
        suite.stop(drop_databases=True)
        asyncio.run(prefix_cm.__aexit__(None, None, None))


def service_logs(name: str) -> list[str]:
    return list(LOGS.get(name, []))
