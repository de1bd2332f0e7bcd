"""The whole suite as real processes, started once per test session by the same launcher
`make run` uses: free ports, fresh databases on the test PostgreSQL, a fresh Redis prefix."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tollgate_devstack.services import SERVICES
from tollgate_devstack.stack import Stack, StackConfig
from tollgate_devstack.testing import free_port, running_suite

LOGS: dict[str, list[str]] = {}


def _collect(name: str, line: str) -> None:
    LOGS.setdefault(name, []).append(line)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The suite, with ``TOLLGATE_REPLICAS`` (default 1) processes of every service."""
    web_dist = Path(__file__).resolve().parents[2] / "web" / "dist"
    with running_suite(
        "e2e",
        tmp_path_factory.mktemp("stack"),
        env={"GATEWAY_WEB_DIR": str(web_dist)},
        log_sink=_collect,
        replicas=int(os.environ.get("TOLLGATE_REPLICAS") or "1"),
    ) as suite:
        yield suite


def service_logs(name: str) -> list[str]:
    return list(LOGS.get(name, []))


GatewayReplica = Callable[[str, Mapping[str, str]], AbstractContextManager[str]]


@contextmanager
def extra_gateway(stack: Stack, data_dir: Path, env: Mapping[str, str]) -> Iterator[str]:
    """One more gateway process on ``stack``'s backends (every replica) and Redis, with
    settings of its own; yields its URL."""
    gateway = next(spec for spec in SERVICES if spec.name == "gateway")
    config = StackConfig(
        database_url=stack.database_url,
        redis_url=stack.redis_url,
        data_dir=data_dir,
        tls_dir=stack.tls_dir,  # the backends' CA
        redis_key_prefix=stack.config.redis_key_prefix,
        ports={"gateway.http": free_port()},
        env={
            "GATEWAY_AUTH_ADDR": stack.grpc_addrs("auth"),
            "GATEWAY_BILLING_ADDR": stack.grpc_addrs("billing"),
            "GATEWAY_WORKERS": "1",
            **env,
        },
        services=[gateway],
        start_mailcatcher=False,
    )
    replica = Stack(config, log_sink=lambda _name, _line: None)
    replica.start()
    try:
        yield replica.http_url("gateway")
    finally:
        replica.stop()


@pytest.fixture(scope="session")
def gateway_replica(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> GatewayReplica:
    """Starts one more gateway process on the session's backends and Redis, with settings of
    its own: ``with gateway_replica("strict", {"GATEWAY_RATE_LIMIT_BURST": "3"}) as url:``."""

    def start(name: str, env: Mapping[str, str]) -> AbstractContextManager[str]:
        return extra_gateway(stack, Path(tmp_path_factory.mktemp(name)), env)

    return start


@pytest.fixture(scope="session")
def replicated_gateway(
    replicated: Stack, tmp_path_factory: pytest.TempPathFactory
) -> GatewayReplica:
    """:func:`gateway_replica`, on the backends of :func:`replicated`."""

    def start(name: str, env: Mapping[str, str]) -> AbstractContextManager[str]:
        return extra_gateway(replicated, Path(tmp_path_factory.mktemp(name)), env)

    return start


@pytest.fixture(scope="session")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The suite with two replicas of every service and of the gateway ("auth", "auth-2",
    …; callers balance over both), shared by the scale-out tests."""
    with running_suite(
        "replicas",
        tmp_path_factory.mktemp("replicated"),
        log_sink=_collect,
        replicas=2,
        # Two workers would only make the rolling restart slower on a small machine.
        env={
            "GATEWAY_WORKERS": "1",
            "GATEWAY_SHUTDOWN_GRACE_SECONDS": "5",
            # The sign-up saga's wallet step then leaves a transaction: run twice, two.
            "BILLING_SIGN_UP_CREDIT": "500",
            # The rolling restart's clients log in again and again.
            "AUTH_LOGIN_RATE_LIMIT": "100000",
        },
    ) as suite:
        yield suite
