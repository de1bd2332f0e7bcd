"""What email's use cases need from outside, declared here and implemented by ``store/``
(the send log) and ``smtp.py`` (the transport)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol


class SendOutcome(enum.Enum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    # Another attempt holds the message id right now.
    BUSY = "busy"


class SendLog(Protocol):
    """The idempotency record of sends."""

    async def send_once(
        self,
        message_id: str,
        recipient: str,
        template: str,
        fingerprint: str,
        deliver: Callable[[], Awaitable[None]],
    ) -> SendOutcome:
        """Run ``deliver`` unless ``message_id`` was sent or is being sent; record the result.

        Raises IdempotencyKeyReused when ``message_id`` was used with another fingerprint,
        and re-raises whatever ``deliver`` raised (after recording the failed attempt).
        """
        ...


class Transport(Protocol):
    async def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        """Hand ``message`` to the mail server for ``recipient`` (envelope addresses);
        raises a DeliveryError subclass."""
        ...


class Purging(Protocol):
    """The send log's retention: forget sends older than ``older_than``; how many went."""

    async def purge(self, older_than: timedelta) -> int: ...
