"""``tollgate.billing.v1.WalletLifecycleService``: internal, called by auth-svc's sagas."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc

from billing_svc.api.errors import to_status
from billing_svc.domain.errors import BillingError
from billing_svc.usecases.lifecycle import WalletLifecycle
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_kit.logs import get_logger

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")

log = get_logger(__name__)


async def _domain(call: Awaitable[T]) -> T:
    try:
        return await call
    except BillingError as err:
        raise to_status(err) from err


class WalletLifecycleServicer(billing_pb2_grpc.WalletLifecycleServiceServicer):
    def __init__(self, lifecycle: WalletLifecycle) -> None:
        self._lifecycle = lifecycle

    async def OpenWallet(
        self, request: billing_pb2.OpenWalletRequest, context: Context
    ) -> billing_pb2.OpenWalletResponse:
        balance = await _domain(
            self._lifecycle.open(request.user_id, request.idempotency_key, request.sign_up_credit)
        )
        log.info("wallet_opened", user_id=request.user_id)
        return billing_pb2.OpenWalletResponse(balance=balance, currency=self._lifecycle.currency)

    async def CloseWallet(
        self, request: billing_pb2.CloseWalletRequest, context: Context
    ) -> billing_pb2.CloseWalletResponse:
        await _domain(self._lifecycle.close(request.user_id, request.validate_only))
        if not request.validate_only:
            log.info("wallet_closed", user_id=request.user_id)
        return billing_pb2.CloseWalletResponse()

    async def ReopenWallet(
        self, request: billing_pb2.ReopenWalletRequest, context: Context
    ) -> billing_pb2.ReopenWalletResponse:
        await _domain(self._lifecycle.reopen(request.user_id))
        log.info("wallet_reopened", user_id=request.user_id)
        return billing_pb2.ReopenWalletResponse()
