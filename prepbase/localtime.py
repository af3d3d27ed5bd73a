"""The business's clock: its wall-clock times, its today, and times shown to people.

Times are stored in UTC; people read and type the business's wall-clock time in its own
time zone. "Today" is always the business's today, never the server's: a business in
Los Angeles still lives on Monday while the server's UTC date is Tuesday. This module is
the one place that turns one into the other.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from prepbase.errors import DomainError

# The days a person may type (`prepbase.forms.DayField`): wider than any business needs,
# and far enough from year 1 and 9999 that "+ a few weeks" and a time zone's offset
# never leave what `datetime` can hold.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)
DAY_OUT_OF_RANGE = "Choose a date between 1 Jan 1900 and 31 Dec 2100."


class Zoned(Protocol):
    """Anything that names a time zone: a business (`Tenant`)."""

    timezone: str


def zone_of(where: Zoned | str) -> ZoneInfo:
    """The time zone of a business, or of a zone name."""
    return ZoneInfo(where if isinstance(where, str) else where.timezone)


def local_now(where: Zoned | str, now: datetime | None = None) -> datetime:
    """Now (or `now`) on the business's wall clock, aware."""
    return (now or datetime.now(UTC)).astimezone(zone_of(where))


def business_today(where: Zoned | str, now: datetime | None = None) -> date:
    """The business's calendar day now (or at `now`)."""
    return local_now(where, now).date()


def local_date(where: Zoned | str, moment: datetime) -> date:
    """The calendar day of `moment` in the business's time zone."""
    return moment.astimezone(zone_of(where)).date()


def to_local(where: Zoned | str, moment: datetime) -> datetime:
    """`moment` (aware) in the business's zone."""
    return moment.astimezone(zone_of(where))


def local_to_utc(where: Zoned | str, day: date, at: time) -> datetime:
    """A wall-clock time in the business's zone, as UTC; refuses times a DST jump skips."""
    zone = zone_of(where)
    local = datetime.combine(day, at, tzinfo=zone)
    try:
        moment = local.astimezone(UTC)
        exists = moment.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)
    except OverflowError:  # a day at the edge of year 1 or 9999
        raise DomainError(DAY_OUT_OF_RANGE, field="date") from None
    if not exists:
        raise DomainError(
            "That time does not exist on that day (the clocks change); choose another.",
            field="start_time",
        )
    return moment


def day_start_utc(where: Zoned | str, day: date) -> datetime:
    """Midnight at the start of `day` in the business's zone, as UTC (for date filters)."""
    try:
        return datetime.combine(day, time(), tzinfo=zone_of(where)).astimezone(UTC)
    except OverflowError:  # a day at the edge of year 1 or 9999
        raise DomainError(DAY_OUT_OF_RANGE) from None


def format_when(where: Zoned | str, moment: datetime | None) -> str:
    """ "Tue 1 Dec 2026, 4:00 PM EST" in the business's zone."""
    return "" if moment is None else when_texts(where, moment)[0]


def when_texts(
    where: Zoned | str, moment: datetime, now: datetime | None = None
) -> tuple[str, str]:
    """A moment as `format_when` writes it, and as a phone's narrow column shows it
    ("Tue 1 Dec, 4:00 PM": no zone, since every page names it in its footer, and no year
    while it is this year); from one conversion and one `strftime`, since pages show both
    forms of every time, one of them per screen width."""
    zone = zone_of(where)
    local = moment.astimezone(zone)
    weekday, month, year, hour, rest = local.strftime("%a|%b|%Y|%I|%M %p|%Z").split("|", 4)
    minute_half, abbreviation = rest.split("|")
    day = f"{weekday} {local.day} {month}"
    hour = hour.lstrip("0")
    long = f"{day} {year}, {hour}:{minute_half} {abbreviation}"
    if local.year != (now or datetime.now(UTC)).astimezone(zone).year:
        day = f"{day} {year}"
    return long, f"{day}, {hour}:{minute_half}"
