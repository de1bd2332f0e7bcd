"""The two ways transcoding fails: a bad rule at start-up, or a bad request."""

from __future__ import annotations


class InvalidHttpRuleError(ValueError):
    """A `google.api.http` rule or its path template is invalid (raised at start-up)."""


class TranscodeError(ValueError):
    """The HTTP request cannot be turned into the RPC's request message.

    Malformed JSON, a value of the wrong type, a bad query parameter or a malformed
    percent-escape in the path. The HTTP layer answers 400 with gRPC code
    INVALID_ARGUMENT; ``message`` is safe to show to the client.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
