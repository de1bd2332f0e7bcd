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
    if "=?" in result.local_part:
        # Mail software decodes "=?charset?q?...?=" in a header as an RFC 2047 encoded word:
        # "=?us-ascii?q?me?=@example.com" reads as me@example.com, so one mailbox could
        # verify any number of accounts. email-svc refuses such recipients too.
        raise InvalidEmail("invalid email: '=?' may not appear before the @-sign")
    return str(result.normalized)


def login_budget_key(address: str) -> str:
    """The key login attempts at ``address`` are counted under: one for every spelling the
    database could resolve to one account, computed without asking it, so the budget says
    nothing about whether the account exists.

    The database matches ``lower(email)``, a per-character simple lower-casing; Python's
    ``str.lower()`` differs from it ("İ" becomes "i̇", a word-final "Σ" becomes "ς"). So each
    character is lower-cased on its own, "İ" to "i" as the simple mapping has it, and the
    result is case-folded, which only merges more spellings ("ß" and "ss"): sharing a budget
    with a spelling no account can have costs nothing.
    """
    simple = "".join("i" if char == "\u0130" else char.lower() for char in address.strip())
    return simple.casefold()
