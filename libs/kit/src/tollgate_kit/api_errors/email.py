"""``tollgate.email.v1.EmailService`` (internal: auth-svc's outbox and sagas): its reasons."""

from __future__ import annotations

import grpc

from tollgate_kit.errors import DeclaredErrors, Reason

_C = grpc.StatusCode

EMAIL_ERRORS = DeclaredErrors(
    "tollgate.email.v1.EmailService",
    reasons=(
        Reason(
            "INVALID_MESSAGE_ID",
            _C.INVALID_ARGUMENT,
            "The message id is missing or not 1 to 200 printable characters.",
            "message_id must be 1-200 printable characters",
        ),
        Reason(
            "INVALID_RECIPIENT",
            _C.INVALID_ARGUMENT,
            "The recipient is not a deliverable address.",
            "invalid recipient address",
        ),
        Reason(
            "UNKNOWN_TEMPLATE",
            _C.INVALID_ARGUMENT,
            "No template has this name.",
            "unknown template",
        ),
        Reason(
            "MISSING_TEMPLATE_PARAMS",
            _C.INVALID_ARGUMENT,
            "The template needs parameters the request did not give.",
            "missing template params: amount",
        ),
        Reason(
            "INVALID_TEMPLATE_PARAM",
            _C.INVALID_ARGUMENT,
            "A template parameter has a value the template cannot show.",
            "invalid template param: amount",
        ),
        Reason(
            "IDEMPOTENCY_KEY_REUSED",
            _C.INVALID_ARGUMENT,
            "The message id was already used for a different recipient, template or params.",
            "message_id was already used for a different message",
        ),
        Reason(
            "RECIPIENT_REJECTED",
            _C.INVALID_ARGUMENT,
            "The mail server refused the recipient for good (ErrorInfo metadata `smtp_code`).",
            "recipient rejected",
            (("smtp_code", "550"),),
        ),
        Reason(
            "SMTP_UNAVAILABLE",
            _C.UNAVAILABLE,
            "The mail server could not take the message now; retry later.",
            "mail server unavailable, retry later",
        ),
        Reason(
            "SMTP_REJECTED",
            _C.UNAVAILABLE,
            "The mail server refused the message for a reason not about the recipient; the"
            " send is retried once that is fixed.",
            "mail server unavailable, retry later",
            (("smtp_code", "554"),),
        ),
        Reason(
            "SEND_IN_PROGRESS",
            _C.UNAVAILABLE,
            "Another attempt holds this message id; retry later.",
            "message 'welcome-42' is being sent by another call",
        ),
        Reason(
            "SEND_LOG_UNAVAILABLE",
            _C.UNAVAILABLE,
            "The send log is out of reach; retry later with the same message id.",
            "the send log is unavailable, retry later",
        ),
    ),
    rpcs={
        "SendEmail": (
            "INVALID_MESSAGE_ID",
            "INVALID_RECIPIENT",
            "UNKNOWN_TEMPLATE",
            "MISSING_TEMPLATE_PARAMS",
            "INVALID_TEMPLATE_PARAM",
            "IDEMPOTENCY_KEY_REUSED",
            "RECIPIENT_REJECTED",
            "SMTP_UNAVAILABLE",
            "SMTP_REJECTED",
            "SEND_IN_PROGRESS",
            "SEND_LOG_UNAVAILABLE",
        ),
    },
)
