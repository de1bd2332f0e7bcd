"""The suite's one rule for an email address, shared by auth-svc (sign-up, login, changes)
and email-svc (recipients), so that every address an account can have is one mail can reach.

Syntax only, no DNS: a bare address (no display name, no IP-literal domain, no special-use
domain such as ``.local`` or ``localhost``), a local part of at most 64 bytes (RFC 5321
§4.5.3.1.1, which email-validator leaves to the caller), and, where mail will be sent, no
``=?`` before the @: mail software decodes ``=?charset?q?...?=`` in a header as an RFC 2047
encoded word, so ``=?us-ascii?q?eve?=@example.com`` would read as another mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

MAX_LOCAL_PART_BYTES = 64
ENCODED_WORD_MARK = "=?"


class AddressError(ValueError):
    """Why the text is not an acceptable address (safe to show the person who typed it)."""


@dataclass(frozen=True, slots=True)
class Address:
    # Unicode-normalised, the domain lower-cased: the account's address.
    normalized: str
    # What goes on an SMTP envelope: an internationalised domain as punycode (a non-ASCII
    # local part stays: it needs a server with SMTPUTF8).
    envelope: str
    local_part: str


def parse_address(text: str, *, mail_safe: bool = True) -> Address:
    """``text`` as an :class:`Address`, or :class:`AddressError`. ``mail_safe=False`` admits a
    ``=?`` before the @ (only to find accounts made before that rule)."""
    try:
        result = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_display_name=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as err:
        raise AddressError(str(err)) from None
    if len(result.local_part.encode("utf-8")) > MAX_LOCAL_PART_BYTES:
        raise AddressError("the part before the @-sign is too long")
    if mail_safe and ENCODED_WORD_MARK in result.local_part:
        raise AddressError(f"'{ENCODED_WORD_MARK}' may not appear before the @-sign")
    envelope = result.ascii_email or f"{result.local_part}@{result.ascii_domain}"
    return Address(
        normalized=str(result.normalized), envelope=envelope, local_part=result.local_part
    )
