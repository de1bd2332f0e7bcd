"""gRPC errors that carry google.rpc details (ErrorInfo.reason is the machine-readable cause)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "tollgate.dev"
STATUS_DETAILS_KEY = "grpc-status-details-bin"


class StatusError(Exception):
    """Raised by a servicer to end the RPC with ``code``, ``message`` and an ErrorInfo.

    The server runner's interceptor turns it into a rich status, so a servicer only states
    what went wrong: ``raise StatusError(grpc.StatusCode.FAILED_PRECONDITION,
    "insufficient funds", reason="INSUFFICIENT_FUNDS")``.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})

    def to_status_proto(self) -> status_pb2.Status:
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        if self.reason is not None:
            info = error_details_pb2.ErrorInfo(
                reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
            )
            detail = any_pb2.Any()
            detail.Pack(info)
            status.details.append(detail)
        return status

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return ((STATUS_DETAILS_KEY, self.to_status_proto().SerializeToString()),)


def status_from_metadata(
    code: grpc.StatusCode, message: str, trailing: object
) -> status_pb2.Status:
    """The google.rpc.Status of a finished call: its details from the trailing metadata
    when the server sent them, else a bare status with ``code`` and ``message``."""
    if trailing is not None:
        for key, value in trailing:  # type: ignore[attr-defined]
            if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
                status = status_pb2.Status.FromString(value)
                if status.code == code.value[0]:
                    return status
    return status_pb2.Status(code=code.value[0], message=message)


def status_of(err: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status of a failed call, details from ``grpc-status-details-bin``."""
    return status_from_metadata(err.code(), err.details() or "", err.trailing_metadata())


def status_reason(status: status_pb2.Status) -> str | None:
    """``ErrorInfo.reason`` of a status, if it has one."""
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return None


def error_reason(err: grpc.aio.AioRpcError) -> str | None:
    """ErrorInfo.reason of a failed call, or None."""
    return status_reason(status_of(err))


INTERNAL_CODE = code_pb2.INTERNAL


@dataclass(frozen=True)
class Reason:
    """One ``ErrorInfo.reason`` a service may answer: its gRPC code and what it means to a
    client (shown in the OpenAPI document, with ``message`` as the example's text)."""

    name: str
    code: grpc.StatusCode
    description: str
    message: str
    # The ErrorInfo metadata of the example, for reasons that carry some.
    metadata: tuple[tuple[str, str], ...] = ()


class DeclaredErrors:
    """What one gRPC service may answer besides success: every reason (with its code) and,
    per RPC, the reasons that RPC can raise.

    It is the one source of both the servicers' error mapping (:meth:`status` takes the code
    from here) and the gateway's documentation of each operation; ``tests/repo`` checks it
    against what each servicer's code can actually raise.
    """

    def __init__(
        self,
        service: str,
        reasons: Iterable[Reason],
        rpcs: Mapping[str, Iterable[str]],
    ) -> None:
        self.service = service
        self.reasons: dict[str, Reason] = {}
        for reason in reasons:
            known = self.reasons.setdefault(reason.name, reason)
            if known.code != reason.code:
                raise ValueError(f"{reason.name} declared with two codes in {service}")
        self.rpcs = {rpc: tuple(names) for rpc, names in rpcs.items()}
        undeclared = {n for names in self.rpcs.values() for n in names} - set(self.reasons)
        if undeclared:
            raise ValueError(f"{service} lists undeclared reasons {sorted(undeclared)}")

    def for_rpc(self, rpc: str) -> tuple[Reason, ...]:
        """The reasons RPC ``rpc`` (its short name, ``Charge``) may answer, in declared order."""
        return tuple(self.reasons[name] for name in self.rpcs.get(rpc, ()))

    def status(
        self, reason: str, message: str, metadata: Mapping[str, str] | None = None
    ) -> StatusError:
        """The error to raise for ``reason``, with its declared code (``KeyError`` for a
        reason this service never declared: a programming error, answered as INTERNAL)."""
        return StatusError(self.reasons[reason].code, message, reason=reason, metadata=metadata)
