"""The whole suite as real processes, started once per test session by the same launcher
`make run` uses: free ports, fresh databases on the test PostgreSQL, a fresh Redis prefix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
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


WEB = Path(__file__).resolve().parents[2] / "web"
BrowserTools = Callable[[str], tuple[str, str]]
GuardedPage = Callable[..., tuple[dict[str, Any], str, str]]


def _browser_tools(built: str) -> tuple[str, str]:
    """Node's and Chromium's paths for a browser test of ``web/dist/<built>``; a missing piece
    fails the test (never skips it) with the command that fixes it."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (Node 20 is required for the browser test)")
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        pytest.fail(
            f"Chromium not found at {chromium}: "
            "apt-get install -y --no-install-recommends chromium (or set CHROMIUM_PATH)"
        )
    if not (WEB / "node_modules" / "playwright-core" / "package.json").is_file():
        pytest.fail("web/node_modules/playwright-core is missing: run `npm ci` in web/")
    if not (WEB / "dist" / built).is_file():
        pytest.fail("web/dist is not built: run `npm ci && npm run build` in web/")
    return node, chromium


@pytest.fixture
def browser_tools() -> BrowserTools:
    return _browser_tools


@pytest.fixture
def guarded_page(stack: Stack) -> GuardedPage:
    """Runs one of the page checks in ``web/e2e`` that use ``guarded.mjs`` (``docs.mjs``,
    ``graphiql.mjs``) against the suite's gateway with a fresh user's access token, and checks
    what every such page must hold: served (200) with a CSP that allows only the gateway's own
    scripts, every request to the gateway's origin (none blocked), the app's assets loaded, no
    CSP violation, no console error. Returns the script's report, the base URL and the token."""

    def run(script: str, built: str, *, timeout: float) -> tuple[dict[str, Any], str, str]:
        node, chromium = _browser_tools(built)
        base_url = stack.http_url("gateway")
        token = _access_token(base_url, script.removesuffix(".mjs"))
        command = [node, str(WEB / "e2e" / script), "--base-url", base_url, "--token", token]
        command += ["--chromium", chromium]
        done = subprocess.run(
            command, cwd=WEB.parent, capture_output=True, text=True, timeout=timeout
        )
        lines = done.stdout.strip().splitlines()
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        assert done.returncode == 0, f"{result or done.stdout}\n{done.stderr[-2000:]}"
        assert result["status"] == 200
        assert "script-src" not in result["csp"]  # scripts: default-src 'self' only
        assert result["blockedRequests"] == []
        origins = {urlsplit(url).netloc for url in result["requests"] if url.startswith("http")}
        assert origins == {urlsplit(base_url).netloc}
        assert any("/app/assets/" in url for url in result["requests"])
        assert result["cspViolations"] == []
        assert result["consoleErrors"] == []
        return result, base_url, token

    return run


def _access_token(base_url: str, tag: str) -> str:
    email = f"{tag}-{uuid.uuid4().hex[:12]}@example.com"
    password = "correct horse battery staple"
    with httpx.Client(base_url=base_url, timeout=20) as api:
        api.post("/v1/auth/register", json={"email": email, "password": password})
        login = api.post("/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        return str(login.json()["accessToken"])
