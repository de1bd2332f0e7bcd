import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_svc.domain import idempotency, money, pagination, refunds
from billing_svc.domain.errors import (
    IdempotencyKeyReused,
    InvalidAmount,
    InvalidChargeId,
    InvalidDescription,
    InvalidIdempotencyKey,
    InvalidPageSize,
    InvalidPageToken,
)
from billing_svc.domain.model import Kind


@pytest.mark.parametrize("amount", [0, -1, -(2**63), 1_001])
def test_non_positive_and_absurd_amounts_are_rejected(amount):
    with pytest.raises(InvalidAmount):
        money.validate_amount(amount, max_amount=1_000)


def test_bools_are_not_amounts():
    with pytest.raises(InvalidAmount):
        money.validate_amount(True, max_amount=1_000)


@pytest.mark.parametrize("amount", [1, 999, 1_000])
def test_amounts_up_to_the_maximum_are_accepted(amount):
    assert money.validate_amount(amount, max_amount=1_000) == amount


@pytest.mark.parametrize(
    "text",
    [
        "two\nlines",
        "cr\r",
        "tab\t",
        "\x1b[31mred",
        "bell\x07",
        "\u202egnp.exe",
        "a\u2066b",
        "\x85",
        "line\u2028separator",
        "paragraph\u2029separator",
    ],
)
def test_descriptions_refuse_control_characters(text):
    with pytest.raises(InvalidDescription, match="control characters"):
        money.validate_description(text)


def test_descriptions_keep_ordinary_unicode():
    for text in (
        "Café ☕",
        "家族 👨\u200d👩\u200d👧",
        "שלום",
        "na\u00efve \u2013 \u201cquoted\u201d",
    ):
        assert money.validate_description(text) == text


def test_descriptions_are_bounded():
    assert money.validate_description("coffee") == "coffee"
    with pytest.raises(InvalidDescription):
        money.validate_description("x" * (money.MAX_DESCRIPTION_LENGTH + 1))
    with pytest.raises(InvalidDescription):
        money.validate_description("a\x00b")


@pytest.mark.parametrize("key", ["", "x" * 256, "line\nbreak", "   ", " k", "k\t", "k "])
def test_bad_idempotency_keys_are_rejected(key):
    with pytest.raises(InvalidIdempotencyKey):
        idempotency.validate_key(key)


def test_fingerprint_depends_on_every_part_of_the_request():
    charge = uuid.uuid4()
    base = {"amount": 10, "currency": "USD", "description": "d", "refund_of": None}
    variants = [
        {**base, "amount": 11},
        {**base, "currency": "EUR"},
        {**base, "description": "e"},
        {**base, "refund_of": charge},
    ]
    reference = idempotency.fingerprint(Kind.CHARGE, **base)
    assert idempotency.fingerprint(Kind.CHARGE, **base) == reference
    assert idempotency.fingerprint(Kind.TOP_UP, **base) != reference
    for variant in variants:
        assert idempotency.fingerprint(Kind.CHARGE, **variant) != reference


def test_fingerprint_is_unambiguous_about_field_boundaries():
    a = idempotency.fingerprint(Kind.CHARGE, amount=1, currency="USD", description='a","b')
    b = idempotency.fingerprint(Kind.CHARGE, amount=1, currency="USD", description="a")
    assert a != b


def test_same_fingerprint_is_a_replay_and_another_is_a_reused_key():
    assert idempotency.decide(b"a", b"a") is idempotency.Decision.REPLAY
    assert idempotency.decide(b"a", b"b") is idempotency.Decision.KEY_REUSED
    idempotency.check_replay(b"a", b"a")
    with pytest.raises(IdempotencyKeyReused) as err:
        idempotency.check_replay(b"a", b"b")
    assert err.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_refundable_is_what_is_left_of_the_charge():
    assert refunds.refundable(100, 30) == 70
    assert refunds.refundable(100, 100) == 0
    assert refunds.exceeds_charge(70).refundable == 70


def test_charge_ids_must_be_uuids():
    charge = uuid.uuid4()
    assert refunds.parse_charge_id(str(charge)) == charge
    with pytest.raises(InvalidChargeId):
        refunds.parse_charge_id("not-a-uuid")


@given(
    micros=st.integers(min_value=0, max_value=2**62 // 1000),
    id_bytes=st.binary(min_size=16, max_size=16),
)
def test_page_tokens_round_trip(micros, id_bytes):
    cursor = pagination.Cursor(
        created_at=datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros),
        id=uuid.UUID(bytes=id_bytes),
    )
    token = pagination.encode_cursor(cursor)
    assert token.isascii()
    assert "=" not in token
    assert pagination.decode_cursor(token) == cursor


@pytest.mark.parametrize("token", ["!!", "AAAA", "x" * 40])
def test_malformed_page_tokens_are_rejected(token):
    with pytest.raises(InvalidPageToken):
        pagination.decode_cursor(token)


def test_page_size_defaults_and_caps():
    assert pagination.page_size(0) == pagination.DEFAULT_PAGE_SIZE
    assert pagination.page_size(7) == 7
    assert pagination.page_size(10_000) == pagination.MAX_PAGE_SIZE
    with pytest.raises(InvalidPageSize):
        pagination.page_size(-1)
