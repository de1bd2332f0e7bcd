"""The one address rule both auth-svc and email-svc apply."""

from __future__ import annotations

import pytest

from tollgate_kit.addresses import AddressError, parse_address


def test_an_address_is_normalised_for_the_account_and_punycoded_for_the_envelope() -> None:
    address = parse_address("Ann@Bücher.Example")
    assert address.normalized == "Ann@bücher.example"
    assert address.envelope == "Ann@xn--bcher-kva.example"


@pytest.mark.parametrize(
    "text",
    [
        "Ann <ann@example.com>",  # a display name
        "ann@[192.0.2.1]",  # an IP literal
        "ann@localhost",  # a special-use domain
        "a" * 65 + "@example.com",  # a local part over 64 bytes
        "é" * 33 + "@example.com",  # 33 characters, 66 bytes
    ],
)
def test_what_no_account_may_have_is_refused(text: str) -> None:
    with pytest.raises(AddressError):
        parse_address(text)


def test_an_encoded_word_opener_is_refused_where_mail_goes_and_admitted_to_find_old_accounts():
    with pytest.raises(AddressError, match="may not appear"):
        parse_address("=?us-ascii?q?eve?=@example.com")
    assert parse_address("=?x@example.com", mail_safe=False).normalized == "=?x@example.com"
