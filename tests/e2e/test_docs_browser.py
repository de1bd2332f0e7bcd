"""The API reference at /docs in real Chromium (web/e2e/docs.mjs through playwright-core):
Swagger UI built from npm into web/dist, served by the gateway, nothing it loads leaves the
machine, and a pasted bearer token sends a request that succeeds. Like the other browser
tests it fails, never skips, when Node, Chromium or the build is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tollgate_devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SCRIPT = WEB / "e2e" / "docs.mjs"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.e2e


def _prerequisites() -> tuple[str, str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (Node 20 is required for the browser test)")
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        pytest.fail(f"Chromium not found at {chromium}: apt-get install chromium")
    if not (WEB / "node_modules" / "playwright-core" / "package.json").is_file():
        pytest.fail("web/node_modules/playwright-core is missing: run `npm ci` in web/")
    if not (WEB / "dist" / "docs.html").is_file():
        pytest.fail("web/dist is not built: run `npm ci && npm run build` in web/")
    return node, chromium


def _access_token(base_url: str) -> str:
    email = f"docs-{uuid.uuid4().hex[:12]}@example.com"
    with httpx.Client(base_url=base_url, timeout=20) as api:
        api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return str(login.json()["accessToken"])


def test_docs_loads_from_the_gateway_alone_and_sends_a_request_with_a_pasted_token(
    stack: Stack,
) -> None:
    node, chromium = _prerequisites()
    base_url = stack.http_url("gateway")
    token = _access_token(base_url)
    command = [node, str(SCRIPT), "--base-url", base_url, "--token", token]
    command += ["--chromium", chromium]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=150)
    lines = done.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    assert done.returncode == 0, f"{result or done.stdout}\n{done.stderr[-2000:]}"
    assert result["status"] == 200
    assert "script-src" not in result["csp"]  # scripts: default-src 'self' only
    assert result["blockedRequests"] == []
    origins = {urlsplit(url).netloc for url in result["requests"] if url.startswith("http")}
    assert origins == {urlsplit(base_url).netloc}
    assert any("/app/assets/" in url for url in result["requests"])
    assert f"{base_url}/openapi.json" in result["requests"]
    assert "Tollgate API" in result["title"]
    # The operation's description comes from the .proto comment.
    assert "returns the caller's balance" in result["description"]
    assert result["authorization"] == f"Bearer {token}"
    assert result["apiStatus"] == 200
    assert result["shownStatus"] == "200"
    assert '"balance"' in result["shownBody"]
    assert result["cspViolations"] == []
    assert result["consoleErrors"] == []
