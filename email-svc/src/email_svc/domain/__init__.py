"""Pure rules of email-svc: templates, recipients, the message that goes out. No I/O."""

from email_svc.domain.errors import (
    DeliveryError,
    DeliveryRefused,
    DeliveryUnavailable,
    EmailError,
    IdempotencyKeyReused,
    InvalidEmailRequest,
    InvalidMessageId,
    InvalidRecipient,
    InvalidTemplateParam,
    MissingTemplateParams,
    RecipientRejected,
    SendInProgress,
    SendLogUnavailable,
    UnknownTemplate,
)
from email_svc.domain.outgoing import EmailRequest, OutgoingEmail, build_mime, prepare
from email_svc.domain.templates import TEMPLATES, RenderedEmail, render

__all__ = [
    "TEMPLATES",
    "DeliveryError",
    "DeliveryRefused",
    "DeliveryUnavailable",
    "EmailError",
    "EmailRequest",
    "IdempotencyKeyReused",
    "InvalidEmailRequest",
    "InvalidMessageId",
    "InvalidRecipient",
    "InvalidTemplateParam",
    "MissingTemplateParams",
    "OutgoingEmail",
    "RecipientRejected",
    "RenderedEmail",
    "SendInProgress",
    "SendLogUnavailable",
    "UnknownTemplate",
    "build_mime",
    "prepare",
    "render",
]
