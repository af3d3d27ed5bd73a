"""When families may book: staff working hours, time off, and the open slots they leave.

Working hours are wall-clock ranges of the business's time zone ("Monday 9:00–12:00"),
so a daylight-saving change moves no slot: Monday's 4:00 PM is 4:00 PM before and after
the clocks change. Instants (sessions, the notice, the checks) are UTC; a wall-clock time
becomes an instant only where it is compared with one.

The rules (hours, time off, minimum notice, booking horizon, slot step) apply to a staff
member once they have set weekly hours. A staff member without hours is booked as before
the feature existed: any future time, which they confirm or decline (design §3 rule 9).
That keeps a business working on the day it upgrades, before everyone has entered hours.

Computing slots costs two queries whatever the window: the staff member with their hours
and time off (one joined load), and the open sessions of the staff member and the student.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from prepbase.business import MAX_HORIZON_DAYS
from prepbase.errors import DomainError, NotFound
from prepbase.hours import hours_phrase
from prepbase.models import (
    OPEN_STATUSES,
    STAFF_ROLES,
    WEEKDAYS,
    Role,
    SessionCategory,
    StaffService,
    Student,
    Tenant,
    TimeOff,
    TutoringSession,
    User,
    WorkingHours,
)
from prepbase.models.availability import MINUTES_PER_DAY
from prepbase.models.categories import NO_BUFFERS, Buffers

TAKEN = "Sorry, that time was just taken. Choose another open time."

Interval = tuple[datetime, datetime]
Ranges = list[tuple[int, int]]


# --- typing hours: "9-12, 13:00-17:30", "9am-5pm" ------------------------------------------

_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])?\.?\s*(?:m\.?)?$", re.IGNORECASE)
_DASH = re.compile(r"\s*(?:-|–|—|\bto\b)\s*", re.IGNORECASE)


def _parse_time(text: str, *, is_end: bool) -> int | None:
    match = _TIME.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    half = (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        return None
    value = hour * 60 + minute
    return MINUTES_PER_DAY if is_end and value == 0 else value


def format_minute(minute: int, *, clock24: bool = False) -> str:
    """Minutes since midnight as "9:30 AM" (or "09:30"); 1440 is midnight at the day's end."""
    hour, rest = divmod(minute, 60)
    if clock24:
        return f"{hour:02d}:{rest:02d}"
    if minute in (0, MINUTES_PER_DAY):
        return "midnight" if minute else "12:00 AM"
    return f"{hour % 12 or 12}:{rest:02d} {'AM' if hour < 12 else 'PM'}"


def format_ranges(ranges: Sequence[tuple[int, int]], *, clock24: bool = False) -> str:
    """ "9:00 AM–12:00 PM, 1:00 PM–5:00 PM" (or "09:00–12:00, 13:00–17:00" for editing)."""
    return ", ".join(
        f"{format_minute(s, clock24=clock24)}–{format_minute(e, clock24=clock24)}"
        for s, e in ranges
    )


def parse_ranges(text: str | None, *, field: str, day_name: str) -> Ranges:
    """One day's ranges typed by a person, sorted; inverted or overlapping ranges refused."""
    ranges: Ranges = []
    for part in re.split(r"[,;]", text or ""):
        if not part.strip():
            continue
        ends = _DASH.split(part.strip())
        start = _parse_time(ends[0], is_end=False) if len(ends) == 2 else None
        end = _parse_time(ends[1], is_end=True) if len(ends) == 2 else None
        if start is None or end is None or start >= MINUTES_PER_DAY:
            raise DomainError(
                f"{day_name}: write each range as start–end, for example 9:00–12:00, 13:00–17:30.",
                field=field,
            )
        ranges.append((start, end))
    return check_ranges(ranges, field=field, day_name=day_name)


def check_ranges(ranges: Iterable[tuple[int, int]], *, field: str, day_name: str) -> Ranges:
    """Sorted ranges of one day; refuses a range that ends before it starts, and overlaps."""
    ordered = sorted(ranges)
    for start, end in ordered:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise DomainError(
                f"{day_name}: {format_ranges([(start, end)])} ends before it starts.", field=field
            )
    for (s1, e1), (s2, e2) in pairwise(ordered):
        if s2 < e1:
            raise DomainError(
                f"{day_name}: {format_ranges([(s1, e1)])} and {format_ranges([(s2, e2)])} overlap.",
                field=field,
            )
    return ordered


# --- who may edit, and the edits --------------------------------------------------------------


def check_editor(actor: User, staff: User) -> None:
    """A staff member edits their own hours; an admin edits anyone's. Others: 404."""
    if staff.role not in STAFF_ROLES:
        raise NotFound("not a staff member")
    if actor.role != Role.ADMIN and actor.id != staff.id:
        raise NotFound("not your hours")


def weekly_ranges(staff: User) -> dict[int, Ranges]:
    """The staff member's week: weekday (0 = Monday) → sorted ranges."""
    week: dict[int, Ranges] = {day: [] for day in range(7)}
    for row in staff.working_hours:
        week[row.weekday].append((row.start_minute, row.end_minute))
    return {day: sorted(ranges) for day, ranges in week.items()}


def has_working_hours(session: Session, staff_id: int) -> bool:
    """Whether a staff member has set weekly hours: until then their dashboard asks them
    to (new tutors and counselors are booked at any time until they do)."""
    first = select(WorkingHours.id).where(WorkingHours.staff_id == staff_id).limit(1)
    return session.scalar(first) is not None


def set_weekly_hours(
    session: Session,
    tenant: Tenant,
    actor: User,
    staff: User,
    week: Mapping[int, Sequence[tuple[int, int]]],
) -> None:
    """Replace the staff member's weekly working hours (days left out have none)."""
    check_editor(actor, staff)
    checked = {
        day: check_ranges(week.get(day, ()), field=WEEKDAYS[day].lower(), day_name=WEEKDAYS[day])
        for day in range(7)
    }
    session.execute(
        delete(WorkingHours)
        .where(WorkingHours.staff_id == staff.id)
        .execution_options(synchronize_session=False)
    )
    session.expire(staff, ["working_hours"])
    for day, ranges in checked.items():
        for start, end in ranges:
            session.add(
                WorkingHours(staff_id=staff.id, weekday=day, start_minute=start, end_minute=end)
            )
    session.flush()


def add_time_off(
    session: Session,
    tenant: Tenant,
    actor: User,
    staff: User,
    *,
    first_day: date,
    last_day: date,
    start_time: time | None = None,
    end_time: time | None = None,
    note: str = "",
) -> TimeOff:
    """Time off from `first_day` (at `start_time`, else its start) to `last_day` (until
    `end_time`, else its end), in the business's wall-clock time."""
    check_editor(actor, staff)
    starts = datetime.combine(first_day, start_time or time())
    ends = (
        datetime.combine(last_day, end_time)
        if end_time is not None
        else datetime.combine(last_day + timedelta(days=1), time())
    )
    if ends <= starts:
        raise DomainError("The time off ends before it starts.", field="last_day")
    if ends - starts > timedelta(days=MAX_HORIZON_DAYS + 1):
        raise DomainError("Enter time off of at most a year at a time.", field="last_day")
    row = TimeOff(staff_id=staff.id, starts_local=starts, ends_local=ends, note=note.strip())
    session.add(row)
    session.flush()
    return row


def remove_time_off(session: Session, tenant: Tenant, actor: User, row: TimeOff) -> None:
    """Delete a stretch of time off; the staff member can be booked then again."""
    check_editor(actor, row.staff)
    session.delete(row)
    session.flush()


def describe_time_off(row: TimeOff) -> str:
    """ "Mon 1 Mar – Wed 3 Mar 2027" for whole days, else with the times."""

    def day(d: datetime | date) -> str:
        return f"{d.strftime('%a')} {d.day} {d.strftime('%b %Y')}"

    def at(d: datetime) -> str:
        return f"{day(d)}, {format_minute(d.hour * 60 + d.minute)}"

    if row.whole_days:
        last = (row.ends_local - timedelta(days=1)).date()
        first = row.starts_local.date()
        return day(first) if first == last else f"{day(first)} – {day(last)}"
    if row.starts_local.date() == row.ends_local.date():
        end = row.ends_local
        return f"{at(row.starts_local)} – {format_minute(end.hour * 60 + end.minute)}"
    return f"{at(row.starts_local)} – {at(row.ends_local)}"


def sessions_during(session: Session, tenant: Tenant, row: TimeOff) -> int:
    """How many pending/upcoming sessions of the staff member fall in the time off."""
    zone = ZoneInfo(tenant.timezone)
    return session.execute(
        select(func.count(TutoringSession.id)).where(
            TutoringSession.staff_id == row.staff_id,
            TutoringSession.status.in_(OPEN_STATUSES),
            TutoringSession.starts_at < _utc(zone, row.ends_local),
            TutoringSession.ends_at > _utc(zone, row.starts_local),
        )
    ).scalar_one()


# --- time -----------------------------------------------------------------------------------


def _wall(day: date, minute: int) -> datetime:
    """Naive wall-clock time `minute` minutes after the start of `day` (1440 = next day)."""
    return datetime.combine(day, time()) + timedelta(minutes=minute)


def _utc(zone: ZoneInfo, wall: datetime) -> datetime:
    # fold=0: an ambiguous time (clocks going back) is its first occurrence, the same
    # reading as `localtime.local_to_utc`.
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _instant(zone: ZoneInfo, wall: datetime) -> datetime | None:
    """The UTC instant of a wall-clock time, or None for a time the clocks skip when they
    go forward (it does not read back as itself)."""
    at = _utc(zone, wall)
    return at if at.astimezone(zone).replace(tzinfo=None) == wall else None


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass
class _Sorted:
    """Merged, sorted intervals with bisect lookups."""

    intervals: list[Interval]
    starts: list[datetime] = field(init=False)

    def __post_init__(self) -> None:
        self.intervals = _merge(self.intervals)
        self.starts = [s for s, _ in self.intervals]

    def covers(self, start: datetime, end: datetime) -> bool:
        i = bisect_right(self.starts, start) - 1
        return i >= 0 and self.intervals[i][1] >= end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        i = bisect_left(self.starts, end) - 1  # the last interval starting before `end`
        return i >= 0 and self.intervals[i][1] > start


# --- a staff member's schedule over a window ---------------------------------------------------


@dataclass
class Schedule:
    """What decides whether a start time is open: loaded once, asked many times."""

    tenant: Tenant
    staff: User
    student: Student | None
    loaded: tuple[date, date]  # the days whose slots this schedule can answer
    week: dict[int, Ranges]
    working: _Sorted
    away: _Sorted
    staff_busy: _Sorted
    student_busy: _Sorted
    # The staff member's sessions with the buffers of their categories (design §11), and
    # the buffers of the session being placed: see `buffers_clash`.
    staff_blocked: _Sorted = field(default_factory=lambda: _Sorted([]))
    buffers: Buffers = NO_BUFFERS

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tenant.timezone)

    @property
    def has_hours(self) -> bool:
        """Families book this staff member in open slots only once they have set hours."""
        return any(self.week.values())

    def first_day(self, now: datetime) -> date:
        """The first day a family may book (the minimum notice may push it to tomorrow)."""
        return (
            (now + timedelta(minutes=self.tenant.booking_notice_minutes))
            .astimezone(self.zone)
            .date()
        )

    def last_day(self, now: datetime) -> date:
        """The last day a family may book: today plus the booking horizon."""
        return now.astimezone(self.zone).date() + timedelta(days=self.tenant.booking_horizon_days)

    def refusal(self, starts_at: datetime, minutes: int, now: datetime) -> str | None:
        """Why a family may not book this start, or None when it is an open slot."""
        tenant = self.tenant
        ends_at = starts_at + timedelta(minutes=minutes)
        if starts_at < now + timedelta(minutes=tenant.booking_notice_minutes):
            return (
                f"Book at least {hours_phrase(tenant.booking_notice_minutes)} ahead; "
                "choose a later open time."
            )
        local = starts_at.astimezone(self.zone)
        if local.date() > self.last_day(now):
            return f"{tenant.name} takes bookings up to {tenant.booking_horizon_days} days ahead."
        unstaffed = self.unstaffed(starts_at, ends_at)
        if unstaffed is not None:
            return unstaffed
        if not self._on_step(local):
            return (
                f"Choose one of the open times (they start every {tenant.slot_step_minutes} "
                "minutes)."
            )
        return self.clash(starts_at, ends_at)

    def unstaffed(self, starts_at: datetime, ends_at: datetime) -> str | None:
        """Why the staff member cannot give a session then (outside their working hours,
        or in their time off), or None. A family booking meets this among the open-slot
        rules; the business booking for a family meets this alone
        (`check_business_booking`)."""
        staff = self.staff
        if not self.working.covers(starts_at, ends_at):
            return f"That time is outside {staff.name}'s working hours; choose an open time."
        if self.away.overlaps(starts_at, ends_at):
            return f"{staff.name} is away then; choose another day."
        return None

    def clash(self, starts_at: datetime, ends_at: datetime) -> str | None:
        """Why the time is taken (rule 7: the staff member's or the student's pending or
        upcoming session overlaps it), or None when it is free."""
        if self._staff_taken(starts_at, ends_at):
            return TAKEN
        if self.student_busy.overlaps(starts_at, ends_at):
            name = self.student.first_name if self.student else "The student"
            return f"{name} already has a session then; choose another open time."
        return None

    def family_refusal(self, starts_at: datetime, minutes: int, now: datetime) -> str | None:
        """What a family booking of this start meets, as `check_family_booking` and the
        overlap check of `scheduling` together answer it: the open-slot rules once the
        staff member has set working hours; before that any future time not taken."""
        if self.has_hours:
            return self.refusal(starts_at, minutes, now)
        if starts_at <= now:
            return "That time has passed."
        return self.clash(starts_at, starts_at + timedelta(minutes=minutes))

    def away_during(self, starts_at: datetime, ends_at: datetime) -> bool:
        """The staff member has time off during this time."""
        return self.away.overlaps(starts_at, ends_at)

    def outside_hours_note(self, starts_at: datetime, ends_at: datetime) -> str | None:
        """For staff proposing a session: a warning when it falls outside the staff
        member's working hours or in their time off (they may still propose it)."""
        if not self.has_hours:
            return None
        if not self.working.covers(starts_at, ends_at):
            return f"This session is outside {self.staff.name}'s working hours."
        if self.away.overlaps(starts_at, ends_at):
            return f"This session falls in {self.staff.name}'s time off."
        return None

    def _on_step(self, local: datetime) -> bool:
        if local.second or local.microsecond:
            return False
        minute = local.hour * 60 + local.minute
        step = self.tenant.slot_step_minutes
        return any(
            s <= minute < e and (minute - s) % step == 0 for s, e in self.week[local.weekday()]
        )

    def day_slots(self, day: date, minutes: int, now: datetime) -> list[datetime]:
        """The open start times (UTC) of one local day, in order.

        Candidates are wall-clock times on the step from each range's start, so a day
        when the clocks change has the same slots as any other (a time the clocks skip
        does not exist and is not offered; a time they repeat is offered once).
        """
        if not self.first_day(now) <= day <= self.last_day(now):
            return []  # the horizon, and the notice counted in days
        zone, step = self.zone, self.tenant.slot_step_minutes
        earliest = now + timedelta(minutes=self.tenant.booking_notice_minutes)
        length = timedelta(minutes=minutes)
        found: set[datetime] = set()
        for start, end in self.week[day.weekday()]:
            for minute in range(start, end, step):  # on the step by construction
                at = _instant(zone, _wall(day, minute))
                if at is None:
                    continue
                # The remaining checks of `refusal`, in the same order (a test holds them
                # equal): this loop runs for every candidate of every day shown.
                if at >= earliest and self._free(at, at + length):
                    found.add(at)
        return sorted(found)

    def _free(self, start: datetime, end: datetime) -> bool:
        return (
            self.working.covers(start, end)
            and not self.away.overlaps(start, end)
            and not self._staff_taken(start, end)
            and not self.student_busy.overlaps(start, end)
        )

    def _staff_taken(self, start: datetime, end: datetime) -> bool:
        # `buffers_clash` over every session at once: this time with its own buffers
        # against their times, and this time against their times with their buffers.
        before, after = (timedelta(minutes=m) for m in self.buffers)
        return self.staff_busy.overlaps(start - before, end + after) or (
            self.staff_blocked.overlaps(start, end)
        )

    def open_days(
        self, minutes: int, now: datetime, *, after: date | None = None, limit: int = 7
    ) -> list[tuple[date, list[datetime]]]:
        """The next days (after `after`, within the horizon) that have open slots."""
        day = max(
            self.first_day(now), self.loaded[0], after + timedelta(days=1) if after else date.min
        )
        last = min(self.last_day(now), self.loaded[1])
        days: list[tuple[date, list[datetime]]] = []
        while day <= last and len(days) < limit:
            slots = self.day_slots(day, minutes, now)
            if slots:
                days.append((day, slots))
            day += timedelta(days=1)
        return days


# The statements of `load_schedule` differ only in their parameters, so each is built
# once: building one anew (eager loads with criteria, EXISTS, OR) cost as much CPU as
# running it, on every slots request.
@cache
def _staff_statement(with_service: bool) -> Select[User]:
    """An active staff member with their hours and the time off between the `off_from`
    and `off_to` parameters (wall-clock), of the `service` parameter when asked.

    The time off is an explicit join read by `contains_eager`, not criteria on a
    `joinedload`: loader options outlive the query (a later refresh of the staff member
    replays them), and these criteria hold parameters that only this query is given.
    """
    query = (
        select(User)
        .outerjoin(
            TimeOff,
            and_(
                TimeOff.staff_id == User.id,
                TimeOff.ends_local > bindparam("off_from"),
                TimeOff.starts_local < bindparam("off_to"),
            ),
        )
        .where(
            User.id == bindparam("staff_id"),
            User.role.in_(STAFF_ROLES),
            User.active.is_(True),
        )
        .options(joinedload(User.working_hours), contains_eager(User.time_off))
        .order_by(TimeOff.starts_local)
        # Always the rows as they are now, even if these collections were loaded before.
        .execution_options(populate_existing=True)
    )
    if with_service:
        query = query.where(User.service_rows.any(StaffService.service == bindparam("service")))
    return query


@cache
def _busy_statement() -> Select[datetime, datetime, int, int, int]:
    """Open sessions between `since` and `until` of the staff member or of the student
    (a `student_id` of None matches no session)."""
    return (
        select(
            TutoringSession.starts_at,
            TutoringSession.ends_at,
            TutoringSession.staff_id,
            SessionCategory.buffer_before_minutes,
            SessionCategory.buffer_after_minutes,
        )
        .join(SessionCategory, SessionCategory.id == TutoringSession.category_id)
        .where(
            TutoringSession.status.in_(OPEN_STATUSES),
            TutoringSession.starts_at < bindparam("until"),
            TutoringSession.ends_at > bindparam("since"),
            or_(
                TutoringSession.staff_id == bindparam("staff_id"),
                TutoringSession.student_id == bindparam("student_id"),
            ),
        )
    )


def load_schedule(
    session: Session,
    tenant: Tenant,
    staff_id: int,
    *,
    first_day: date,
    last_day: date,
    student: Student | None = None,
    service: str | None = None,
    buffers: Buffers = NO_BUFFERS,
) -> Schedule | None:
    """The staff member's hours, time off and open sessions (theirs and the student's)
    around `first_day`..`last_day`, in two queries; None if no such active staff member
    (of this business, offering `service` when given). `buffers`: those of the category
    of the session to place (its sessions keep theirs, design §11)."""
    zone = ZoneInfo(tenant.timezone)
    # One day either side: a range ending at midnight may continue into the next day,
    # and a session may run past midnight (at most 12 hours).
    wall_from = _wall(first_day - timedelta(days=1), 0)
    wall_to = _wall(last_day + timedelta(days=2), 0)
    params: dict[str, object] = {"staff_id": staff_id, "off_from": wall_from, "off_to": wall_to}
    if service is not None:
        params["service"] = service
    staff = session.scalars(_staff_statement(service is not None), params).unique().one_or_none()
    if staff is None:
        return None
    week = weekly_ranges(staff)
    days = [first_day + timedelta(days=n) for n in range(-1, (last_day - first_day).days + 2)]
    working = [
        (_utc(zone, _wall(day, s)), _utc(zone, _wall(day, e)))
        for day in days
        for s, e in week[day.weekday()]
    ]
    away = [
        (_utc(zone, row.starts_local), _utc(zone, row.ends_local))
        for row in staff.time_off
        if row.ends_local > wall_from and row.starts_local < wall_to
    ]
    busy = session.execute(
        _busy_statement(),
        {
            "staff_id": staff.id,
            "student_id": student.id if student is not None else None,
            "since": _utc(zone, wall_from),
            "until": _utc(zone, wall_to),
        },
    ).all()
    return Schedule(
        tenant=tenant,
        staff=staff,
        student=student,
        loaded=(first_day, last_day),
        week=week,
        working=_Sorted(working),
        away=_Sorted(away),
        staff_busy=_Sorted([(s, e) for s, e, who_id, _b, _a in busy if who_id == staff.id]),
        student_busy=_Sorted([(s, e) for s, e, who_id, _b, _a in busy if who_id != staff.id]),
        staff_blocked=_Sorted(
            [
                (s - timedelta(minutes=b), e + timedelta(minutes=a))
                for s, e, who_id, b, a in busy
                if who_id == staff.id
            ]
        ),
        buffers=buffers,
    )


def check_family_booking(
    session: Session,
    tenant: Tenant,
    *,
    staff: User,
    student: Student,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime,
    buffers: Buffers = NO_BUFFERS,
) -> None:
    """Refuse a family booking that is not an open slot (called by `book_session` after
    it has locked the staff member and the student, in the transaction that debits)."""
    day = starts_at.astimezone(ZoneInfo(tenant.timezone)).date()
    schedule = load_schedule(
        session, tenant, staff.id, first_day=day, last_day=day, student=student, buffers=buffers
    )
    if schedule is None or not schedule.has_hours:
        return  # no hours set: booked as before, the staff member confirms (rule 9)
    refusal = schedule.refusal(starts_at, duration_minutes, now)
    if refusal is not None:
        raise DomainError(refusal, field="start_time")


def check_business_booking(
    session: Session,
    tenant: Tenant,
    *,
    staff: User,
    starts_at: datetime,
    duration_minutes: int,
) -> None:
    """Refuse a booking the business makes for a family (`scheduling.book_for_family`)
    outside the staff member's working hours or in their time off, once they have set
    hours. The business is not held to what it asks of families: the minimum notice,
    the horizon and the step of the open times. Called after the locks, like
    `check_family_booking`; the overlap check follows in `scheduling`."""
    day = starts_at.astimezone(ZoneInfo(tenant.timezone)).date()
    schedule = load_schedule(session, tenant, staff.id, first_day=day, last_day=day)
    if schedule is None or not schedule.has_hours:
        return  # no hours set: any free future time, as for a proposal
    refusal = schedule.unstaffed(starts_at, starts_at + timedelta(minutes=duration_minutes))
    if refusal is not None:
        raise DomainError(refusal, field="start_time")


def outside_hours(
    session: Session, tenant: Tenant, staff: User, starts_at: datetime, duration_minutes: int
) -> str | None:
    """For staff proposing a session: a warning when it falls outside their working hours
    or in their time off (they may still propose it), else None."""
    day = starts_at.astimezone(ZoneInfo(tenant.timezone)).date()
    schedule = load_schedule(session, tenant, staff.id, first_day=day, last_day=day)
    if schedule is None:
        return None
    return schedule.outside_hours_note(starts_at, starts_at + timedelta(minutes=duration_minutes))
