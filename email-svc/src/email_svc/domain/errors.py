"""What can be wrong with a send, in domain terms; the api layer maps each to a gRPC status."""

from __future__ import annotations


class EmailError(Exception):
    """Base of the domain's errors. ``reason`` is the machine-readable cause."""

    reason = "EMAIL_ERROR"


class InvalidEmailRequest(EmailError):
    """The request can never succeed as sent (not retryable)."""

    reason = "INVALID_REQUEST"


class InvalidMessageId(InvalidEmailRequest):
    reason = "INVALID_MESSAGE_ID"


class InvalidRecipient(InvalidEmailRequest):
    reason = "INVALID_RECIPIENT"


class UnknownTemplate(InvalidEmailRequest):
    reason = "UNKNOWN_TEMPLATE"


class MissingTemplateParams(InvalidEmailRequest):
    reason = "MISSING_TEMPLATE_PARAMS"

    def __init__(self, template: str, missing: list[str]) -> None:
        super().__init__(f"template {template!r} needs params: {', '.join(sorted(missing))}")
        self.missing = sorted(missing)


class InvalidTemplateParam(InvalidEmailRequest):
    reason = "INVALID_TEMPLATE_PARAM"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"param {name!r} {problem}")
        self.param = name


class IdempotencyKeyReused(InvalidEmailRequest):
    """The message id was already used for a different recipient, template or params."""

    reason = "IDEMPOTENCY_KEY_REUSED"


class DeliveryError(EmailError):
    """The mail server did not take the message."""


class DeliveryUnavailable(DeliveryError):
    """Temporary: connection refused, timeout, 4xx. Retrying later may succeed."""

    reason = "SMTP_UNAVAILABLE"

    def __init__(self, detail: str, smtp_code: int | None = None) -> None:
        super().__init__(detail)
        self.smtp_code = smtp_code


class DeliveryRefused(DeliveryUnavailable):
    """A permanent (5xx) refusal that is not about the recipient, e.g. the sender address or
    authentication. Usually a configuration problem, so it stays retryable: once an operator
    fixes it, the waiting mail goes out instead of being dropped."""

    reason = "SMTP_REJECTED"


class RecipientRejected(DeliveryError):
    """The mail server refused the recipient permanently (5xx on RCPT TO). Not retryable."""

    reason = "RECIPIENT_REJECTED"

    def __init__(self, detail: str, smtp_code: int | None = None) -> None:
        super().__init__(detail)
        self.smtp_code = smtp_code


class SendInProgress(EmailError):
    """Another attempt holds this message id and did not finish in time; retry later."""

    reason = "SEND_IN_PROGRESS"


class SendLogUnavailable(EmailError):
    """The send log (PostgreSQL) is out of reach (translated by the store). Before the send,
    nothing went out; after it, the mail did but is not recorded: the caller's retry sends it
    at most once more, with the same Message-ID."""

    reason = "SEND_LOG_UNAVAILABLE"

    def __init__(self, message: str = "email service unavailable, retry later") -> None:
        super().__init__(message)
