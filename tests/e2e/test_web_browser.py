"""The React app in real Chromium against the whole suite: the gateway serves web/dist at /app/.

A Node script (web/e2e/flow.mjs, playwright-core driving Debian's /usr/bin/chromium) registers,
signs in, tops up 10.00, charges 2.50, refunds 1.00 and signs out through the UI; this test
checks what it saw and then asks the REST API whether the money really moved.
It fails — never skips — when Chromium, Node or the built app is missing: CI installs
Chromium (apt) and builds web/ (`npm ci && npm run build` in web/) before `make test`.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tollgate_devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
FLOW = WEB / "e2e" / "flow.mjs"
ACCOUNT_FLOW = WEB / "e2e" / "account.mjs"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

pytestmark = pytest.mark.e2e


def _run_script(node: str, script: Path, args: list[str], timeout: float = 180) -> dict[str, Any]:
    """Run a browser script of web/e2e; its last stdout line is its JSON report."""
    try:
        done = subprocess.run(
            [node, str(script), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the browser flow did not finish within {timeout} s:\n{exc.stderr!r}")
    lines = done.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if done.returncode != 0 or not result.get("ok"):
        pytest.fail(
            f"browser flow failed (exit {done.returncode}) at step {result.get('step')!r}: "
            f"{result.get('error')}\nscreenshot: {result.get('screenshot')}\n"
            f"stdout: {done.stdout[-4000:]}\nstderr: {done.stderr[-4000:]}"
        )
    return result


def _run_flow(
    node: str, chromium: str, base_url: str, email: str, password: str, screenshot: Path
) -> dict[str, Any]:
    args = ["--base-url", base_url, "--email", email, "--password", password]
    return _run_script(node, FLOW, [*args, "--screenshot", str(screenshot), "--chromium", chromium])


def test_wallet_flow_in_a_real_browser(
    stack: Stack, tmp_path: Path, browser_tools: Callable[[str], tuple[str, str]]
) -> None:
    node, chromium = browser_tools("index.html")
    base_url = stack.http_url("gateway")
    email = f"web-{uuid.uuid4().hex[:12]}@example.com"
    password = f"pw-{uuid.uuid4().hex}"
    screenshot = tmp_path / "wallet.png"

    result = _run_flow(node, chromium, base_url, email, password, screenshot)

    assert result["balances"] == {
        "initial": "$0.00",
        "afterTopUp": "$10.00",
        "afterCharge": "$7.50",
        "afterRefund": "$8.50",
        "afterReload": "$8.50",
        "afterRefresh": "$8.50",
    }
    rows = [" ".join(row.split()) for row in result["transactions"]]
    assert len(rows) == 3, rows
    assert re.search(r"Refund \+\$1\.00$", rows[0]), rows
    assert re.search(r"Coffee Charge -\$2\.50 Refund$", rows[1]), rows
    assert re.search(r"Top-up \+\$10\.00$", rows[2]), rows
    assert "too low" in result["insufficientFunds"]

    # Every button was double-clicked, yet each submission reached the gateway exactly once,
    # with its own fresh UUID Idempotency-Key; the refund whose answer was lost was sent
    # again, from a reopened form, with its pending key (and applied once: $8.50 above).
    requests = result["moneyRequests"]
    kinds = [r["kind"] for r in requests]
    assert kinds == ["top-ups", "charges", "refunds", "refunds", "charges"], requests
    keys = [r["key"] for r in requests]
    assert all(isinstance(k, str) and UUID.match(k) for k in keys), keys
    assert keys[2] == keys[3], keys
    assert len(set(keys)) == len(keys) - 1, keys

    # An expired access token costs exactly one refresh, shared by the screen's three calls.
    assert result["refreshesForExpiredToken"] == 1
    # Two tabs of one session refreshing at once: one refresh (Web Lock), both stay signed in.
    assert result["refreshesForTwoTabs"] == 1, result["refreshesForTwoTabs"]
    assert result["twoTabBalances"] == ["$8.50", "$8.50"]
    assert "session has ended" in result["revokedSessionNotice"]

    # Strict CSP from the gateway, and the app lives within it: no violations, no script
    # errors, nothing fetched from another origin.
    assert "default-src 'self'" in (result["csp"] or ""), result["csp"]
    assert result["cspViolations"] == []
    assert result["consoleErrors"] == []
    assert result["blockedRequests"] == []
    # Signed out: the tab forgot the tokens; a deep link is answered by the SPA fallback.
    assert result["storageAfterSignOut"] == 0
    assert result["deepLinkStatus"] == 200
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The money really moved, according to the REST API.
    with httpx.Client(base_url=base_url, timeout=10) as client:
        login = client.post("/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        wallet = client.get("/v1/wallet", headers=auth)
        assert wallet.status_code == 200, wallet.text
        assert wallet.json()["balance"] == "850"
        assert wallet.json()["currency"] == "USD"
        page = client.get("/v1/wallet/transactions", params={"pageSize": 10}, headers=auth)
        assert page.status_code == 200, page.text
        transactions = page.json()["transactions"]
        assert [(t["kind"], t["amount"]) for t in transactions] == [
            ("REFUND", "100"),
            ("CHARGE", "-250"),
            ("TOP_UP", "1000"),
        ]
        assert transactions[1]["description"] == "Coffee"
        assert transactions[0]["refundOf"] == transactions[1]["id"]


def test_password_reset_and_two_step_sign_in_in_a_real_browser(
    stack: Stack, tmp_path: Path, browser_tools: Callable[[str], tuple[str, str]]
) -> None:
    """web/e2e/account.mjs: forgot password → the mailed link → a new password → sign in;
    then two-step sign-in set up on the Account security screen → sign in with a code."""
    node, chromium = browser_tools("index.html")
    base_url = stack.http_url("gateway")
    email = f"web-mfa-{uuid.uuid4().hex[:12]}@example.com"
    new_password = f"new-{uuid.uuid4().hex}"
    with httpx.Client(base_url=base_url, timeout=10) as client:
        registered = client.post(
            "/v1/auth/register", json={"email": email, "password": f"old-{uuid.uuid4().hex}"}
        )
        assert registered.status_code == 200, registered.text

    result = _run_script(
        node,
        ACCOUNT_FLOW,
        [
            *("--base-url", base_url, "--mail-url", stack.http_url("mailcatcher")),
            *("--email", email, "--new-password", new_password),
            *("--screenshot", str(tmp_path / "account.png"), "--chromium", chromium),
        ],
    )

    assert "we sent it a link" in result["resetRequested"]
    assert result["resetLinkPath"] == "/app/reset-password"
    assert "password is changed" in result["resetDone"]
    assert result["qrCode"].startswith("data:image/svg+xml")
    assert result["qrRendered"] is True
    assert result["codeFieldFocused"] is True
    assert result["loginCodeFieldFocused"] is True
    assert len(set(result["recoveryCodes"])) == 10
    assert result["cspViolations"] == []
    assert result["consoleErrors"] == []
    # The server agrees: the password is the new one and login asks for a second factor.
    with httpx.Client(base_url=base_url, timeout=10) as client:
        login = client.post("/v1/auth/login", json={"email": email, "password": new_password})
        assert login.status_code == 200, login.text
        assert login.json()["mfaRequired"] is True
