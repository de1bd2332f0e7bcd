"""GraphiQL at GET /graphql in real Chromium (web/e2e/graphiql.mjs through playwright-core):
built from npm into web/dist, served by the gateway, and nothing it loads leaves the machine
(the ``guarded_page`` fixture).
Like the app's browser test it fails, never skips, when Node, Chromium or the build is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tollgate_devstack.stack import Stack

GuardedPage = Callable[..., tuple[dict[str, Any], str, str]]

pytestmark = pytest.mark.e2e


def test_graphiql_loads_from_the_gateway_alone_and_runs_a_query(guarded_page: GuardedPage) -> None:
    result, _, _ = guarded_page("graphiql.mjs", "graphiql.html", timeout=120)
    assert '"ACTIVE"' in result["response"]


def test_api_clients_still_get_graphql_at_get_graphql(stack: Stack) -> None:
    base_url = stack.http_url("gateway")
    query = httpx.get(f"{base_url}/graphql", params={"query": "{ __typename }"}, timeout=20)
    assert query.json() == {"data": {"__typename": "Query"}}
    no_query = httpx.get(f"{base_url}/graphql", timeout=20)  # no HTML asked for: JSON error
    assert no_query.status_code == 400
    assert no_query.headers["content-type"].startswith("application/json")
