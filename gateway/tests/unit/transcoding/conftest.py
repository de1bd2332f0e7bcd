"""Fixtures: the test proto compiled in the session, and route tables over it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping
from types import ModuleType

import pytest
from google.api import annotations_pb2, http_pb2
from google.api.http_pb2 import HttpRule
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.descriptor_pool import DescriptorPool

from gateway.transcoding import RouteTable


@pytest.fixture(scope="session")
def echo_service(echo_pb2: ModuleType) -> ServiceDescriptor:
    service: ServiceDescriptor = echo_pb2.DESCRIPTOR.services_by_name["EchoService"]
    return service


@pytest.fixture(scope="session")
def echo_table(echo_service: ServiceDescriptor) -> RouteTable:
    return RouteTable.from_services([echo_service])


@pytest.fixture(scope="session")
def make_service() -> Callable[..., ServiceDescriptor]:
    """Build a one-off service ``t<n>.Svc`` whose RPCs carry the given HTTP rules.

    Every RPC takes ``Req`` (string fields ``id``, ``name``, ``path``, ``f0``..``f5``;
    ``count``; message ``inner``; repeated ``tags``; map ``labels``) and returns
    ``Resp`` (``id``, ``inner``).
    """
    pool = DescriptorPool()
    for dependency in (descriptor_pb2.DESCRIPTOR, http_pb2.DESCRIPTOR, annotations_pb2.DESCRIPTOR):
        proto = descriptor_pb2.FileDescriptorProto()
        dependency.CopyToProto(proto)
        pool.Add(proto)
    numbers = itertools.count()

    def build(
        rules: Mapping[str, HttpRule | None],
        *,
        streaming: bool = False,
        deprecated: Collection[str] = (),
    ) -> ServiceDescriptor:
        package = f"t{next(numbers)}"
        file = descriptor_pb2.FileDescriptorProto(
            name=f"{package}.proto",
            package=package,
            syntax="proto3",
            dependency=["google/api/annotations.proto"],
        )
        inner = file.message_type.add(name="Inner")
        _add_field(inner, "id", 1, _FIELD.TYPE_STRING)
        request = file.message_type.add(name="Req")
        names = ["id", "name", "path", *(f"f{i}" for i in range(6))]
        for number, name in enumerate(names, start=1):
            _add_field(request, name, number, _FIELD.TYPE_STRING)
            if name in deprecated:  # ``deprecated`` names Req fields and methods
                request.field[-1].options.deprecated = True
        _add_field(request, "count", 20, _FIELD.TYPE_INT32)
        _add_field(request, "inner", 21, _FIELD.TYPE_MESSAGE, type_name=f".{package}.Inner")
        _add_field(request, "tags", 22, _FIELD.TYPE_STRING, repeated=True)
        entry = request.nested_type.add(name="LabelsEntry")
        entry.options.map_entry = True
        _add_field(entry, "key", 1, _FIELD.TYPE_STRING)
        _add_field(entry, "value", 2, _FIELD.TYPE_STRING)
        _add_field(
            request,
            "labels",
            23,
            _FIELD.TYPE_MESSAGE,
            type_name=f".{package}.Req.LabelsEntry",
            repeated=True,
        )
        response = file.message_type.add(name="Resp")
        _add_field(response, "id", 1, _FIELD.TYPE_STRING)
        _add_field(response, "inner", 2, _FIELD.TYPE_MESSAGE, type_name=f".{package}.Inner")
        service = file.service.add(name="Svc")
        for method_name, rule in rules.items():
            method = service.method.add(
                name=method_name,
                input_type=f".{package}.Req",
                output_type=f".{package}.Resp",
                server_streaming=streaming,
            )
            if rule is not None:
                method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
            if method_name in deprecated:
                method.options.deprecated = True
        pool.Add(file)
        return pool.FindServiceByName(f"{package}.Svc")

    return build


_FIELD = descriptor_pb2.FieldDescriptorProto


def _add_field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    kind: int,
    *,
    type_name: str = "",
    repeated: bool = False,
) -> None:
    field = message.field.add(
        name=name,
        number=number,
        type=kind,
        label=_FIELD.LABEL_REPEATED if repeated else _FIELD.LABEL_OPTIONAL,
        json_name=name,
    )
    if type_name:
        field.type_name = type_name
