"""A tiny service for the runner's tests: `/test.Slow/Sleep` sleeps for the number of
milliseconds in its request body, then echoes it; `/test.Slow/Peer` answers the caller's
address as the server sees it (a new client port means a new connection)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import grpc
from prometheus_client import CollectorRegistry

from tollgate_kit.logs import configure_logging
from tollgate_kit.server import GrpcApp, serve
from tollgate_kit.settings import ServiceSettings

SERVICE = "test.Slow"


async def sleep(request: bytes, _: Any) -> bytes:
    await asyncio.sleep(int(request.decode()) / 1000)
    return request


async def peer(_: bytes, context: Any) -> bytes:
    return str(context.peer()).encode()


def register(server: grpc.aio.Server) -> None:
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Sleep": grpc.unary_unary_rpc_method_handler(sleep),
            "Peer": grpc.unary_unary_rpc_method_handler(peer),
        },
    )
    server.add_generic_rpc_handlers((handler,))


def build(
    grpc_port: int, http_port: int, grace: float = 5.0, max_connection_age: float = 300.0
) -> GrpcApp:
    settings = ServiceSettings(
        service_name="slow",
        grpc_host="127.0.0.1",
        grpc_port=grpc_port,
        http_host="127.0.0.1",
        http_port=http_port,
        shutdown_grace_seconds=grace,
        grpc_max_connection_age_seconds=max_connection_age,
    )
    return GrpcApp(
        settings=settings, register=register, service_names=[SERVICE], registry=CollectorRegistry()
    )


if __name__ == "__main__":
    configure_logging("slow")
    asyncio.run(serve(build(int(sys.argv[1]), int(sys.argv[2]))))
