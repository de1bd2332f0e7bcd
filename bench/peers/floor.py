"""The floor of Tollgate's two hops: what the same servers cost when they do nothing.

    python bench/peers/floor.py grpc --port P
        a grpc.aio server (uvloop) whose Charge answers a constant: no interceptor,
        no authentication, no database (the floor of billing-svc);
    python bench/peers/floor.py http --port P --target HOST:PORT [--workers N]
        uvicorn (uvloop, httptools) with a bare ASGI app that reads the body and makes one
        grpc.aio call per request to the target over one channel, answering a constant: no
        middleware, routing, authentication, transcoding, metrics, traces or logs (the floor
        of the gateway).

``bench/rest_charge.py`` drives them with the same ``wrk`` script as the real charges.
"""

from __future__ import annotations

import argparse
from typing import Any

import grpc
import uvicorn
import uvloop

from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc

BODY = b'{"transaction":{},"balance":"1"}'


class _NoopBilling(billing_pb2_grpc.BillingServiceServicer):
    async def Charge(
        self, request: billing_pb2.ChargeRequest, context: Any
    ) -> billing_pb2.ChargeResponse:
        return billing_pb2.ChargeResponse(balance=1)


async def serve_grpc(port: int) -> None:
    server = grpc.aio.server()
    billing_pb2_grpc.add_BillingServiceServicer_to_server(_NoopBilling(), server)  # type: ignore[abstract]
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


class ForwardingApp:
    """ASGI: one gRPC call per HTTP request, nothing else."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._charge: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                channel = grpc.aio.insecure_channel(self._target)
                self._charge = billing_pb2_grpc.BillingServiceStub(channel).Charge
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await self._charge(billing_pb2.ChargeRequest(amount=1), timeout=10)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": BODY})


def create_app() -> ForwardingApp:
    import os

    return ForwardingApp(os.environ["FLOOR_TARGET"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("grpc", "http"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", default="")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "grpc":
        uvloop.run(serve_grpc(args.port))
        return
    import os
    import sys
    from pathlib import Path

    os.environ["FLOOR_TARGET"] = args.target
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    uvicorn.run(
        "floor:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
