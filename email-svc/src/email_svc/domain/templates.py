"""The service's mail templates, rendered to a subject, a text body and an HTML body.

Templates are ``string.Template`` texts; every value put into HTML is escaped unless it is an
:class:`_Html` fragment this module built itself. Extra params are ignored (callers may send
more than a template uses); missing or malformed ones raise a domain error.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from string import Template
from urllib.parse import urlsplit

from email_svc.domain.errors import InvalidTemplateParam, MissingTemplateParams, UnknownTemplate
from email_svc.domain.money import format_money, parse_currency, parse_minor_units

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters RFC 3986 never allows unencoded in a URL.
_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")
MAX_TEXT = 200
MAX_URL = 2048


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class _Html(str):
    """HTML that is already safe; inserted as is."""


def _escape(values: Mapping[str, str]) -> dict[str, str]:
    return {k: v if isinstance(v, _Html) else html.escape(v, quote=True) for k, v in values.items()}


def _fill_html(template: Template, values: Mapping[str, str]) -> _Html:
    return _Html(template.substitute(_escape(values)))


def _text_param(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if len(value) > MAX_TEXT or _CONTROL.search(value):
        raise InvalidTemplateParam(name, f"must be at most {MAX_TEXT} printable characters")
    return value


def _url_param(params: Mapping[str, str], name: str) -> str:
    value = params[name]
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "https://[host/": an unclosed IPv6 bracket
        raise InvalidTemplateParam(name, "must be an absolute http(s) URL") from None
    if (
        len(value) > MAX_URL
        or parts.scheme not in {"http", "https"}
        or not parts.netloc
        or _NOT_IN_URL.search(value)
    ):
        raise InvalidTemplateParam(name, "must be an absolute http(s) URL")
    return value


_LAYOUT = Template("""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>$title</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
$body
<p style="color: #777; font-size: 0.9em;">Tollgate</p>
</body>
</html>
""")
_TEXT_FOOTER = "\n-- \nTollgate\n"

# welcome / verify_email ------------------------------------------------------------------

_VERIFY_TEXT = Template("""Hi $name,

$intro Please confirm your email address by opening this link:

$verification_url

${expiry}If you did not create a Tollgate account, you can ignore this email.
""")
_VERIFY_HTML = Template("""<p>Hi $name,</p>
<p>$intro Please confirm your email address:</p>
<p><a href="$verification_url">Verify my email address</a></p>
<p>Or copy this link into your browser:<br>$verification_url</p>
$expiry<p>If you did not create a Tollgate account, you can ignore this email.</p>""")

_EXPIRY_HTML = Template("<p>The link works once and expires in $e.</p>\n")


def _verification(subject: str, intro: str) -> Callable[[Mapping[str, str]], RenderedEmail]:
    def render(params: Mapping[str, str]) -> RenderedEmail:
        name = _text_param(params, "name") or "there"
        url = _url_param(params, "verification_url")
        expires_in = _text_param(params, "expires_in")
        expiry = f"The link works once and expires in {expires_in}.\n\n" if expires_in else ""
        values = {"name": name, "intro": intro, "verification_url": url}
        html_expiry = (
            _fill_html(
                Template("<p>The link works once and expires in $e.</p>\n"), {"e": expires_in}
            )
            if expires_in
            else _Html("")
        )
        body = _fill_html(_VERIFY_HTML, {**values, "expiry": html_expiry})
        return RenderedEmail(
            subject=subject,
            text=_VERIFY_TEXT.substitute(values, expiry=expiry) + _TEXT_FOOTER,
            html=_LAYOUT.substitute(title=html.escape(subject), body=body),
        )

    return render


# password_reset / email_change ------------------------------------------------------------

_LINK_TEXT = Template("""Hi $name,

$intro

$url

${expiry}$closing
""")
_LINK_HTML = Template("""<p>Hi $name,</p>
<p>$intro</p>
<p><a href="$url">$action</a></p>
<p>Or copy this link into your browser:<br>$url</p>
$expiry<p>$closing</p>""")


def _link(
    subject: str, url_param: str, intro: str, action: str, closing: str
) -> Callable[[Mapping[str, str]], RenderedEmail]:
    """A mail whose one link (``url_param``) does ``action``, with the link's lifetime."""

    def render(params: Mapping[str, str]) -> RenderedEmail:
        url = _url_param(params, url_param)
        expires_in = _text_param(params, "expires_in")
        values = {
            "name": _text_param(params, "name") or "there",
            "intro": intro,
            "url": url,
            "action": action,
            "closing": closing,
        }
        expiry = f"The link works once and expires in {expires_in}.\n\n" if expires_in else ""
        html_expiry = _fill_html(_EXPIRY_HTML, {"e": expires_in}) if expires_in else _Html("")
        return RenderedEmail(
            subject=subject,
            text=_LINK_TEXT.substitute(values, expiry=expiry) + _TEXT_FOOTER,
            html=_LAYOUT.substitute(
                title=html.escape(subject),
                body=_fill_html(_LINK_HTML, {**values, "expiry": html_expiry}),
            ),
        )

    return render


# charge_receipt --------------------------------------------------------------------------

_RECEIPT_TEXT = Template("""Hi $name,

we charged $amount to your Tollgate wallet.

Charge:       $charge_id
$details
Thank you for using Tollgate.
""")
_RECEIPT_HTML = Template("""<p>Hi $name,</p>
<p>we charged <strong>$amount</strong> to your Tollgate wallet.</p>
<table>
<tr><td>Charge</td><td>$charge_id</td></tr>
$details</table>
<p>Thank you for using Tollgate.</p>""")
_ROW = Template("<tr><td>$label</td><td>$value</td></tr>\n")


def _charge_receipt(params: Mapping[str, str]) -> RenderedEmail:
    currency = parse_currency("currency", params["currency"])
    amount = parse_minor_units("amount", params["amount"])
    if amount <= 0:
        raise InvalidTemplateParam("amount", "must be positive")
    charge_id = _text_param(params, "charge_id") or ""
    details: list[tuple[str, str]] = []
    if description := _text_param(params, "description"):
        details.append(("Description", description))
    if balance := params.get("balance", "").strip():
        details.append(("Balance", format_money(parse_minor_units("balance", balance), currency)))
    if charged_at := _text_param(params, "charged_at"):
        details.append(("Date", charged_at))
    shown = format_money(amount, currency)
    subject = f"Your Tollgate receipt for {shown}"
    values = {"name": _text_param(params, "name") or "there", "amount": shown}
    text = _RECEIPT_TEXT.substitute(
        values,
        charge_id=charge_id,
        details="".join(f"{label + ':':<14}{value}\n" for label, value in details),
    )
    rows = _Html("".join(_fill_html(_ROW, {"label": k, "value": v}) for k, v in details))
    body = _fill_html(_RECEIPT_HTML, {**values, "charge_id": charge_id, "details": rows})
    return RenderedEmail(
        subject=subject,
        text=text + _TEXT_FOOTER,
        html=_LAYOUT.substitute(title=html.escape(subject), body=body),
    )


# account_closed / account_closure_failed ------------------------------------------------

_NOTICE_TEXT = Template("""Hi $name,

$message
""")
_NOTICE_HTML = Template("""<p>Hi $name,</p>
<p>$message</p>""")


def _notice(subject: str, message: str) -> Callable[[Mapping[str, str]], RenderedEmail]:
    """A fixed message with no link: nothing in it can be forged through params."""

    def render(params: Mapping[str, str]) -> RenderedEmail:
        values = {"name": _text_param(params, "name") or "there", "message": message}
        return RenderedEmail(
            subject=subject,
            text=_NOTICE_TEXT.substitute(values) + _TEXT_FOOTER,
            html=_LAYOUT.substitute(
                title=html.escape(subject), body=_fill_html(_NOTICE_HTML, values)
            ),
        )

    return render


@dataclass(frozen=True)
class EmailTemplate:
    name: str
    required: frozenset[str]
    optional: frozenset[str]
    _render: Callable[[Mapping[str, str]], RenderedEmail]

    def render(self, params: Mapping[str, str]) -> RenderedEmail:
        missing = [p for p in self.required if not params.get(p, "").strip()]
        if missing:
            raise MissingTemplateParams(self.name, missing)
        return self._render(params)


TEMPLATES: Mapping[str, EmailTemplate] = {
    t.name: t
    for t in (
        EmailTemplate(
            "welcome",
            frozenset({"verification_url"}),
            frozenset({"name", "expires_in"}),
            _verification(
                "Welcome to Tollgate - please verify your email address",
                "Welcome to Tollgate!",
            ),
        ),
        EmailTemplate(
            "verify_email",
            frozenset({"verification_url"}),
            frozenset({"name", "expires_in"}),
            _verification("Verify your Tollgate email address", "Here is a new link."),
        ),
        EmailTemplate(
            "charge_receipt",
            frozenset({"charge_id", "amount", "currency"}),
            frozenset({"name", "description", "balance", "charged_at"}),
            _charge_receipt,
        ),
        EmailTemplate(
            "account_closed",
            frozenset(),
            frozenset({"name"}),
            _notice(
                "Your Tollgate account is closed",
                "your Tollgate account is closed: your wallet is closed, every session has "
                "ended and your email address and password are erased. Thank you for using "
                "Tollgate.",
            ),
        ),
        EmailTemplate(
            "account_closure_failed",
            frozenset(),
            frozenset({"name"}),
            _notice(
                "Your Tollgate account could not be closed",
                "we could not finish closing your Tollgate account, so it is open again and "
                "your wallet works as before. Please sign in again; you may try to close it "
                "later or contact us.",
            ),
        ),
        EmailTemplate(
            "password_reset",
            frozenset({"reset_url"}),
            frozenset({"name", "expires_in"}),
            _link(
                "Reset your Tollgate password",
                "reset_url",
                "Someone (we hope you) asked to reset the password of your Tollgate account."
                " Choose a new password here:",
                "Choose a new password",
                "If you did not ask for this, ignore this email: your password stays as it is.",
            ),
        ),
        EmailTemplate(
            "password_changed",
            frozenset(),
            frozenset({"name"}),
            _notice(
                "Your Tollgate password was changed",
                "the password of your Tollgate account was just changed, and your other "
                "sessions were signed out. If this was not you, reset your password at once "
                "and contact us.",
            ),
        ),
        EmailTemplate(
            "mfa_enabled",
            frozenset(),
            frozenset({"name"}),
            _notice(
                "Two-step sign-in is on for your Tollgate account",
                "two-step sign-in was just turned on for your Tollgate account: signing in now "
                "also asks for a code from your authenticator app or a recovery code. If this "
                "was not you, reset your password at once and contact us.",
            ),
        ),
        EmailTemplate(
            "mfa_disabled",
            frozenset(),
            frozenset({"name"}),
            _notice(
                "Two-step sign-in is off for your Tollgate account",
                "two-step sign-in was just turned off for your Tollgate account: signing in now "
                "takes only the password. If this was not you, reset your password at once and "
                "contact us.",
            ),
        ),
        EmailTemplate(
            "email_change",
            frozenset({"verification_url"}),
            frozenset({"name", "expires_in"}),
            _link(
                "Confirm your new Tollgate email address",
                "verification_url",
                "You asked to use this address for your Tollgate account. Confirm it here:",
                "Use this address",
                "If you did not ask for this, ignore this email: nothing changes.",
            ),
        ),
        EmailTemplate(
            "email_change_requested",
            frozenset(),
            frozenset({"name"}),
            _notice(
                "A change of your Tollgate email address was requested",
                "someone signed in to your Tollgate account asked to move it to another email "
                "address; it moves only when the link sent there is followed. If this was not "
                "you, change your password at once.",
            ),
        ),
        EmailTemplate(
            "email_change_taken",
            frozenset(),
            frozenset({"name"}),
            _notice(
                "Someone tried to use your email address on Tollgate",
                "someone asked to move another Tollgate account to this email address, which "
                "already has an account: nothing was changed. If it was you, sign in with this "
                "address instead. Otherwise you can ignore this email.",
            ),
        ),
    )
}


def get_template(name: str) -> EmailTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownTemplate(
            f"unknown template {name!r}; known: {', '.join(sorted(TEMPLATES))}"
        ) from None


def render(name: str, params: Mapping[str, str]) -> RenderedEmail:
    """Render template ``name``; raises UnknownTemplate, MissingTemplateParams or
    InvalidTemplateParam."""
    return get_template(name).render(params)
