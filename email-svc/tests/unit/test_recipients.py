"""Recipient validation: bare, syntactically valid, deliverable-looking addresses only."""

from __future__ import annotations

import pytest

from email_svc.domain import InvalidRecipient
from email_svc.domain.recipients import normalize_recipient


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("alice@example.com", "alice@example.com"),
        ("Alice.Smith+tag@Example.COM", "Alice.Smith+tag@example.com"),
        ("bob@bücher.example", "bob@xn--bcher-kva.example"),
        ("ålice@bücher.example", "ålice@xn--bcher-kva.example"),
    ],
)
def test_valid_addresses_are_normalized(given: str, normalized: str) -> None:
    assert normalize_recipient(given) == normalized


@pytest.mark.parametrize(
    "address",
    [
        "",
        "alice",
        "alice@",
        "@example.com",
        "alice@example",
        "alice@localhost",
        "alice@tollgate.local",
        "Alice <alice@example.com>",
        "alice@[127.0.0.1]",
        " alice@example.com",
        "alice@example.com\r\nBcc: eve@example.com",
        "a,b@example.com",
        "al ice@example.com",
    ],
)
def test_invalid_addresses_are_rejected(address: str) -> None:
    with pytest.raises(InvalidRecipient) as info:
        normalize_recipient(address)
    assert info.value.reason == "INVALID_RECIPIENT"
