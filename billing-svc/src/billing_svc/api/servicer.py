"""The gRPC face of billing: authenticate the caller, translate proto ↔ domain, count and
trace outcomes, map domain errors to status codes."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from billing_svc.api.convert import transaction_message
from billing_svc.api.errors import result_of, to_status
from billing_svc.api.metrics import BillingMetrics, Outcomes
from billing_svc.domain.errors import BillingError
from billing_svc.domain.model import Receipt
from billing_svc.usecases.ledger import Wallets
from tollgate.billing.v1 import billing_pb2, billing_pb2_grpc
from tollgate_kit.errors import StatusError
from tollgate_kit.tokens import TokenClaims

Context = grpc.aio.ServicerContext[Any, Any]

CHARGE_SPAN = "billing.charge"


class Authenticator(Protocol):
    """Names the caller of an RPC from its metadata (``tollgate_kit.caller.CallerAuthenticator``)
    or raises an UNAUTHENTICATED ``StatusError``."""

    async def authenticate(self, context: Context) -> TokenClaims: ...


def opaque_user_id(user_id: str) -> str:
    """A stable stand-in for a user id in traces: correlates spans, reveals nothing."""
    return hashlib.blake2b(user_id.encode(), digest_size=12, person=b"tollgate.billing").hexdigest()


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    def __init__(
        self,
        wallets: Wallets,
        authenticator: Authenticator,
        metrics: BillingMetrics,
        tracer: Tracer,
    ) -> None:
        self._wallets = wallets
        self._auth = authenticator
        self._metrics = metrics
        self._tracer = tracer

    async def _caller(self, context: Context) -> str:
        claims = await self._auth.authenticate(context)
        return claims.subject

    async def _move(
        self,
        outcomes: Outcomes,
        context: Context,
        call: Callable[[str], Awaitable[Receipt]],
        span: Span | None = None,
    ) -> Receipt:
        """Run a money-moving use case for the caller; count (and trace) its result."""
        result = "error"
        replayed = False
        try:
            user_id = await self._caller(context)
            if span is not None:
                span.set_attribute("billing.user", opaque_user_id(user_id))
            receipt = await call(user_id)
            replayed = receipt.replayed
            result = "replay" if replayed else "success"
            return receipt
        except BillingError as err:
            result = result_of(err)
            raise to_status(err) from err
        except StatusError as err:
            if err.code == grpc.StatusCode.UNAUTHENTICATED:
                result = "unauthenticated"
            raise
        finally:
            # Anything else (a database failure, a cancelled call) stays result="error".
            outcomes.inc(result)
            if span is not None:
                span.set_attribute("billing.outcome", result)
                span.set_attribute("billing.idempotent_replay", replayed)
                if result == "error":
                    span.set_status(Status(StatusCode.ERROR, "charge failed"))

    async def Charge(
        self, request: billing_pb2.ChargeRequest, context: Context
    ) -> billing_pb2.ChargeResponse:
        with self._tracer.start_as_current_span(
            CHARGE_SPAN, record_exception=False, set_status_on_exception=False
        ) as span:
            span.set_attribute("billing.amount", request.amount)
            span.set_attribute("billing.currency", self._wallets.currency)
            receipt = await self._move(
                self._metrics.charge,
                context,
                lambda user_id: self._wallets.charge(
                    user_id, request.amount, request.description, request.idempotency_key
                ),
                span,
            )
        return billing_pb2.ChargeResponse(
            transaction=transaction_message(receipt.transaction), balance=receipt.balance
        )

    async def TopUp(
        self, request: billing_pb2.TopUpRequest, context: Context
    ) -> billing_pb2.TopUpResponse:
        receipt = await self._move(
            self._metrics.top_up,
            context,
            lambda user_id: self._wallets.top_up(user_id, request.amount, request.idempotency_key),
        )
        return billing_pb2.TopUpResponse(
            transaction=transaction_message(receipt.transaction), balance=receipt.balance
        )

    async def Refund(
        self, request: billing_pb2.RefundRequest, context: Context
    ) -> billing_pb2.RefundResponse:
        receipt = await self._move(
            self._metrics.refund,
            context,
            lambda user_id: self._wallets.refund(
                user_id, request.charge_id, request.amount, request.idempotency_key
            ),
        )
        return billing_pb2.RefundResponse(
            transaction=transaction_message(receipt.transaction), balance=receipt.balance
        )

    async def GetWallet(
        self, request: billing_pb2.GetWalletRequest, context: Context
    ) -> billing_pb2.GetWalletResponse:
        user_id = await self._caller(context)
        try:
            balance = await self._wallets.balance(user_id)
        except BillingError as err:
            raise to_status(err) from err
        return billing_pb2.GetWalletResponse(balance=balance, currency=self._wallets.currency)

    async def ListTransactions(
        self, request: billing_pb2.ListTransactionsRequest, context: Context
    ) -> billing_pb2.ListTransactionsResponse:
        user_id = await self._caller(context)
        try:
            page, next_token = await self._wallets.transactions(
                user_id, request.page_size, request.page_token
            )
        except BillingError as err:
            raise to_status(err) from err
        return billing_pb2.ListTransactionsResponse(
            transactions=[transaction_message(tx) for tx in page], next_page_token=next_token
        )
