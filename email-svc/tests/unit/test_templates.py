"""Templates render text and HTML, escape what callers pass, and reject bad params."""

from __future__ import annotations

import pytest

from email_svc.domain import (
    TEMPLATES,
    InvalidTemplateParam,
    MissingTemplateParams,
    UnknownTemplate,
    render,
)
from email_svc.domain.money import format_money

VERIFY = "https://tollgate.test/verify-email?token=abc&user=1"


def test_welcome_carries_the_verification_link_in_text_and_html() -> None:
    mail = render(
        "welcome", {"verification_url": VERIFY, "name": "Alice", "expires_in": "24 hours"}
    )
    assert mail.subject == "Welcome to Tollgate - please verify your email address"
    assert "Hi Alice," in mail.text
    assert VERIFY in mail.text
    assert "expires in 24 hours" in mail.text
    assert '<a href="https://tollgate.test/verify-email?token=abc&amp;user=1">' in mail.html


def test_welcome_without_a_name_greets_generically() -> None:
    mail = render("welcome", {"verification_url": VERIFY})
    assert mail.text.startswith("Hi there,")
    assert "expires" not in mail.text


def test_verify_email_is_a_resend_of_the_link() -> None:
    mail = render("verify_email", {"verification_url": VERIFY})
    assert mail.subject == "Verify your Tollgate email address"
    assert VERIFY in mail.text


def test_params_are_escaped_in_html_but_not_in_text() -> None:
    name = '<script>alert("x")</script> & co'
    mail = render("welcome", {"verification_url": VERIFY, "name": name})
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in mail.html
    assert f"Hi {name}," in mail.text


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "/relative/path",
        "ftp://tollgate.test/x",
        "https://",
        'https://tollgate.test/"><script>',
        "https://tollgate.test/a b",
    ],
)
def test_verification_url_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(InvalidTemplateParam) as info:
        render("welcome", {"verification_url": url})
    assert info.value.param == "verification_url"
    assert info.value.reason == "INVALID_TEMPLATE_PARAM"


def test_charge_receipt_formats_minor_units_and_optional_rows() -> None:
    mail = render(
        "charge_receipt",
        {
            "charge_id": "ch_42",
            "amount": "123456",
            "currency": "EUR",
            "balance": "500",
            "description": "Fish & <chips>",
        },
    )
    assert mail.subject == "Your Tollgate receipt for 1,234.56 EUR"
    assert "ch_42" in mail.text
    assert "Balance:      5.00 EUR" in mail.text
    assert "Description:  Fish & <chips>" in mail.text
    assert "<td>Fish &amp; &lt;chips&gt;</td>" in mail.html


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": "12.50", "currency": "EUR"}, "amount"),
        ({"amount": "0", "currency": "EUR"}, "amount"),
        ({"amount": "-100", "currency": "EUR"}, "amount"),
        ({"amount": "100", "currency": "eur"}, "currency"),
        ({"amount": "100", "currency": "EUR", "balance": "x"}, "balance"),
    ],
)
def test_charge_receipt_rejects_malformed_money(params: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidTemplateParam) as info:
        render("charge_receipt", {"charge_id": "ch_1", **params})
    assert info.value.param == param


def test_missing_params_are_listed() -> None:
    with pytest.raises(MissingTemplateParams) as info:
        render("charge_receipt", {"amount": "100", "currency": "  "})
    assert info.value.missing == ["charge_id", "currency"]


def test_unknown_template_names_the_known_ones() -> None:
    with pytest.raises(UnknownTemplate, match="password_reset, verify_email, welcome"):
        render("password_recovery", {})


def test_extra_params_are_ignored() -> None:
    assert render("welcome", {"verification_url": VERIFY, "utm": "x"}) == render(
        "welcome", {"verification_url": VERIFY}
    )


def test_text_params_reject_control_characters_and_overlong_values() -> None:
    with pytest.raises(InvalidTemplateParam):
        render("welcome", {"verification_url": VERIFY, "name": "Alice\nBcc: x"})
    with pytest.raises(InvalidTemplateParam):
        render("welcome", {"verification_url": VERIFY, "name": "A" * 201})


def test_every_template_renders_a_complete_html_document() -> None:
    examples = {
        "welcome": {"verification_url": VERIFY},
        "verify_email": {"verification_url": VERIFY},
        "charge_receipt": {"charge_id": "c", "amount": "1", "currency": "USD"},
        "account_closed": {},
        "account_closure_failed": {},
        "password_reset": {"reset_url": VERIFY},
        "password_changed": {},
        "mfa_enabled": {},
        "mfa_disabled": {},
        "email_change": {"verification_url": VERIFY},
        "email_change_requested": {},
        "email_change_taken": {},
    }
    assert set(examples) == set(TEMPLATES)
    for name, params in examples.items():
        mail = render(name, params)
        assert mail.html.startswith("<!DOCTYPE html>")
        assert mail.html.rstrip().endswith("</html>")
        assert mail.text.endswith("-- \nTollgate\n")


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (123456, "EUR", "1,234.56 EUR"),
        (5, "USD", "0.05 USD"),
        (-1999, "USD", "-19.99 USD"),
        (1500, "JPY", "1,500 JPY"),
        (1234, "KWD", "1.234 KWD"),
        (0, "EUR", "0.00 EUR"),
    ],
)
def test_format_money(minor: int, currency: str, shown: str) -> None:
    assert format_money(minor, currency) == shown


@pytest.mark.parametrize(
    ("name", "subject", "says"),
    [
        ("account_closed", "Your Tollgate account is closed", "email address and password"),
        ("account_closure_failed", "could not be closed", "open again"),
    ],
)
def test_account_notices_need_no_params_and_escape_the_name(
    name: str, subject: str, says: str
) -> None:
    mail = render(name, {"name": "<b>Eve</b>"})
    assert subject in mail.subject
    assert says in mail.text
    assert "&lt;b&gt;Eve&lt;/b&gt;" in mail.html
    assert "<b>Eve</b>" not in mail.html
    assert "there" in render(name, {}).text


def test_the_password_reset_mail_carries_its_link_and_lifetime() -> None:
    url = "https://tollgate.test/app/reset-password?token=a&b"
    mail = render("password_reset", {"reset_url": url, "expires_in": "30 minutes"})
    assert mail.subject == "Reset your Tollgate password"
    assert url in mail.text
    assert "expires in 30 minutes" in mail.text
    assert '<a href="https://tollgate.test/app/reset-password?token=a&amp;b">' in mail.html
    with pytest.raises(InvalidTemplateParam):
        render("password_reset", {"reset_url": "javascript:alert(1)"})


def test_the_email_change_notices_carry_no_link() -> None:
    for name in (
        "password_changed",
        "mfa_enabled",
        "mfa_disabled",
        "email_change_requested",
        "email_change_taken",
    ):
        mail = render(name, {"verification_url": VERIFY, "reset_url": VERIFY})
        assert "http" not in mail.text, name
