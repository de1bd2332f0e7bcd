"""The transcoder's test proto (every HttpRule feature), compiled in the session, and a
generic gRPC test backend that serves it."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import google.api.annotations_pb2
import grpc
import grpc_tools
import pytest
from google.protobuf.descriptor import ServiceDescriptor
from grpc_tools import protoc

_PROTOS = Path(__file__).resolve().parents[1] / "protos"
_ECHO = "tollgate/testing/v1/echo.proto"


@pytest.fixture(scope="session")
def echo_module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("echo_proto_integration")
    googleapis_root = Path(google.api.annotations_pb2.__file__).parents[2]
    well_known_root = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{_PROTOS}", f"-I{googleapis_root}", f"-I{well_known_root}"]
    if protoc.main([*args, f"--python_out={out}", _ECHO]) != 0:
        pytest.fail(f"protoc failed on {_ECHO}")
    spec = importlib.util.spec_from_file_location(
        "tollgate_testing_echo_pb2_integration", out / _ECHO.replace(".proto", "_pb2.py")
    )
    if spec is None or spec.loader is None:
        pytest.fail("cannot load the generated echo_pb2")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
async def echo_backend(echo_module: ModuleType) -> AsyncIterator[tuple[ServiceDescriptor, str]]:
    """A grpc.aio server for EchoService, built from the descriptors alone."""
    from google.protobuf.message_factory import GetMessageClass

    service: ServiceDescriptor = echo_module.DESCRIPTOR.services_by_name["EchoService"]
    handlers = {}
    for method in service.methods:
        request_class = GetMessageClass(method.input_type)
        response_class = GetMessageClass(method.output_type)

        def make(name: str) -> Any:
            async def handle(request: Any, context: Any) -> Any:
                return _echo_behaviour(echo_module, name, request)

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
