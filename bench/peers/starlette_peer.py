"""The peer: what a Python team would write instead of Tollgate's two hops for a charge.

One Starlette process under uvicorn (uvloop, httptools) with an asyncpg pool and PyJWT. It
verifies the same EdDSA access token (keys from the gateway's JWKS document, fetched once),
calls the same ``billing_charge(...)`` SQL function on the same database, and answers the
same JSON. It skips what Tollgate adds: the second hop (gRPC), the session check, the rate
limit, metrics, traces and logs — the benchmark's ``rest/peer`` ratio bounds what those cost.

    python bench/peers/starlette_peer.py --port 8099 --dsn postgresql://... --jwks URL
"""

from __future__ import annotations

import argparse
import hashlib
import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CHARGE = "SELECT * FROM billing_charge($1, $2, $3, $4, $5, $6)"


def _error(status: int, message: str) -> Response:
    return Response(orjson.dumps({"message": message}), status, media_type="application/json")


def build(dsn: str, jwks_url: str, currency: str = "USD") -> Starlette:
    with urllib.request.urlopen(jwks_url, timeout=10) as answer:
        document = json.load(answer)
    keys = {
        jwk["kid"]: jwt.PyJWK.from_dict({k: v for k, v in jwk.items() if v})
        for jwk in document["keys"]
    }
    pool: asyncpg.Pool | None = None

    async def charge(request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ")
        try:
            kid = jwt.get_unverified_header(token)["kid"]
            claims = jwt.decode(
                token, keys[kid], algorithms=["EdDSA"], audience="tollgate", issuer="tollgate-auth"
            )
        except (jwt.PyJWTError, KeyError):
            return _error(401, "invalid token")
        key = request.headers.get("idempotency-key", "")
        try:
            body: dict[str, Any] = orjson.loads(await request.body())
            amount = int(body["amount"])
            description = str(body.get("description", ""))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return _error(400, "bad request")
        if not key or amount <= 0:
            return _error(400, "bad request")
        fingerprint = hashlib.sha256(f"CHARGE\0{amount}\0{description}".encode()).digest()
        if pool is None:
            return _error(503, "starting")
        row = await pool.fetchrow(
            CHARGE, claims["sub"], currency, amount, description, key, fingerprint
        )
        if row["outcome"] not in ("created", "existing"):
            return _error(400, row["outcome"])
        payload = {
            "transaction": {
                "id": str(row["id"]),
                "kind": row["kind"],
                "amount": str(row["amount"]),
                "currency": row["currency"],
                "description": row["description"],
                "refundOf": "",
                "createdAt": row["ts"].isoformat(),
            },
            "balance": str(row["balance"]),
        }
        return Response(orjson.dumps(payload), media_type="application/json")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=4, max_size=20)
        try:
            yield
        finally:
            await pool.close()

    return Starlette(
        routes=[Route("/v1/wallet/charges", charge, methods=["POST"])], lifespan=lifespan
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--jwks", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(args.dsn, args.jwks),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
