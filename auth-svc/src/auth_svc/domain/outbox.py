"""Transactional outbox messages and the retry schedule of their delivery."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from tollgate_kit.backoff import retry_delay

__all__ = ["DeliveryOutcome", "OutboxMessage", "retry_delay", "welcome_message"]

WELCOME_TEMPLATE = "welcome"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One mail to send. Its outbox id is the ``message_id`` email-svc deduplicates on."""

    template: str
    recipient: str
    params: Mapping[str, str] = field(default_factory=dict)


def welcome_message(
    recipient: str, verification_url: str, link_lifetime: timedelta
) -> OutboxMessage:
    """The welcome mail with its verification link (params of email-svc's ``welcome``)."""
    return OutboxMessage(
        template=WELCOME_TEMPLATE,
        recipient=recipient,
        params={
            "verification_url": verification_url,
            "expires_in": describe_duration(link_lifetime),
        },
    )


def describe_duration(duration: timedelta) -> str:
    """``48 hours``, ``7 days``, ``30 minutes``: the largest whole unit that fits exactly."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0 and (unit != "day" or seconds > 2 * 86400):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


class DeliveryOutcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: email-svc or SMTP unavailable, deadline exceeded, …
    REJECTED = "rejected"  # permanent: the message itself is bad; retrying cannot help
