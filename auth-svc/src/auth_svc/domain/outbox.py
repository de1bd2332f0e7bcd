"""Transactional outbox messages and the retry schedule of their delivery."""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

WELCOME_TEMPLATE = "welcome"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One mail to send. Its outbox id is the ``message_id`` email-svc deduplicates on."""

    template: str
    recipient: str
    params: Mapping[str, str] = field(default_factory=dict)


def welcome_message(recipient: str, verification_url: str) -> OutboxMessage:
    return OutboxMessage(
        template=WELCOME_TEMPLATE,
        recipient=recipient,
        params={"email": recipient, "verification_url": verification_url},
    )


class DeliveryOutcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: email-svc or SMTP unavailable, deadline exceeded, …
    REJECTED = "rejected"  # permanent: the message itself is bad; retrying cannot help


def retry_delay(
    attempts: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: exponential, capped, with
    "equal jitter" (half fixed, half random) so replicas retrying together spread out."""
    if attempts < 1:
        raise ValueError("attempts starts at 1")
    ceiling = min(cap, base * 2 ** min(attempts - 1, 62))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
