"""Colours that people can read: WCAG 2 contrast between a category's colour and the
text written on it (white, in the calendar and the session lists)."""

from __future__ import annotations

import re

from prepbase.errors import DomainError

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The text colour the pages write on a category's colour (static/css/app.css `.category`).
TEXT_ON_CATEGORY = "#ffffff"
# WCAG 2 AA for normal text.
MIN_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb" (0 black … 1 white)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two "#rrggbb" colours, 1 (none) to 21 (black on white)."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_category_colour(colour: str) -> str:
    """A "#rrggbb" colour on which the category's white text reads (≥ 4.5:1), lower
    case; refused with a message that says how far off it is."""
    colour = colour.strip()
    if not HEX_COLOUR.match(colour):
        raise DomainError("Write the colour as # and six hex digits, e.g. #1d4ed8.", field="colour")
    colour = colour.lower()
    ratio = contrast_ratio(colour, TEXT_ON_CATEGORY)
    if ratio < MIN_CONTRAST:
        raise DomainError(
            f"White text on {colour} has a contrast of {ratio:.1f}:1; it needs at least "
            f"{MIN_CONTRAST}:1 to be readable. Choose a darker colour.",
            field="colour",
        )
    return colour
