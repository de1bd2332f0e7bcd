"""The edge: deploy/nginx/nginx.conf.template (Debian's nginx) in front of a gateway, and the
attacks it is there for. uvicorn/httptools has no header size limit and no header timeout, so
without it 2,000 idle half-open connections made /healthz answer 503 to everyone, headers of
200 MiB were read, and a client still sending a >10 MB body got a reset instead of its 413."""

from __future__ import annotations

import http.client
import os
import select
import shutil
import socket
import string
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tollgate_devstack.testing import free_port

pytestmark = pytest.mark.e2e

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "nginx.conf.template"
IDLE_CONNECTIONS = 2000
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def edge_gateway(gateway_replica: Any) -> Iterator[str]:
    """A gateway replica that trusts the proxy on 127.0.0.1 (so X-Forwarded-For names the
    client, and each test client has a budget of its own), with the default limits."""
    settings = {
        "GATEWAY_TRUSTED_PROXIES": "127.0.0.1",
        "GATEWAY_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE": "60",
        "GATEWAY_UNAUTHENTICATED_RATE_LIMIT_BURST": "10",
    }
    with gateway_replica("edge_gateway", settings) as url:
        yield url


@pytest.fixture(scope="module")
def edge(edge_gateway: str) -> Iterator[tuple[str, int]]:
    """nginx from the committed template, in front of ``edge_gateway``: (host, port)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.access(nginx, os.X_OK), "nginx is missing (.ci/run installs Debian's package)"
    # Not under pytest's 0700 folders: nginx's workers (nobody, when run as root) write here.
    run_dir = Path(tempfile.mkdtemp(prefix="tollgate-edge-"))
    run_dir.chmod(0o755)
    port = free_port()
    upstream = urlsplit(edge_gateway)
    rendered = string.Template(TEMPLATE.read_text()).safe_substitute(
        NGINX_LISTEN=f"127.0.0.1:{port}",
        NGINX_UPSTREAM=f"{upstream.hostname}:{upstream.port}",
        NGINX_RUN_DIR=str(run_dir),
    )
    conf = run_dir / "nginx.conf"
    conf.write_text(rendered)
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    process = subprocess.Popen(
        [nginx, "-p", str(run_dir), "-c", str(conf), "-g", directives],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.communicate(timeout=15)
        shutil.rmtree(run_dir, ignore_errors=True)


def _url(edge: tuple[str, int]) -> str:
    return f"http://{edge[0]}:{edge[1]}"


def test_the_edge_proxies_the_api(edge: tuple[str, int]) -> None:
    with httpx.Client(base_url=_url(edge), timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        jwks = client.get("/.well-known/jwks.json")
        assert jwks.status_code == 200
        assert jwks.json()["keys"]


def test_idle_half_open_connections_do_not_starve_anyone(edge: tuple[str, int]) -> None:
    """2,000 connections that send half a request head and wait: nginx holds them (and
    closes them after its 10 s header timeout); the gateway never sees them."""
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            connection = socket.create_connection(edge, timeout=10)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Slow: ")
            idle.append(connection)
        with httpx.Client(base_url=_url(edge), timeout=5) as client:
            for _ in range(20):
                started = time.monotonic()
                assert client.get("/healthz").status_code == 200
                assert time.monotonic() - started < 2
            assert client.get("/v1/wallet").status_code == 401
        # The header timeout (10 s) ends them: each sees its connection closed.
        deadline = time.monotonic() + 30
        for connection in idle[:50]:
            connection.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = connection.recv(4096)
            except ConnectionResetError:
                data = b""
            assert data == b"" or data.startswith(b"HTTP/1.1 408")
    finally:
        for connection in idle:
            connection.close()


def test_headers_past_the_limit_are_refused_as_soon_as_read(edge: tuple[str, int]) -> None:
    """A client sending a header of up to 200 MiB has its 400 after at most a few hundred
    KiB (nginx answers at 16 KiB, then reads and drops the rest while it lingers)."""
    chunk = b"a" * (64 * 1024)
    sent = 0
    answer = b""
    with socket.create_connection(edge, timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Huge: ")
        while sent < 200 * MiB and not answer:
            try:
                connection.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
            if select.select([connection], [], [], 0.01)[0]:
                answer = _read_answer(connection)
        answer = answer or _read_answer(connection)
    assert sent < MiB, f"{sent} bytes sent before the answer"
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b'"reason":"HEADERS_TOO_LARGE"' in answer


def test_many_header_lines_past_the_limit_are_refused(edge: tuple[str, int]) -> None:
    lines = "".join(f"X-Pad-{i}: {'b' * 8000}\r\n" for i in range(20))
    with socket.create_connection(edge, timeout=10) as connection:
        connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: edge\r\n{lines}\r\n".encode())
        answer = _read_answer(connection)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_past_the_limit_gets_its_413_while_still_sending(
    edge: tuple[str, int], chunked: bool
) -> None:
    """11 MB sent in full: the client reads a 413 (nginx drains what is still coming)
    instead of a connection reset."""
    body = b"x" * (11 * 1000 * 1000)
    connection = http.client.HTTPConnection(*edge, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "edge-413"}
        if chunked:
            pieces = (body[i : i + MiB] for i in range(0, len(body), MiB))
            connection.request("POST", "/v1/wallet/charges", body=pieces, headers=headers)
        else:
            connection.request("POST", "/v1/wallet/charges", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    assert response.status == 413
    assert b'"reason":"BODY_TOO_LARGE"' in payload


def test_failed_authentication_is_throttled_per_client_address(edge: tuple[str, int]) -> None:
    """Past its budget (10 here) an address gets 429 for requests without a valid token;
    another address still gets its 401."""
    with httpx.Client(base_url=_url(edge), timeout=10) as client:
        attacker = {"X-Forwarded-For": "198.51.100.7", "Authorization": "Bearer forged"}
        statuses = [client.get("/v1/wallet", headers=attacker).status_code for _ in range(15)]
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429] * 5
        anonymous = {"X-Forwarded-For": "198.51.100.7"}
        assert client.get("/v1/auth/me", headers=anonymous).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.8", "Authorization": "Bearer forged"}
        assert client.get("/v1/wallet", headers=other).status_code == 401


def _read_answer(connection: socket.socket) -> bytes:
    connection.settimeout(10)
    received = b""
    try:
        while len(received) < 65536:
            data = connection.recv(65536)
            if not data:
                break
            received += data
            if b"\r\n\r\n" in received and received.rstrip().endswith(b"}"):
                break
    except (ConnectionResetError, TimeoutError):
        pass
    return received
