"""Static content: /app (SPA fallback, caching, security headers), /docs, /openapi.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.bootstrap import default_openapi_document

pytestmark = pytest.mark.integration

DOCS = b'<!doctype html><div id="swagger-ui"></div><script src="/app/assets/docs-1.js"></script>'
INDEX = (
    b"<!doctype html><title>app</title><script type=module src=/app/assets/main-abc123.js></script>"
)


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "main-abc123.js").write_text("console.log('hi')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path / "docs.html").write_bytes(DOCS)
    (tmp_path.parent / "secret.txt").write_text("nope")
    return tmp_path


def _assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]


async def test_index_is_served_without_caching(gateway_factory: Any, web_dir: Path) -> None:
    async with gateway_factory(web_dir=web_dir) as gateway:
        for path in ("/app", "/app/", "/app/index.html"):
            response = await gateway.get(path)
            assert response.status_code == 200, path
            assert response.content == INDEX
            assert response.headers["cache-control"] == "no-cache"
            _assert_security_headers(response)


async def test_client_routes_fall_back_to_index(gateway_factory: Any, web_dir: Path) -> None:
    async with gateway_factory(web_dir=web_dir) as gateway:
        response = await gateway.get("/app/wallet/transactions")
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_immutable(gateway_factory: Any, web_dir: Path) -> None:
    async with gateway_factory(web_dir=web_dir) as gateway:
        response = await gateway.get("/app/assets/main-abc123.js")
        missing = await gateway.get("/app/assets/main-gone.js")
        favicon = await gateway.get("/app/favicon.svg")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in response.headers["content-type"]
    _assert_security_headers(response)
    assert missing.status_code == 404
    assert favicon.headers["cache-control"] == "no-cache"


async def test_no_escape_from_the_web_dir(gateway_factory: Any, web_dir: Path) -> None:
    async with gateway_factory(web_dir=web_dir) as gateway:
        response = await gateway.get("/app/%2e%2e/secret.txt")
        dotted = await gateway.get("/app/../secret.txt")
    assert b"nope" not in response.content
    assert b"nope" not in dotted.content


async def test_placeholder_when_the_app_is_not_built(gateway_factory: Any, tmp_path: Path) -> None:
    async with gateway_factory(web_dir=tmp_path / "missing") as gateway:
        response = await gateway.get("/app/")
    assert response.status_code == 200
    assert b"not been built" in response.content
    _assert_security_headers(response)


async def test_app_needs_no_token_and_only_reads(gateway_factory: Any, web_dir: Path) -> None:
    async with gateway_factory(web_dir=web_dir) as gateway:
        response = await gateway.post("/app/")
    assert response.status_code == 405


async def test_docs_is_the_built_swagger_ui_page(gateway_factory: Any, web_dir: Path) -> None:
    async with gateway_factory(web_dir=web_dir) as gateway:
        page = await gateway.get("/docs")
        slash = await gateway.get("/docs/")
        below = await gateway.get("/docs/docs.js")
    assert page.status_code == 200
    assert page.content == DOCS
    assert slash.content == DOCS
    assert "text/html" in page.headers["content-type"]
    assert page.headers["cache-control"] == "no-cache"
    # Scripts only from the gateway; Swagger UI's style attributes allowed.
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp
    assert "default-src 'self'" in csp
    assert "style-src 'self' 'unsafe-inline'" in csp
    assert below.status_code == 404


async def test_openapi_document_covers_every_annotated_rpc(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path, method in [
        ("/v1/auth/register", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/me", "get"),
        ("/.well-known/jwks.json", "get"),
        ("/v1/wallet", "get"),
        ("/v1/wallet/top-ups", "post"),
        ("/v1/wallet/charges", "post"),
        ("/v1/wallet/charges/{charge_id}/refunds", "post"),
        ("/v1/wallet/transactions", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert paths["/v1/auth/login"]["post"]["security"] == []
    # What the web app's types and the docs are generated from (scripts/gen-web-types.sh).
    assert document == orjson.loads(orjson.dumps(default_openapi_document()))
    assert paths["/v1/wallet"]["get"]["security"] == [{"bearerAuth": []}]


async def test_an_overlong_path_is_not_a_server_error(gateway_factory: Any, web_dir: Path) -> None:
    async with gateway_factory(web_dir=web_dir) as gateway:
        app = await gateway.get("/app/" + "a" * 300)
        docs = await gateway.get("/docs/" + "b" * 300 + ".js")
    assert app.status_code == 200  # a client route: the SPA answers it
    assert docs.status_code == 404
