"""email-svc's ``SendEmail`` over one long-lived grpc.aio channel, with its errors sorted
into retryable and permanent."""

from __future__ import annotations

import grpc
from opentelemetry import propagate

from auth_svc.domain.outbox import DeliveryOutcome, OutboxMessage
from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_kit.mtls import ServiceTls, open_channel

# Only a rejected message is final; every other failure (UNAVAILABLE, DEADLINE_EXCEEDED,
# INTERNAL, UNIMPLEMENTED during a rollout, …) may pass, so it is retried with backoff.
PERMANENT = frozenset({grpc.StatusCode.INVALID_ARGUMENT})

# Reconnect quickly after email-svc restarts instead of gRPC's default of up to 2 minutes.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


def email_channel(address: str, tls: ServiceTls | None = None) -> grpc.aio.Channel:
    return open_channel(address, tls, "email", CHANNEL_OPTIONS)


class GrpcEmailSender:
    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._stub = email_pb2_grpc.EmailServiceStub(channel)
        self._timeout = timeout

    async def send(self, message_id: str, message: OutboxMessage) -> tuple[DeliveryOutcome, str]:
        """Send one message; the outcome and, when it failed, a short reason for the row."""
        request = email_pb2.SendEmailRequest(
            message_id=message_id,
            to=message.recipient,
            template=message.template,
            params=dict(message.params),
        )
        # The current span (the relay's delivery span) continues in email-svc.
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        try:
            await self._stub.SendEmail(
                request, timeout=self._timeout, metadata=tuple(carrier.items())
            )
        except grpc.aio.AioRpcError as err:
            reason = f"{err.code().name}: {err.details() or ''}"[:500]
            if err.code() in PERMANENT:
                return DeliveryOutcome.REJECTED, reason
            return DeliveryOutcome.RETRY, reason
        return DeliveryOutcome.DELIVERED, ""
