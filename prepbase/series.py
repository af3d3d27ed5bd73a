"""A weekly series (design §10): its rule — which days it falls on, checked and spelled
out — and the plan a person sees before a series is booked, proposed or accepted.

"Every 1–4 weeks, on one or more weekdays, from a day until a date or for N sessions, at
most a year." The rule speaks in the business's calendar days and wall-clock time; it
becomes instants only where each occurrence is booked (`scheduling`, through
`localtime.local_to_utc`), so a weekly lesson stays at 4:00 PM across a daylight-saving
change. What the occurrences then are — ordinary sessions — is `scheduling`'s business;
it fills in a `SeriesPlan`, occurrence by occurrence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from prepbase.errors import DomainError
from prepbase.models import Package, SessionCategory, Student, Subject, TutoringSession, User
from prepbase.models.series import MAX_EVERY_WEEKS, rhythm_text, weekday_mask

MAX_SPAN_DAYS = 365  # the last occurrence is at most a year after the first day
MAX_COUNT = 366  # every day for a year: more sessions than that cannot fit in one


@dataclass(frozen=True)
class WeeklyRule:
    """When a series' sessions are: the start time on the chosen weekdays of every
    `every_weeks`-th week from `first_day`'s week, from `first_day` on, until `until`
    (included) or `count` sessions."""

    first_day: date
    start: time
    weekdays: frozenset[int]  # 0 = Monday, as date.weekday()
    every_weeks: int = 1
    until: date | None = None
    count: int | None = None

    @property
    def mask(self) -> int:
        """The weekdays as stored (`SessionSeries.weekdays`)."""
        return weekday_mask(self.weekdays)

    @property
    def rhythm(self) -> str:
        """ "every Tue", "every 2 weeks on Tue and Thu"."""
        return rhythm_text(self.every_weeks, self.mask)

    @property
    def start_minute(self) -> int:
        """The start time as minutes after midnight (`SessionSeries.start_minute`)."""
        return self.start.hour * 60 + self.start.minute


def make_rule(
    *,
    first_day: date,
    start: time,
    weekdays: Iterable[int] = (),
    every_weeks: int = 1,
    until: date | None = None,
    count: int | None = None,
) -> WeeklyRule:
    """A checked rule, or a `DomainError` under the field that is wrong. No weekday
    chosen means the first day's."""
    days = frozenset(weekdays) or frozenset({first_day.weekday()})
    if not days <= set(range(7)):
        raise DomainError("Choose days of the week.", field="weekdays")
    if every_weeks not in range(1, MAX_EVERY_WEEKS + 1):
        raise DomainError(
            f"A series repeats every 1 to {MAX_EVERY_WEEKS} weeks.", field="every_weeks"
        )
    if (until is None) == (count is None):
        raise DomainError(
            "Say when the series ends: a last day, or a number of sessions (not both).",
            field="count",
        )
    last_allowed = first_day + timedelta(days=MAX_SPAN_DAYS)
    if until is not None:
        if until < first_day:
            raise DomainError("The last day is before the first session.", field="until")
        if until > last_allowed:
            raise DomainError(
                f"A series lasts at most a year: choose a last day up to "
                f"{last_allowed.day} {last_allowed.strftime('%b %Y')}.",
                field="until",
            )
    if count is not None and not 1 <= count <= MAX_COUNT:
        raise DomainError(f"Choose 1 to {MAX_COUNT} sessions.", field="count")
    rule = WeeklyRule(first_day, start, days, every_weeks, until, count)
    if count is not None and len(occurrence_days(rule)) < count:
        raise DomainError(
            f"{count} sessions {rule.rhythm} run past a year; a series lasts at most a "
            "year. Choose fewer sessions, or more days a week.",
            field="count",
        )
    return rule


def occurrence_days(rule: WeeklyRule) -> list[date]:
    """The calendar days of the rule's sessions, in order (at most a year of them)."""
    week = rule.first_day - timedelta(days=rule.first_day.weekday())  # its Monday
    last = rule.first_day + timedelta(days=MAX_SPAN_DAYS)
    if rule.until is not None:
        last = min(last, rule.until)
    days: list[date] = []
    weekdays = sorted(rule.weekdays)
    while week <= last:
        for weekday in weekdays:
            day = week + timedelta(days=weekday)
            if day < rule.first_day:
                continue
            if day > last or (rule.count is not None and len(days) == rule.count):
                return days
            days.append(day)
        week += timedelta(weeks=rule.every_weeks)
    return days


@dataclass(frozen=True)
class NewSeries:
    """A series to book or propose: who, what, and when."""

    student: Student
    staff: User
    service: str
    rule: WeeklyRule
    duration_minutes: int
    # What kind of session (design §11); None: the business's default category.
    category: SessionCategory | None = None
    subject: Subject | None = None


# --- what a series would do: the plan shown before confirming ---------------------------


class Outcome(StrEnum):
    """What a plan does with one occurrence."""

    BOOK = "book"  # booked (a package pays it) or proposed
    WAIT = "wait"  # free, but no package can pay: kept as Waiting for hours
    SKIP = "skip"  # not free, or its time does not exist that day: not made


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a plan: its day, its start (None when the wall-clock time does not
    exist that day), what is done with it, the package that would pay, and a note (why it
    is skipped, or a warning)."""

    day: date
    starts_at: datetime | None
    outcome: Outcome
    package: Package | None = None
    note: str | None = None
    session: TutoringSession | None = None  # accepting: the proposal it is


@dataclass(frozen=True)
class SeriesPlan:
    """What booking, proposing or accepting a series would do now, occurrence by
    occurrence, earliest first. The page shows it; the verb computes it again under its
    locks and refuses (`PlanChanged`) when it differs from the one the person confirmed."""

    rhythm: str
    duration_minutes: int
    occurrences: tuple[Occurrence, ...]

    def of(self, outcome: Outcome) -> list[Occurrence]:
        """The occurrences with this outcome, in order."""
        return [o for o in self.occurrences if o.outcome == outcome]

    @property
    def kept(self) -> list[Occurrence]:
        """The occurrences that become sessions (booked, proposed or waiting)."""
        return [o for o in self.occurrences if o.outcome != Outcome.SKIP]

    @property
    def fingerprint(self) -> str:
        """A short digest of the plan, carried by the confirming form."""
        text = "|".join(
            f"{o.day}/{o.starts_at.isoformat() if o.starts_at else '-'}/{o.outcome}/"
            f"{o.package.id if o.package else '-'}/{o.session.id if o.session else '-'}"
            for o in self.occurrences
        )
        return hashlib.sha256(f"{self.duration_minutes}:{text}".encode()).hexdigest()[:24]


class PlanChanged(DomainError):
    """The series would now do something else than what the person confirmed (a time was
    taken, hours were used): nothing is done, and `plan` is what it would do now."""

    def __init__(self, plan: SeriesPlan) -> None:
        super().__init__(
            "Something changed since you looked (a time was taken or hours were used). "
            "Here is what the series would do now; nothing was changed yet."
        )
        self.plan = plan
