"""Amounts are integers of minor units; this module decides which ones a request may move."""

from __future__ import annotations

import unicodedata

from billing_svc.domain.errors import InvalidAmount, InvalidDescription

MAX_DESCRIPTION_LENGTH = 500
# The largest integer a JSON number (a JavaScript double) keeps exactly: no configured amount
# limit may exceed it. (What a wallet may hold is the ledger's rule, defined once in
# migrations/sql/billing_max_balance.sql.)
JSON_SAFE_INTEGER = 2**53 - 1


def validate_amount(amount: int, max_amount: int) -> int:
    """``amount`` if it is a positive number of minor units no larger than ``max_amount``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("amount must be an integer number of minor units")
    if amount <= 0:
        raise InvalidAmount("amount must be positive")
    if amount > max_amount:
        raise InvalidAmount(f"amount must not exceed {max_amount}", max_amount=max_amount)
    return amount


# Bidirectional embeddings, overrides and isolates: they make a statement line read
# differently from what it stores ("Trojan Source"). Other format characters (the zero-width
# joiner of emoji sequences) stay allowed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters (NUL, CR/LF, escape sequences) and the Unicode line and paragraph
# separators (U+2028, U+2029), which break a line as surely as "\n" does.
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})


def validate_description(description: str) -> str:
    """One line of text for statements: no control characters (NUL, newlines, escape
    sequences), no line or paragraph separators and no bidirectional overrides."""
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidDescription(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")
    for char in description:
        if unicodedata.category(char) in _LINE_BREAKING or char in _BIDI_CONTROLS:
            raise InvalidDescription(
                "description must not contain control characters or line breaks"
                f" (found U+{ord(char):04X})"
            )
    return description
