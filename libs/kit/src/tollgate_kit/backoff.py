"""The retry schedule shared by every background loop that retries remote work (the outbox
relay, the saga runner)."""

from __future__ import annotations

import random


def retry_delay(
    attempts: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: exponential, capped, with
    "equal jitter" (half fixed, half random) so replicas retrying together spread out."""
    if attempts < 1:
        raise ValueError("attempts starts at 1")
    ceiling = min(cap, base * 2.0 ** min(attempts - 1, 62))
    uniform = rng.uniform if rng is not None else random.uniform
    return ceiling / 2 + uniform(0, ceiling / 2)
