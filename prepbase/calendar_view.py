"""The Calendar (design §10): the sessions a person may see over a day, a week or a
month, laid out in the business's wall-clock time, with the working hours and time off
of the staff member in view shaded and their free times marked.

`build_calendar` returns plain data (the days, the rows of the time grid, the events
with their place on it, shaded bands, free times); the pages only draw it. Not to be
confused with `calendar_feeds`, the iCalendar feed for calendar apps.

Daylight saving time: the time grid's rows are the wall-clock hours the days shown
have. A day when the clocks go back has 1 AM twice (25 rows, "1 AM EDT" then "1 AM
EST"); a day when they go forward has no 2 AM (23 rows). The rows of a week are the
union over its days, so every column stays aligned on the wall clock, and a row a day
does not have is shaded as missing on that day. An event sits where its instants fall.

Cost: one statement for the sessions of the window (student and staff joined in) and
the two of `availability.load_schedule` for the staff member in view, whatever the
number of sessions or days shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from math import ceil
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from prepbase.availability import Schedule, format_ranges, load_schedule
from prepbase.errors import DomainError
from prepbase.lifecycle import is_new_booking, needs_completion
from prepbase.localtime import (
    DAY_OUT_OF_RANGE,
    FIRST_DAY,
    LAST_DAY,
    business_today,
    day_start_utc,
    zone_of,
)
from prepbase.models import (
    STAFF_ROLES,
    Service,
    SessionCategory,
    SessionStatus,
    Student,
    Subject,
    Tenant,
    TimeOff,
    TutoringSession,
    User,
)
from prepbase.session_lists import CLOSED


class View(StrEnum):
    """How much of the calendar one page shows."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def label(self) -> str:
        return self.value.title()


DEFAULT_VIEW = View.WEEK
# A status the session lists do not store: upcoming, started, not completed yet
# (`lifecycle.needs_completion`). Shown, and filtered on, like a status of its own.
NEEDS_COMPLETION = "needs_completion"
ALL_STATUSES = "all"  # the filter value that shows cancelled and declined sessions too
HIDDEN = CLOSED  # cancelled and declined: shown only when the status filter asks for them
GRID_HOURS = (8, 18)  # the time grid shows at least 8 AM to 6 PM, more when sessions need it
FREE_MINUTES = 30  # a free time is this long: where a click proposes a session
MIN_EVENT_MINUTES = 20  # an event is drawn at least this tall, and overlaps as such


# --- what is shown, and which statuses ------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose sessions a viewer may see: the whole business (admins), one staff member's
    own (the staff portal), or some students' (a family). Filters only narrow it."""

    staff_id: int | None = None
    student_ids: frozenset[int] | None = None

    @classmethod
    def business(cls) -> Scope:
        return cls()

    @classmethod
    def staff(cls, staff_id: int) -> Scope:
        return cls(staff_id=staff_id)

    @classmethod
    def students(cls, student_ids: Iterable[int]) -> Scope:
        return cls(student_ids=frozenset(student_ids))

    @property
    def family(self) -> bool:
        """A family sees its sessions only: no staff member's hours, no free times."""
        return self.student_ids is not None


@dataclass(frozen=True)
class Filters:
    """What the viewer narrowed the calendar to; None means any. `status` is a
    `SessionStatus` value, NEEDS_COMPLETION, ALL_STATUSES, or None for every session
    but the cancelled and declined ones."""

    staff_id: int | None = None
    student_id: int | None = None
    service: str | None = None
    status: str | None = None
    category_id: int | None = None
    subject_id: int | None = None


def shown_status(ts: TutoringSession, now: datetime) -> str:
    """The status a person reads on the calendar: the stored one, or NEEDS_COMPLETION."""
    return NEEDS_COMPLETION if needs_completion(ts, now) else ts.status


def status_label(status: str) -> str:
    """ "Needs completion", or the status's own label ("Pending", "Waiting for hours")."""
    return "Needs completion" if status == NEEDS_COMPLETION else SessionStatus(status).label


def status_choices() -> list[tuple[str, str]]:
    """The status filter's values and labels: the statuses shown by default (needs
    completion right after upcoming), then the hidden ones, then all of them."""
    shown: list[tuple[str, str]] = []
    for status in SessionStatus:
        if status not in HIDDEN:
            shown.append((status.value, status.label))
            if status == SessionStatus.UPCOMING:
                shown.append((NEEDS_COMPLETION, status_label(NEEDS_COMPLETION)))
    hidden = [(status.value, status.label) for status in HIDDEN]
    return [*shown, *hidden, (ALL_STATUSES, "Any, cancelled and declined too")]


# --- the window: which days ---------------------------------------------------------------


def _day_text(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


@dataclass(frozen=True)
class Window:
    """The days one page shows (`first` to `last`, both included), as local days and
    as UTC instants (`starts_at` included, `ends_at` excluded), and where the previous
    and next pages start (None past the days a person may type)."""

    view: View
    day: date  # the day asked for
    first: date
    last: date
    starts_at: datetime
    ends_at: datetime
    previous: date | None
    next: date | None

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def title(self) -> str:
        """ "Monday 7 Dec 2026", "7–13 Dec 2026", "28 Dec 2026 – 3 Jan 2027", "December 2026"."""
        first, last = self.first, self.last
        if self.view == View.DAY:
            return f"{first.strftime('%A')} {_day_text(first)}"
        if self.view == View.MONTH:
            return first.strftime("%B %Y")
        if first.year != last.year:
            return f"{_day_text(first)} – {_day_text(last)}"
        if first.month != last.month:
            return f"{first.day} {first.strftime('%b')} – {_day_text(last)}"
        return f"{first.day}–{_day_text(last)}"


def _typeable(day: date) -> date | None:
    return day if FIRST_DAY <= day <= LAST_DAY else None


def window_of(tenant: Tenant | str, view: View, day: date) -> Window:
    """The day, the week (Monday to Sunday) or the month that holds `day`."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError(DAY_OUT_OF_RANGE, field="date")
    if view == View.DAY:
        first = last = day
        previous, following = day - timedelta(days=1), day + timedelta(days=1)
    elif view == View.WEEK:
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        following = (first + timedelta(days=31)).replace(day=1)
        last = following - timedelta(days=1)
        previous = (first - timedelta(days=1)).replace(day=1)
    return Window(
        view=view,
        day=day,
        first=first,
        last=last,
        starts_at=day_start_utc(tenant, first),
        ends_at=day_start_utc(tenant, last + timedelta(days=1)),
        previous=_typeable(previous),
        next=_typeable(following),
    )


# --- the plain structure the pages draw --------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One hour of the time grid: its wall-clock hour, which of a repeated hour (fold 1
    is the second 1 AM of the day the clocks go back), and its label."""

    hour: int
    fold: int
    label: str


@dataclass
class Event:
    """One session as the calendar shows it. `top` and `height` are minutes from the top
    of the time grid (day and week views); `lane` of `lanes` places it beside the
    sessions it overlaps."""

    session_id: int
    student_id: int
    student: str
    staff_id: int
    staff: str
    service: str
    status: str
    status_label: str
    new_booking: bool
    starts: datetime  # aware, in the business's zone
    ends: datetime
    minutes: int
    # The session's category (its colour carries white text, prepbase.colour) and subject.
    category: str = ""
    colour: str = ""
    subject: str | None = None
    # A group session (design §11): one event for its participations in view, naming
    # their students ("Ada, Ben"), and the group it opens for staff.
    group_id: int | None = None
    top: int = 0
    height: int = 0
    lane: int = 0
    lanes: int = 1

    @property
    def times(self) -> str:
        """ "9:00–10:00 AM", "11:30 AM–12:30 PM" (wall-clock, the business's zone)."""
        return self.times_text()

    def times_text(self, zones: bool = False) -> str:
        """`times`, with the zone's name when `zones` (the day the clocks change):
        "1:30–2:00 AM EST", "1:30 AM EDT–1:00 AM EST"."""
        start, end = _clock(self.starts), _clock(self.ends)
        if zones:
            start_zone, end_zone = self.starts.strftime("%Z"), self.ends.strftime("%Z")
            if start_zone != end_zone:
                return f"{start} {start_zone}–{end} {end_zone}"
            end = f"{end} {end_zone}"
        if start[-2:] == end.split()[1]:
            return f"{start[:-3]}–{end}"
        return f"{start}–{end}"


@dataclass(frozen=True)
class Band:
    """A shaded stretch of one day's column: "working" hours, "away" (time off), or
    "missing" (a row of the grid this day does not have: the clocks changed)."""

    kind: str
    top: int
    height: int


@dataclass(frozen=True)
class FreeTime:
    """A free half hour of the staff member in view, where a click proposes a session."""

    starts: datetime  # aware, in the business's zone
    top: int
    height: int = FREE_MINUTES

    @property
    def label(self) -> str:
        return _clock(self.starts)


@dataclass
class Day:
    """One day of the page: its sessions, and what is shaded or free in it."""

    day: date
    today: bool
    minutes: int  # how long the day is: 1440, or 1380 / 1500 when the clocks change
    events: list[Event] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    free: list[FreeTime] = field(default_factory=list)
    working: str = ""  # the staff member in view's working hours: "9:00 AM–5:00 PM"
    away: list[str] = field(default_factory=list)  # their time off that day, in words

    @property
    def label(self) -> str:
        """ "Mon 7 Dec" """
        return f"{self.day.strftime('%a')} {self.day.day} {self.day.strftime('%b')}"

    @property
    def clock_change(self) -> str:
        """What the clocks do that day, in words ("" on an ordinary day)."""
        if self.minutes == 24 * 60:
            return ""
        hours = f"{self.minutes / 60:g}"
        way = "back" if self.minutes > 24 * 60 else "forward"
        return f"Clocks go {way}: a {hours}-hour day"


@dataclass
class Calendar:
    """Everything one calendar page shows."""

    window: Window
    zone: str  # "America/New_York"
    zone_names: list[str]  # the zone's names over the window: ["EDT", "EST"] around a change
    today: date  # the business's
    rows: list[Row]  # the time grid (day and week views; none for a month)
    days: list[Day]
    staff_in_view: User | None  # whose working hours and time off are shaded
    staff_has_hours: bool

    @property
    def events(self) -> list[Event]:
        return [event for day in self.days for event in day.events]

    @property
    def grid_minutes(self) -> int:
        return len(self.rows) * 60

    @property
    def leading_blanks(self) -> int:
        """Empty cells before the 1st in a month grid whose weeks start on Monday."""
        return self.window.first.weekday() if self.window.view == View.MONTH else 0


@dataclass(frozen=True)
class Choices:
    """What the filters offer a viewer: (id, name) of staff members and of students."""

    staff: list[tuple[int, str]]
    students: list[tuple[int, str]]
    categories: list[tuple[int, str]] = field(default_factory=list)
    subjects: list[tuple[int, str]] = field(default_factory=list)


def filter_choices(session: Session, scope: Scope) -> Choices:
    """Admins choose among every staff member and student of the business; a staff
    member among the students of their own sessions; a family among its students."""
    students = select(Student.id, Student.first_name, Student.last_name).order_by(
        Student.last_name, Student.first_name, Student.id
    )
    if scope.student_ids is not None:
        students = students.where(Student.id.in_(sorted(scope.student_ids)))
    elif scope.staff_id is not None:
        taught = select(TutoringSession.student_id).where(
            TutoringSession.staff_id == scope.staff_id
        )
        students = students.where(Student.id.in_(taught))
    staff: list[tuple[int, str]] = []
    if scope == Scope.business():
        staff = [
            (id_, name if active else f"{name} (inactive)")
            for id_, name, active in session.execute(
                select(User.id, User.name, User.active)
                .where(User.role.in_(STAFF_ROLES))
                .order_by(User.name, User.id)
            )
        ]
    kinds = session.execute(
        select(SessionCategory.id, SessionCategory.name).order_by(
            SessionCategory.name, SessionCategory.id
        )
    ).all()
    subjects = session.execute(
        select(Subject.id, SessionCategory.name, Subject.name)
        .join(Subject.category)
        .order_by(SessionCategory.name, Subject.name, Subject.id)
    ).all()
    return Choices(
        staff=staff,
        students=[
            (id_, f"{first} {last}".strip()) for id_, first, last in session.execute(students)
        ],
        categories=[(id_, name) for id_, name in kinds],
        subjects=[(id_, f"{kind} → {name}") for id_, kind, name in subjects],
    )


# --- building it ----------------------------------------------------------------------------


def build_calendar(
    session: Session,
    tenant: Tenant,
    scope: Scope,
    window: Window,
    filters: Filters,
    now: datetime,
) -> Calendar:
    """The calendar of `window` for a viewer of `scope`, narrowed by `filters`."""
    zone = zone_of(tenant)
    today = business_today(tenant, now)
    sessions = _sessions(session, scope, window, filters, now)
    staff_id = None if scope.family else scope.staff_id or filters.staff_id
    schedule = (
        load_schedule(session, tenant, staff_id, first_day=window.first, last_day=window.last)
        if staff_id is not None
        else None
    )
    hours = {day: _hours_of(zone, day) for day in window.days}
    days = {day: Day(day, day == today, len(hours[day]) * 60) for day in window.days}
    groups: dict[int, Event] = {}
    for ts in sessions:
        event = _event(ts, zone, now)
        if event.group_id is not None and event.group_id in groups:
            # Only the participations the viewer may see are here: a family's own children.
            groups[event.group_id].student += f", {event.student}"
            continue
        if event.group_id is not None:
            groups[event.group_id] = event
        days[event.starts.date()].events.append(event)
    if schedule is not None:
        _describe_hours(schedule, days)
    rows: list[Row] = []
    if window.view != View.MONTH:
        rows = _rows(hours, _hour_range(days, schedule))
        grid = _Grid(zone, rows)
        for day in days.values():
            _place(grid, day, hours[day.day], schedule, now)
    return Calendar(
        window=window,
        zone=tenant.timezone,
        zone_names=list(dict.fromkeys(h.zone_name for day in hours.values() for h in day)),
        today=today,
        rows=rows,
        days=list(days.values()),
        staff_in_view=schedule.staff if schedule is not None else None,
        staff_has_hours=schedule is not None and schedule.has_hours,
    )


def _sessions(
    session: Session, scope: Scope, window: Window, filters: Filters, now: datetime
) -> Sequence[TutoringSession]:
    """The sessions starting in the window that the scope and the filters let through."""
    query = select(TutoringSession).where(
        TutoringSession.starts_at >= window.starts_at, TutoringSession.starts_at < window.ends_at
    )
    # The scope first: a filter narrows what the viewer may see, never widens it.
    if scope.staff_id is not None:
        query = query.where(TutoringSession.staff_id == scope.staff_id)
    if scope.student_ids is not None:
        query = query.where(TutoringSession.student_id.in_(sorted(scope.student_ids)))
    if filters.staff_id is not None:
        query = query.where(TutoringSession.staff_id == filters.staff_id)
    if filters.student_id is not None:
        query = query.where(TutoringSession.student_id == filters.student_id)
    if filters.service is not None:
        query = query.where(TutoringSession.service == filters.service)
    if filters.category_id is not None:
        query = query.where(TutoringSession.category_id == filters.category_id)
    if filters.subject_id is not None:
        query = query.where(TutoringSession.subject_id == filters.subject_id)
    status = filters.status
    if status is None:
        query = query.where(TutoringSession.status.not_in(HIDDEN))
    elif status == NEEDS_COMPLETION:
        query = query.where(TutoringSession.status == SessionStatus.UPCOMING)
    elif status in set(SessionStatus):
        query = query.where(TutoringSession.status == status)
    elif status != ALL_STATUSES:
        raise DomainError("Choose a status from the list.", field="status")
    query = query.options(
        # Many-to-one joins: one row per session, no statement per session.
        joinedload(TutoringSession.student).load_only(Student.first_name, Student.last_name),
        joinedload(TutoringSession.staff).load_only(User.name),
        joinedload(TutoringSession.category).load_only(
            SessionCategory.name,
            SessionCategory.colour,
            SessionCategory.location_type,
            SessionCategory.location_id,
        ),
        joinedload(TutoringSession.subject).load_only(Subject.name),
    ).order_by(TutoringSession.starts_at, TutoringSession.id)
    rows = session.scalars(query).all()
    if status in (None, ALL_STATUSES):
        return rows
    # Upcoming and needs completion share a stored status: the shown one decides.
    return [ts for ts in rows if shown_status(ts, now) == status]


def _event(ts: TutoringSession, zone: ZoneInfo, now: datetime) -> Event:
    status = shown_status(ts, now)
    return Event(
        session_id=ts.id,
        student_id=ts.student_id,
        student=ts.student.full_name,
        staff_id=ts.staff_id,
        staff=ts.staff.name,
        service=Service(ts.service).label,
        status=status,
        status_label=status_label(status),
        new_booking=is_new_booking(ts),
        starts=ts.starts_at.astimezone(zone),
        ends=ts.ends_at.astimezone(zone),
        minutes=ts.duration_minutes,
        # The category a business starts with shows no chip (nothing changes for it).
        category="" if ts.category.is_plain and ts.subject is None else ts.category.name,
        colour=ts.category.colour,
        subject=ts.subject.name if ts.subject is not None else None,
        group_id=ts.group_id,
    )


def _describe_hours(schedule: Schedule, days: dict[date, Day]) -> None:
    """The working hours and time off of each day, in words (the agenda shows them, and
    screen readers read them in place of the shading)."""
    for day in days.values():
        day.working = format_ranges(schedule.week[day.day.weekday()])
        day.away = [
            _away_text(row, day.day) for row in schedule.staff.time_off if _touches(row, day.day)
        ]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _touches(row: TimeOff, day: date) -> bool:
    return row.starts_local < _midnight(day + timedelta(days=1)) and row.ends_local > _midnight(day)


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _away_text(row: TimeOff, day: date) -> str:
    """ "Time off all day (Winter break)", "Time off 1:00 PM–3:00 PM"."""
    start = max(row.starts_local, _midnight(day))
    end = min(row.ends_local, _midnight(day + timedelta(days=1)))
    if start == _midnight(day) and end == _midnight(day + timedelta(days=1)):
        when = "all day"
    elif end == _midnight(day + timedelta(days=1)):
        when = f"from {_clock(start)}"
    else:
        when = f"{_clock(start)}–{_clock(end)}"
    note = f" ({row.note})" if row.note else ""
    return f"Time off {when}{note}"


# --- the time grid ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hour:
    """An hour of one day: where it sits on the grid and when it starts."""

    key: tuple[int, int]  # (wall-clock hour, fold)
    starts_at: datetime  # UTC
    zone_name: str  # "EDT"


def _hours_of(zone: ZoneInfo, day: date) -> list[_Hour]:
    """The hours the clocks show on `day`: 24, or 23 / 25 when they change."""
    moment, end = day_start_utc(zone.key, day), day_start_utc(zone.key, day + timedelta(days=1))
    hours = []
    while moment < end:
        local = moment.astimezone(zone)
        hours.append(_Hour((local.hour, local.fold), moment, local.strftime("%Z")))
        moment += timedelta(hours=1)
    return hours


def _end_hour(moment: datetime, day: date) -> int:
    """The wall-clock hour a grid must reach to show `moment` (24 past the day)."""
    if moment.date() > day:
        return 24
    return moment.hour + (1 if moment.minute or moment.second else 0)


def _hour_range(days: dict[date, Day], schedule: Schedule | None) -> tuple[int, int]:
    """The wall-clock hours the grid shows: GRID_HOURS, widened to every session and to
    the working hours of the staff member in view."""
    first, last = GRID_HOURS
    for day in days.values():
        for event in day.events:
            first = min(first, event.starts.hour)
            last = max(last, _end_hour(event.ends, day.day))
        if schedule is not None:
            for start, end in schedule.week[day.day.weekday()]:
                first, last = min(first, start // 60), max(last, ceil(end / 60))
    return first, last


def _hour_label(hour: int) -> str:
    return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"


def _rows(hours: dict[date, list[_Hour]], shown: tuple[int, int]) -> list[Row]:
    """The union of the days' hours within `shown`, in wall-clock order; an hour the
    clocks repeat is labelled with its zone name on each of its two rows."""
    names: dict[tuple[int, int], str] = {}
    for day_hours in hours.values():
        for hour in day_hours:
            if shown[0] <= hour.key[0] < shown[1]:
                names.setdefault(hour.key, hour.zone_name)
    keys = sorted(names)
    repeated = {hour for hour, fold in keys if fold}
    return [
        Row(hour, fold, _hour_label(hour) + (f" {names[hour, fold]}" if hour in repeated else ""))
        for hour, fold in keys
    ]


class _Grid:
    """Turns instants into minutes from the top of the grid."""

    def __init__(self, zone: ZoneInfo, rows: list[Row]) -> None:
        self.zone = zone
        self.index = {(row.hour, row.fold): i for i, row in enumerate(rows)}
        self.first = rows[0].hour if rows else 0
        self.end = rows[-1].hour + 1 if rows else 0
        self.minutes = len(rows) * 60

    def offset(self, moment: datetime, day: date) -> int:
        """Where `moment` falls in `day`'s column: 0 before the grid, its height after."""
        local = moment.astimezone(self.zone)
        if local.date() < day or (local.date() == day and local.hour < self.first):
            return 0
        if local.date() > day or local.hour >= self.end:
            return self.minutes
        return self.index[local.hour, local.fold] * 60 + local.minute

    def span(self, start: datetime, end: datetime, day: date) -> tuple[int, int]:
        top = self.offset(start, day)
        return top, self.offset(end, day) - top


def _place(
    grid: _Grid, day: Day, hours: list[_Hour], schedule: Schedule | None, now: datetime
) -> None:
    """Give the day's events their place, and shade and mark what the grid shows."""
    for event in day.events:
        event.top, event.height = grid.span(event.starts, event.ends, day.day)
    _lanes(day.events)
    present = {hour.key for hour in hours}
    day.bands = [Band("missing", i * 60, 60) for key, i in grid.index.items() if key not in present]
    if schedule is None:
        return
    start, end = hours[0].starts_at, hours[-1].starts_at + timedelta(hours=1)
    for kind, stretches in (("working", schedule.working), ("away", schedule.away)):
        for s, e in stretches.intervals:
            if s < end and e > start:
                top, height = grid.span(max(s, start), min(e, end), day.day)
                if height > 0:
                    day.bands.append(Band(kind, top, height))
    day.free = list(_free_times(grid, day.day, hours, schedule, now))


def _free_times(
    grid: _Grid, day: date, hours: list[_Hour], schedule: Schedule, now: datetime
) -> Iterable[FreeTime]:
    """The half hours of the grid the staff member could be proposed a session in: in
    the future, inside their working hours (any time when they have set none), not in
    time off, not taken by a pending or upcoming session of theirs. The second of a
    repeated hour is left out: a time typed into Propose Session means the first."""
    length = timedelta(minutes=FREE_MINUTES)
    for hour in hours:
        if hour.key not in grid.index or hour.key[1]:
            continue
        for minute in range(0, 60, FREE_MINUTES):
            start = hour.starts_at + timedelta(minutes=minute)
            end = start + length
            if start <= now:
                continue
            if schedule.has_hours and not schedule.working.covers(start, end):
                continue
            if schedule.away.overlaps(start, end) or schedule.staff_busy.overlaps(start, end):
                continue
            yield FreeTime(start.astimezone(grid.zone), grid.offset(start, day))


def _lanes(events: list[Event]) -> None:
    """Side by side: events that overlap share the column's width, each in the first
    lane free at its start; a run of overlapping events shares one lane count."""
    ordered = sorted(events, key=lambda e: (e.top, -e.height, e.session_id))
    run: list[Event] = []
    lane_ends: list[int] = []
    run_end = -1
    for event in ordered:
        bottom = event.top + max(event.height, MIN_EVENT_MINUTES)
        if run and event.top >= run_end:
            for member in run:
                member.lanes = len(lane_ends)
            run, lane_ends = [], []
        free = next((i for i, end in enumerate(lane_ends) if end <= event.top), None)
        if free is None:
            lane_ends.append(bottom)
            event.lane = len(lane_ends) - 1
        else:
            lane_ends[free] = bottom
            event.lane = free
        run.append(event)
        run_end = max(run_end, bottom) if len(run) > 1 else bottom
    for member in run:
        member.lanes = len(lane_ends)


__all__ = [
    "ALL_STATUSES",
    "DEFAULT_VIEW",
    "NEEDS_COMPLETION",
    "Band",
    "Calendar",
    "Choices",
    "Day",
    "Event",
    "Filters",
    "FreeTime",
    "Row",
    "Scope",
    "View",
    "Window",
    "build_calendar",
    "filter_choices",
    "shown_status",
    "status_choices",
    "status_label",
    "window_of",
]
