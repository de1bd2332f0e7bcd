"""The transcoder's test proto (every HttpRule feature), compiled in the session, and a
generic gRPC test backend that serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import ServiceDescriptor


def _echo_behaviour(pb: ModuleType, method: str, request: Any) -> Any:
    if method in ("GetEcho", "UpdateEcho"):
        return request
    if method == "CreateEcho":
        echo = pb.Echo()
        echo.CopyFrom(request.echo)
        echo.room = request.parent
        echo.idempotency_key = request.request_id
        return echo
    if method == "ListEchoes":
        echoes = [pb.Echo(id=i, colors=request.colors) for i in request.ids]
        return pb.ListEchoesResponse(echoes=echoes, next_page_token="n")
    if method in ("GetFile", "GetFileContent"):
        return pb.File(path=request.path, content=b"hello")
    if method in ("GetOperation", "GetLatestOperation"):
        return pb.Operation(name=request.name or "operations/latest")
    if method == "CancelOperation":
        return pb.Operation(name=request.name, done=request.reason == "done")
    if method == "Lock":
        return pb.LockResponse(locked=request.id == "l1")
    if method == "DeleteEcho":
        return pb.DeleteEchoResponse()
    return pb.PingResponse()


@pytest.fixture
async def echo_backend(echo_pb2: ModuleType) -> AsyncIterator[tuple[ServiceDescriptor, str]]:
    """A grpc.aio server for EchoService, built from the descriptors alone."""
    from google.protobuf.message_factory import GetMessageClass

    service: ServiceDescriptor = echo_pb2.DESCRIPTOR.services_by_name["EchoService"]
    handlers = {}
    for method in service.methods:
        request_class = GetMessageClass(method.input_type)
        response_class = GetMessageClass(method.output_type)

        def make(name: str) -> Any:
            async def handle(request: Any, context: Any) -> Any:
                return _echo_behaviour(echo_pb2, name, request)

            return handle

        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            make(method.name),
            request_deserializer=request_class.FromString,
            response_serializer=response_class.SerializeToString,
        )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield service, f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
