import random
from datetime import timedelta

import pytest

from auth_svc.domain.outbox import (
    WELCOME_TEMPLATE,
    describe_duration,
    retry_delay,
    welcome_message,
)


def test_delay_doubles_per_attempt_within_jitter_bounds() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)]:
        for _ in range(50):
            delay = retry_delay(attempts, base=1.0, cap=100.0, rng=rng)
            assert ceiling / 2 <= delay <= ceiling


def test_delay_is_capped_even_after_many_attempts() -> None:
    rng = random.Random(7)
    assert all(30.0 <= retry_delay(n, base=1.0, cap=60.0, rng=rng) <= 60.0 for n in range(7, 500))


def test_jitter_spreads_replicas_apart() -> None:
    rng = random.Random(1)
    delays = {retry_delay(5, base=1.0, cap=100.0, rng=rng) for _ in range(20)}
    assert len(delays) == 20


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        retry_delay(0, base=1.0, cap=2.0)


def test_welcome_mail_carries_the_verification_link() -> None:
    message = welcome_message(
        "ann@example.com", "http://x/app/verify-email?token=t", timedelta(hours=48)
    )
    assert message.template == WELCOME_TEMPLATE
    assert message.recipient == "ann@example.com"
    assert message.params == {
        "verification_url": "http://x/app/verify-email?token=t",
        "expires_in": "48 hours",
    }


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(hours=48), "48 hours"),
        (timedelta(days=7), "7 days"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(seconds=45), "45 seconds"),
    ],
)
def test_link_lifetime_reads_naturally(duration: timedelta, text: str) -> None:
    assert describe_duration(duration) == text
