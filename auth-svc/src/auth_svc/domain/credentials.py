"""Password-reset and email-change links, and the mails of the credential flows.

Their tokens are made like email verification tokens (random, single-use, only the SHA-256
stored: :mod:`auth_svc.domain.verification`).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from auth_svc.domain.outbox import OutboxMessage, describe_duration

PASSWORD_RESET_TEMPLATE = "password_reset"
PASSWORD_CHANGED_TEMPLATE = "password_changed"
EMAIL_CHANGE_TEMPLATE = "email_change"
EMAIL_CHANGE_REQUESTED_TEMPLATE = "email_change_requested"
EMAIL_CHANGE_TAKEN_TEMPLATE = "email_change_taken"
MFA_ENABLED_TEMPLATE = "mfa_enabled"
MFA_DISABLED_TEMPLATE = "mfa_disabled"


def app_link(public_url: str, screen: str, token: str) -> str:
    """``<public url>/app/<screen>?token=<token>``: a screen of the web app that posts the
    token to the API."""
    return f"{public_url.rstrip('/')}/app/{screen}?token={quote(token, safe='')}"


def password_reset_message(recipient: str, link: str, lifetime: timedelta) -> OutboxMessage:
    return OutboxMessage(
        template=PASSWORD_RESET_TEMPLATE,
        recipient=recipient,
        params={"reset_url": link, "expires_in": describe_duration(lifetime)},
    )


def password_changed_message(recipient: str) -> OutboxMessage:
    return OutboxMessage(template=PASSWORD_CHANGED_TEMPLATE, recipient=recipient)


def mfa_changed_message(recipient: str, *, enabled: bool) -> OutboxMessage:
    """To the account's address: two-step sign-in was turned on or off (no link)."""
    template = MFA_ENABLED_TEMPLATE if enabled else MFA_DISABLED_TEMPLATE
    return OutboxMessage(template=template, recipient=recipient)


def email_change_message(recipient: str, link: str, lifetime: timedelta) -> OutboxMessage:
    """To the new address: the link that moves the account there."""
    return OutboxMessage(
        template=EMAIL_CHANGE_TEMPLATE,
        recipient=recipient,
        params={"verification_url": link, "expires_in": describe_duration(lifetime)},
    )


def email_change_requested_message(recipient: str) -> OutboxMessage:
    """To the current address: a change was asked for (no link, nothing to forge)."""
    return OutboxMessage(template=EMAIL_CHANGE_REQUESTED_TEMPLATE, recipient=recipient)


def email_change_taken_message(recipient: str) -> OutboxMessage:
    """To a new address that already has an account: told to its owner alone."""
    return OutboxMessage(template=EMAIL_CHANGE_TAKEN_TEMPLATE, recipient=recipient)
