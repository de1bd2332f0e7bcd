"""A tiny service for the runner's shutdown tests: `/test.Slow/Sleep` sleeps for the number of
milliseconds in its request body, then echoes it."""

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


def register(server: grpc.aio.Server) -> None:
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Sleep": grpc.unary_unary_rpc_method_handler(sleep)}
    )
    server.add_generic_rpc_handlers((handler,))


def build(grpc_port: int, http_port: int, grace: float = 5.0) -> GrpcApp:
    settings = ServiceSettings(
        service_name="slow",
        grpc_host="127.0.0.1",
        grpc_port=grpc_port,
        http_host="127.0.0.1",
        http_port=http_port,
        shutdown_grace_seconds=grace,
    )
    return GrpcApp(
        settings=settings, register=register, service_names=[SERVICE], registry=CollectorRegistry()
    )


if __name__ == "__main__":
    configure_logging("slow")
    asyncio.run(serve(build(int(sys.argv[1]), int(sys.argv[2]))))
