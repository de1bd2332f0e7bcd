"""Display of money amounts kept as integer minor units (never floats)."""

from __future__ import annotations

import re

from email_svc.domain.errors import InvalidTemplateParam

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in (
        (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
        (3, "BHD IQD JOD KWD LYD OMR TND"),
        (4, "CLF UYW"),
    )
    for code in codes.split()
}
_CURRENCY = re.compile(r"[A-Z]{3}")
_INTEGER = re.compile(r"-?[0-9]{1,18}")


def parse_currency(name: str, value: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise InvalidTemplateParam(name, "must be an ISO 4217 code such as EUR")
    return value


def parse_minor_units(name: str, value: str) -> int:
    if not _INTEGER.fullmatch(value):
        raise InvalidTemplateParam(name, "must be an integer number of minor units")
    return int(value)


def format_money(minor_units: int, currency: str) -> str:
    """``format_money(123456, "EUR") == "1,234.56 EUR"``; ``(-5, "JPY") == "-5 JPY"``."""
    exponent = _EXPONENTS.get(currency, 2)
    sign = "-" if minor_units < 0 else ""
    whole, fraction = divmod(abs(minor_units), 10**exponent)
    text = f"{whole:,}"
    if exponent:
        text += f".{fraction:0{exponent}d}"
    return f"{sign}{text} {currency}"
