"""The two ways transcoding fails: a bad rule at start-up, or a bad request."""

from __future__ import annotations

# ErrorInfo reasons of a request the transcoder refuses.
MALFORMED_JSON = "MALFORMED_JSON"
INVALID_FIELD = "INVALID_FIELD"
INVALID_PATH = "INVALID_PATH"
# A field that travels in a header (the idempotency key) was sent in the body or query.
FIELD_BELONGS_IN_HEADER = "FIELD_BELONGS_IN_HEADER"


class InvalidHttpRuleError(ValueError):
    """A `google.api.http` rule or its path template is invalid (raised at start-up)."""


class TranscodeError(ValueError):
    """The HTTP request cannot be turned into the RPC's request message.

    Malformed JSON, a value of the wrong type, a bad query parameter or a malformed
    percent-escape in the path. The HTTP layer answers 400 with gRPC code
    INVALID_ARGUMENT and an ErrorInfo carrying ``reason``; ``message`` is safe to show to
    the client (never the text of a Python exception).
    """

    def __init__(self, message: str, reason: str = INVALID_FIELD) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
