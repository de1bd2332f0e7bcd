import pytest

from auth_svc.domain.emails import login_budget_key, normalise_email, registrable_email
from auth_svc.domain.errors import InvalidEmail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee@Example.COM ", "Ann.Lee@example.com"),
        ("ü@exämple.de", "ü@exämple.de"),
    ],
)
def test_valid_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "not-an-email",
        "@example.com",
        "ann@",
        "ann@@example.com",
        "ann lee@example.com",
        "ann@localhost",
        "ann@exa mple.com",
        "a" * 65 + "@example.com",
        "ann@" + "b" * 250 + ".com",
        "<script>@example.com",
    ],
)
def test_garbage_is_rejected_with_a_reason(raw: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        normalise_email(raw)
    assert str(caught.value)
    assert caught.value.reason == "INVALID_EMAIL"


@pytest.mark.parametrize(
    "spellings",
    [
        ("info@example.com", "INFO@example.com", "İnfo@example.com", " Info@Example.com "),
        # What ICU collations' lower() makes of İ and I (und: i + U+0307; tr: U+0131).
        ("info@example.com", "i\u0307nfo@example.com", "\u0131nfo@example.com"),
        ("οδοσ@x.gr", "ΟΔΟΣ@x.gr", "οδος@x.gr"),  # PostgreSQL's lower() has no final sigma
        ("straße@x.de", "STRASSE@x.de"),  # folded further than lower(): a shared budget only
    ],
)
def test_spellings_one_account_can_have_share_one_login_budget(spellings: tuple[str, ...]) -> None:
    assert len({login_budget_key(spelling) for spelling in spellings}) == 1


def test_different_addresses_keep_their_own_budgets() -> None:
    assert login_budget_key("ann@example.com") != login_budget_key("anne@example.com")


@pytest.mark.parametrize(
    "address", ["=?us-ascii?q?me?=@example.com", "a=?b@example.com", "=?utf-8?q?x?=@x.org"]
)
def test_encoded_word_markers_before_the_at_sign_are_refused_at_sign_up(address: str) -> None:
    with pytest.raises(InvalidEmail, match="may not appear"):
        registrable_email(address)
    # An account made before the rule still signs in: login normalises, nothing more.
    assert normalise_email(address) == address
