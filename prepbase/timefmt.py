"""Times shown to people: always in the business's time zone, with the zone named."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def to_local(timezone: str, moment: datetime) -> datetime:
    """`moment` (aware, UTC) in the business's zone."""
    return moment.astimezone(ZoneInfo(timezone))


def format_when(timezone: str, moment: datetime | None) -> str:
    """ "Tue 1 Dec 2026, 4:00 PM EST" in the business's zone."""
    if moment is None:
        return ""
    local = to_local(timezone, moment)
    hour = local.strftime("%I").lstrip("0")
    day = f"{local.strftime('%a')} {local.day} {local.strftime('%b %Y')}"
    return f"{day}, {hour}:{local.strftime('%M %p %Z')}"
