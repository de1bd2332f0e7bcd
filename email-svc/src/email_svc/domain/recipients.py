"""Recipient addresses: the suite's one address rule (:mod:`tollgate_kit.addresses`), the
same auth-svc applies at sign-up, so every registered address is sendable."""

from __future__ import annotations

from email_svc.domain.errors import InvalidRecipient
from tollgate_kit.addresses import AddressError, parse_address


def normalize_recipient(address: str) -> str:
    """The form of ``address`` to put on the envelope and in ``To``: a bare address (no
    surrounding space either), an internationalised domain as punycode; a non-ASCII local
    part is kept (it needs a mail server with SMTPUTF8). Raises :class:`InvalidRecipient`.
    """
    if not address or address != address.strip():
        raise InvalidRecipient("recipient must be a bare email address")
    try:
        return parse_address(address).envelope
    except AddressError as err:
        raise InvalidRecipient(f"invalid recipient address: {err}") from None
