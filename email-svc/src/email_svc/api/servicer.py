"""gRPC EmailService: proto <-> domain, domain errors -> statuses (the codes EmailService
declares in ``tollgate_kit.api_errors.email``)."""

from __future__ import annotations

import grpc

from email_svc.domain import (
    DeliveryUnavailable,
    EmailRequest,
    InvalidEmailRequest,
    RecipientRejected,
    SendInProgress,
    SendLogUnavailable,
)
from email_svc.metrics import EmailMetrics
from email_svc.usecases.sending import EmailSender
from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_kit.api_errors.email import EMAIL_ERRORS
from tollgate_kit.logs import get_logger

log = get_logger(__name__)


class EmailServicer(email_pb2_grpc.EmailServiceServicer):
    def __init__(self, sender: EmailSender, metrics: EmailMetrics) -> None:
        self._sender = sender
        self._metrics = metrics

    async def SendEmail(
        self,
        request: email_pb2.SendEmailRequest,
        context: grpc.aio.ServicerContext[email_pb2.SendEmailRequest, email_pb2.SendEmailResponse],
    ) -> email_pb2.SendEmailResponse:
        email = EmailRequest(
            message_id=request.message_id,
            to=request.to,
            template=request.template,
            params=dict(request.params),
        )
        record = self._metrics.record
        try:
            result = await self._sender.send(email, time_left=context.time_remaining())
        except InvalidEmailRequest as exc:
            record(email.template, "invalid")
            raise EMAIL_ERRORS.status(exc.reason, str(exc)) from None
        except RecipientRejected as exc:
            record(email.template, "rejected")
            raise EMAIL_ERRORS.status(exc.reason, str(exc), _smtp_code(exc.smtp_code)) from None
        except DeliveryUnavailable as exc:
            record(email.template, "unavailable")
            log.warning(
                "email_delivery_failed",
                message_id=email.message_id,
                reason=exc.reason,
                error=str(exc),
            )
            raise EMAIL_ERRORS.status(
                exc.reason, "mail server unavailable, retry later", _smtp_code(exc.smtp_code)
            ) from None
        except SendInProgress as exc:
            record(email.template, "in_progress")
            raise EMAIL_ERRORS.status(exc.reason, str(exc)) from None
        except SendLogUnavailable as exc:
            record(email.template, "unavailable")
            raise EMAIL_ERRORS.status(exc.reason, str(exc)) from None
        except Exception:
            record(email.template, "error")
            raise
        record(email.template, "duplicate" if result.duplicate else "sent")
        log.info(
            "email_sent" if not result.duplicate else "email_duplicate",
            message_id=email.message_id,
            template=email.template,
        )
        return email_pb2.SendEmailResponse(message_id=result.message_id, duplicate=result.duplicate)


def _smtp_code(code: int | None) -> dict[str, str]:
    return {} if code is None else {"smtp_code": str(code)}
