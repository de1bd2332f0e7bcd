"""Email addresses: syntax validation and normalisation (no DNS lookups)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from auth_svc.domain.errors import InvalidEmail

# RFC 5321 §4.5.3.1.1; email-validator leaves it to the caller.
MAX_LOCAL_PART_BYTES = 64


def normalise_email(raw: str) -> str:
    """The normalised form of ``raw`` (domain lower-cased, IDNA/Unicode normalised).

    Uniqueness is case-insensitive over the whole address (the store compares lower-cased),
    so ``Ann@Example.com`` and ``ann@example.com`` are one account.
    """
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("email is required")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as err:
        raise InvalidEmail(f"invalid email: {err}") from err
    if len(result.local_part.encode("utf-8")) > MAX_LOCAL_PART_BYTES:
        raise InvalidEmail("invalid email: the part before the @-sign is too long")
    return str(result.normalized)


def registrable_email(raw: str) -> str:
    """:func:`normalise_email` for a new account, which must also be one mail can reach
    unambiguously: no "=?" before the @. Mail software decodes "=?charset?q?...?=" in a
    header as an RFC 2047 encoded word, so "=?us-ascii?q?me?=@example.com" reads as
    me@example.com and one mailbox could verify any number of accounts (email-svc refuses
    such recipients too). Only sign-up checks it: an account made before the rule still
    signs in."""
    address = normalise_email(raw)
    local_part = address.rpartition("@")[0]
    if "=?" in local_part:
        raise InvalidEmail("invalid email: '=?' may not appear before the @-sign")
    return address


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
