"""Reading the ``(google.api.http)`` option of RPC descriptors."""

from __future__ import annotations

from dataclasses import dataclass

from google.api import annotations_pb2
from google.api.http_pb2 import HttpRule
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions

from gateway.transcoding._errors import InvalidHttpRuleError


@dataclass(frozen=True, slots=True)
class HttpBinding:
    """One HTTP binding of an RPC: the primary rule or one of its additional bindings."""

    http_method: str
    pattern: str
    body: str
    response_body: str
    index: int


def http_bindings(method: MethodDescriptor, *, unbound_fallback: bool) -> list[HttpBinding]:
    """The RPC's HTTP bindings, primary first.

    An RPC without the option has none, unless ``unbound_fallback`` is set: then it is
    served as ``POST /<package.Service>/<Method>`` with ``body: "*"`` (grpc-gateway's
    ``generate_unbound_methods``).
    """
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        # Options parsed before the extension was registered keep it as unknown bytes.
        options = MethodOptions.FromString(options.SerializeToString())
    if not options.HasExtension(annotations_pb2.http):
        if not unbound_fallback:
            return []
        pattern = f"/{method.containing_service.full_name}/{method.name}"
        return [HttpBinding("POST", pattern, "*", "", 0)]
    rule = options.Extensions[annotations_pb2.http]
    bindings = [_binding(method, rule, 0)]
    for index, extra in enumerate(rule.additional_bindings, start=1):
        if len(extra.additional_bindings):
            raise InvalidHttpRuleError(
                f"{method.full_name}: an additional binding cannot have its own"
            )
        bindings.append(_binding(method, extra, index))
    return bindings


def _binding(method: MethodDescriptor, rule: HttpRule, index: int) -> HttpBinding:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise InvalidHttpRuleError(f"{method.full_name}: HTTP rule without a path")
    if kind == "custom":
        custom = rule.custom
        http_method, pattern = custom.kind, custom.path
    else:
        http_method, pattern = kind.upper(), getattr(rule, kind)
    if not http_method:
        raise InvalidHttpRuleError(f"{method.full_name}: custom HTTP rule without a method")
    return HttpBinding(
        http_method,
        pattern,
        rule.body,
        rule.response_body,
        index,
    )
