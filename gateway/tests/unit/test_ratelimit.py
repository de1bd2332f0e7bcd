"""GCRA: the pure reference the Redis script follows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.ratelimit import (
    MICROS,
    Decision,
    LoginRates,
    Rate,
    address_identity,
    gcra,
    login_identity,
)


def _run(rate: Rate, times_us: list[int]) -> list[Decision]:
    tat: int | None = None
    decisions = []
    for now in times_us:
        decision, new_tat = gcra(tat, now, rate)
        if new_tat is not None:
            tat = new_tat
        decisions.append(decision)
    return decisions


def test_burst_then_refusal_then_recovery() -> None:
    rate = Rate(per_minute=60, burst=3)
    decisions = _run(rate, [0, 0, 0, 0, MICROS])
    assert [d.allowed for d in decisions] == [True, True, True, False, True]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    refused = decisions[3]
    assert refused.retry_after == pytest.approx(1.0)
    assert dict(refused.headers())[b"retry-after"] == b"1"
    assert dict(refused.headers())[b"ratelimit-limit"] == b"3"


def test_reset_is_the_time_to_a_full_burst() -> None:
    rate = Rate(per_minute=60, burst=3)
    decisions = _run(rate, [0, 0])
    assert decisions[1].reset_after == pytest.approx(2.0)


def test_invalid_rates_are_rejected() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        Rate(per_minute=0, burst=1)


@given(
    per_minute=st.integers(1, 6000),
    burst=st.integers(1, 20),
    gaps=st.lists(st.integers(0, 2 * MICROS), max_size=60),
)
def test_never_more_than_burst_plus_rate(per_minute: int, burst: int, gaps: list[int]) -> None:
    """Over any prefix of time, allowed requests ≤ burst + elapsed / interval."""
    rate = Rate(per_minute, burst)
    times, now = [], 0
    for gap in gaps:
        now += gap
        times.append(now)
    allowed = 0
    for now, decision in zip(times, _run(rate, times), strict=True):
        allowed += decision.allowed
        assert allowed <= burst + now // rate.interval_us
        assert 0 <= decision.remaining < burst


@given(burst=st.integers(1, 20))
def test_a_fresh_key_allows_exactly_the_burst_at_once(burst: int) -> None:
    decisions = _run(Rate(60, burst), [0] * (burst + 1))
    assert [d.allowed for d in decisions] == [True] * burst + [False]


def test_login_identity_ignores_email_case_and_hides_the_email() -> None:
    assert login_identity("1.2.3.4", "A@Example.com") == login_identity("1.2.3.4", "a@example.com")
    fullwidth = "a@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com"
    assert login_identity("1.2.3.4", fullwidth) == login_identity("1.2.3.4", "a@example.com")
    assert login_identity("1.2.3.4", "a@example.com") != login_identity("1.2.3.5", "a@example.com")
    assert "example" not in login_identity("1.2.3.4", "a@example.com")


def test_ipv6_clients_are_counted_by_their_64_block() -> None:
    rates = LoginRates(per_address=Rate(60, 20), per_email=Rate(10, 5))
    a = rates.checks("2001:db8:1:2:aaaa::1", "ann@example.com")
    b = rates.checks("2001:db8:1:2:ffff:ffff:ffff:ffff", "ann@example.com")
    other = rates.checks("2001:db8:1:3::1", "ann@example.com")
    assert a == b  # one subscriber, any address of its /64
    assert a != other
    assert address_identity("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_identity("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_identity("198.51.100.7") == "198.51.100.7"
    assert address_identity("not-an-address") == "not-an-address"
