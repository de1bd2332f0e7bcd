"""Recipient addresses: syntax only (no DNS), the same rules auth-svc applies at sign-up."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from email_svc.domain.errors import InvalidRecipient

# What opens an RFC 2047 encoded word.
ENCODED_WORD_MARK = "=?"


def normalize_recipient(address: str) -> str:
    """The form of ``address`` to put on the envelope and in ``To``.

    Bare addresses only: no display name, no IP-literal domain, no special-use domains
    (``.local``, ``.test``, ``localhost``). The rules are auth-svc's at sign-up, so every
    registered address is sendable: a non-ASCII local part is kept (it needs a mail server
    with SMTPUTF8), an internationalised domain becomes punycode.
    Raises :class:`InvalidRecipient`.
    """
    if not address or address != address.strip():
        raise InvalidRecipient("recipient must be a bare email address")
    try:
        result = validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_display_name=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as exc:
        raise InvalidRecipient(f"invalid recipient address: {exc}") from None
    if ENCODED_WORD_MARK in result.local_part:
        # Valid in an address, but mail software decodes "=?charset?q?...?=" in a header as
        # an RFC 2047 encoded word: "=?us-ascii?q?eve?=@example.com" would be read as
        # eve@example.com, another mailbox than the one registered.
        raise InvalidRecipient("invalid recipient address: '=?' may not appear before the @")
    return result.ascii_email or f"{result.local_part}@{result.ascii_domain}"
