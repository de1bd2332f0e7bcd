"""The ``.proto`` comments of a descriptor set built with its source info (``protoc
--include_source_info``), by full name: what the OpenAPI document says of each service,
RPC, message, field, enum and enum value, as grpc-gateway's generator does."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

# Field numbers inside FileDescriptorProto / DescriptorProto / ... (descriptor.proto).
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE = 2
_SERVICE_METHOD = 2


def comments_by_name(serialized: bytes) -> dict[str, str]:
    """``{full name: leading comment}`` for every commented element of a serialized
    ``FileDescriptorSet`` (an element without a comment is absent)."""
    files = descriptor_pb2.FileDescriptorSet.FromString(serialized)
    found: dict[str, str] = {}
    for file in files.file:
        names = _names(file)
        for location in file.source_code_info.location:
            text = _clean(location.leading_comments)
            name = names.get(tuple(location.path))
            if text and name is not None:
                found[name] = text
    return found


def _names(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    prefix = f"{file.package}." if file.package else ""
    names: dict[tuple[int, ...], str] = {}
    for index, service in enumerate(file.service):
        path = (_FILE_SERVICE, index)
        names[path] = prefix + service.name
        for number, method in enumerate(service.method):
            names[(*path, _SERVICE_METHOD, number)] = f"{prefix}{service.name}.{method.name}"
    for index, message in enumerate(file.message_type):
        _message(message, (_FILE_MESSAGE, index), prefix + message.name, names)
    for index, enum in enumerate(file.enum_type):
        _enum(enum, (_FILE_ENUM, index), prefix + enum.name, names)
    return names


def _message(
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
    name: str,
    names: dict[tuple[int, ...], str],
) -> None:
    names[path] = name
    for index, field in enumerate(message.field):
        names[(*path, _MESSAGE_FIELD, index)] = f"{name}.{field.name}"
    for index, nested in enumerate(message.nested_type):
        _message(nested, (*path, _MESSAGE_NESTED, index), f"{name}.{nested.name}", names)
    for index, enum in enumerate(message.enum_type):
        _enum(enum, (*path, _MESSAGE_ENUM, index), f"{name}.{enum.name}", names)


def _enum(
    enum: descriptor_pb2.EnumDescriptorProto,
    path: tuple[int, ...],
    name: str,
    names: dict[tuple[int, ...], str],
) -> None:
    names[path] = name
    # A value under its enum's name (``pkg.Kind.TOP_UP``), not protobuf's sibling scope.
    for index, value in enumerate(enum.value):
        names[(*path, _ENUM_VALUE, index)] = f"{name}.{value.name}"


def _clean(comment: str) -> str:
    """A comment as text: one paragraph per blank-line-separated block, lines joined."""
    paragraphs = [
        " ".join(line.strip() for line in block.splitlines())
        for block in comment.strip().split("\n\n")
    ]
    return "\n\n".join(p for p in paragraphs if p)
