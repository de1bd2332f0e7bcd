"""billing-svc's internal ``WalletLifecycleService`` over one long-lived channel. A refusal
(FAILED_PRECONDITION, INVALID_ARGUMENT) is final: :class:`PermanentFailure` with billing's
reason; every other failure is left to the saga runner to retry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from auth_svc.outbox.email_client import CHANNEL_OPTIONS
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_kit.errors import error_reason
from tollgate_kit.mtls import ServiceTls, open_channel
from tollgate_kit.saga import PermanentFailure

FINAL = frozenset({grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT})


def billing_channel(address: str, tls: ServiceTls | None = None) -> grpc.aio.Channel:
    """Reconnects quickly after billing-svc restarts, like email-svc's channel (mutual TLS
    when the deployment has it)."""
    return open_channel(address, tls, "billing", CHANNEL_OPTIONS)


class GrpcWallets:
    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._stub = billing_pb2_grpc.WalletLifecycleServiceStub(channel)
        self._timeout = timeout

    async def open(self, user_id: str, key: str, sign_up_credit: bool) -> None:
        request = billing_pb2.OpenWalletRequest(
            user_id=user_id, idempotency_key=key, sign_up_credit=sign_up_credit
        )
        with _refusals():
            await self._stub.OpenWallet(request, timeout=self._timeout)

    async def close(self, user_id: str, *, validate_only: bool = False) -> None:
        request = billing_pb2.CloseWalletRequest(user_id=user_id, validate_only=validate_only)
        with _refusals():
            await self._stub.CloseWallet(request, timeout=self._timeout)

    async def reopen(self, user_id: str) -> None:
        with _refusals():
            await self._stub.ReopenWallet(
                billing_pb2.ReopenWalletRequest(user_id=user_id), timeout=self._timeout
            )


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except grpc.aio.AioRpcError as err:
        if err.code() in FINAL:
            raise PermanentFailure(
                error_reason(err) or err.code().name, err.details() or ""
            ) from err
        raise
