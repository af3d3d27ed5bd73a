"""Numbers as people type them into forms: the one reading of hours and prices.

Python's `Decimal` also takes "1_000", "+1", "1e308", "NaN", "Infinity" and other
scripts' digits ("١٢"): none of them is what a person means in a form, and some turn into
absurd values. Here a typed number is ASCII digits with at most one decimal separator,
and a leading minus only where the caller allows one.
"""

from __future__ import annotations

import re
from decimal import Decimal

MAX_TYPED_LENGTH = 20
# "2", "1.5", ".5", "-1"; the separator is "." or "," (decimal comma) unless told otherwise.
_DECIMAL = {
    ".,": re.compile(r"(-?)([0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)"),
    ".": re.compile(r"(-?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"),
}


def typed_decimal(text: str | None, *, separators: str = ".,") -> Decimal | None:
    """The number in `text`, or None when it is not one a person would type.

    `separators=".,"` reads "1,5" as 1.5 (hours); `"."` is for amounts whose commas were
    thousands separators and have been removed by the caller."""
    raw = (text or "").strip()
    match = _DECIMAL[separators].fullmatch(raw) if len(raw) <= MAX_TYPED_LENGTH else None
    if match is None:
        return None
    return Decimal(match.group(1) + match.group(2).replace(",", "."))
