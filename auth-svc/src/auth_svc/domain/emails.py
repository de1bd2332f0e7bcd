"""Email addresses: syntax validation and normalisation (no DNS lookups)."""

from __future__ import annotations

from auth_svc.domain.errors import InvalidEmail
from tollgate_kit.addresses import AddressError, parse_address


def normalise_email(raw: str) -> str:
    """The normalised form of ``raw`` (domain lower-cased, IDNA/Unicode normalised), by the
    suite's one address rule (:mod:`tollgate_kit.addresses`), admitting the ``=?`` of
    accounts made before that part of the rule.

    Uniqueness is case-insensitive over the whole address (the store compares lower-cased),
    so ``Ann@Example.com`` and ``ann@example.com`` are one account.
    """
    return _parse(raw, mail_safe=False)


def registrable_email(raw: str) -> str:
    """:func:`normalise_email` for a new account (or a new address of one), which must also
    be one mail can reach unambiguously: no "=?" before the @ (email-svc refuses such
    recipients by the same rule). An account made before the rule still signs in."""
    return _parse(raw, mail_safe=True)


def _parse(raw: str, *, mail_safe: bool) -> str:
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("email is required")
    try:
        return parse_address(candidate, mail_safe=mail_safe).normalized
    except AddressError as err:
        raise InvalidEmail(f"invalid email: {err}") from None


def login_budget_key(address: str) -> str:
    """The key login attempts at ``address`` are counted under: one for every spelling the
    database could resolve to one account, computed without asking it, so the budget says
    nothing about whether the account exists.

    The database matches ``lower(email)``: with the default (libc) collations a per-character
    simple lower-casing, with ICU ones a full one, Turkish rules included. Python's
    ``str.lower()`` is neither ("İ" becomes "i̇", a word-final "Σ" becomes "ς"). So each
    character is lower-cased on its own, "İ" to "i" as the simple mapping has it, the result
    is case-folded, and the dotted and dotless i's that ICU may produce (U+0069 U+0307,
    U+0131) become "i". Every step only merges more spellings ("ß" and "ss"): sharing a
    budget with a spelling no account can have costs nothing.
    """
    simple = "".join("i" if char == "\u0130" else char.lower() for char in address.strip())
    return simple.casefold().replace("i\u0307", "i").replace("\u0131", "i")
