"""The API reference at /docs in real Chromium (web/e2e/docs.mjs through playwright-core):
Swagger UI built from npm into web/dist, served by the gateway, nothing it loads leaves the
machine (the ``guarded_page`` fixture), and a pasted bearer token sends a request that
succeeds. Like the other browser tests it fails, never skips, when Node, Chromium or the build
is missing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

GuardedPage = Callable[..., tuple[dict[str, Any], str, str]]

pytestmark = pytest.mark.e2e


def test_docs_loads_from_the_gateway_alone_and_sends_a_request_with_a_pasted_token(
    guarded_page: GuardedPage,
) -> None:
    result, base_url, token = guarded_page("docs.mjs", "docs.html", timeout=150)
    assert f"{base_url}/openapi.json" in result["requests"]
    assert "Tollgate API" in result["title"]
    # The operation's description comes from the .proto comment.
    assert "returns the caller's balance" in result["description"]
    assert result["authorization"] == f"Bearer {token}"
    assert result["apiStatus"] == 200
    assert result["shownStatus"] == "200"
    assert '"balance"' in result["shownBody"]
