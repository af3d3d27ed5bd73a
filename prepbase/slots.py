"""Book Session's choices: who a session can be booked with, and the open times one
choice of student, service, staff member, duration and day leaves.

The open times themselves are `availability`'s rules (working hours, time off, notice,
horizon, step); this module turns them into what the family is offered: a day and its
times, the next days that have some, or the sentence that says why there are none. It
costs the two queries of `availability.load_schedule`, whatever the window scanned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from prepbase.availability import format_minute, load_schedule
from prepbase.localtime import business_today, zone_of
from prepbase.models import STAFF_ROLES, Service, StaffService, Student, Tenant, User
from prepbase.models.categories import NO_BUFFERS, Buffers

OTHER_DAYS = 6  # open days offered next to the chosen one
SCAN_DAYS = 21  # how far past a chosen day to look for them


def bookable_staff(session: Session, service: str | None = None) -> list[User]:
    """Active staff who deliver `service` (or any service when it is not known): whom a
    family may book, and whom an admin may propose a session for."""
    query = (
        select(User)
        .where(User.role.in_(STAFF_ROLES), User.active.is_(True))
        .options(selectinload(User.service_rows))
        .order_by(User.name, User.id)
    )
    if service in set(Service):
        query = query.where(User.service_rows.any(StaffService.service == service))
    else:
        query = query.where(User.service_rows.any())
    return list(session.scalars(query))


def offered_services(session: Session) -> set[str]:
    """The services some active staff member delivers: the only ones a family may book
    (nobody could take a Counseling booking without a counselor)."""
    query = (
        select(StaffService.service)
        .join(User, User.id == StaffService.user_id)
        .where(User.role.in_(STAFF_ROLES), User.active.is_(True))
        .distinct()
    )
    return {str(service) for service in session.scalars(query)}


class OpenTime(NamedTuple):
    """One open start: its value for the form ("16:00") and its label ("4:00 PM EST")."""

    value: str
    label: str


class OpenDay(NamedTuple):
    """Another day with open times, and how many."""

    day: date
    open_times: int


@dataclass
class SlotPicker:
    """The "When" part of Book Session: a day and its open start times, or why not."""

    message: str | None = None  # shown instead of times (choose a tutor first, …)
    staff: User | None = None
    any_time: bool = False  # the staff member has no working hours: a time field instead
    day: date | None = None  # the day shown (the first open one when none was chosen)
    bookable: tuple[date, date] | None = None  # the first and last day a family may book
    slots: list[OpenTime] = field(default_factory=list)
    other_days: list[OpenDay] = field(default_factory=list)


def pick_slots(
    session: Session,
    tenant: Tenant,
    *,
    student: Student | None,
    service: str | None,
    staff_id: int | None,
    duration_minutes: int | None,
    day: date | None,
    now: datetime,
    day_refused: bool = False,
    buffers: Buffers = NO_BUFFERS,
) -> SlotPicker:
    """The open times of `day` for this choice, or of the first open day when `day` is
    None; when the day has none, the next days that do (`OTHER_DAYS` of them, looked for
    `SCAN_DAYS` ahead). A missing choice (None) gets the sentence asking for it;
    `day_refused` (the form refused the day typed) asks for a day instead of guessing one.
    `buffers`: those of the chosen category (minutes kept free before and after).
    """
    if student is None or service not in set(Service) or staff_id is None:
        return SlotPicker(
            message="Choose the student, the service and the tutor or counselor "
            "to see the open times."
        )
    if duration_minutes is None:
        return SlotPicker(message="Enter how long the session lasts to see the open times.")
    today = business_today(tenant, now)
    horizon_end = today + timedelta(days=tenant.booking_horizon_days)
    first = day or today
    last = min(horizon_end, first + timedelta(days=SCAN_DAYS)) if day else horizon_end
    schedule = load_schedule(
        session,
        tenant,
        staff_id,
        first_day=first,
        last_day=max(first, last),
        student=student,
        service=service,
        buffers=buffers,
    )
    if schedule is None:
        return SlotPicker(message="Choose a tutor or counselor who offers this service.")
    staff = schedule.staff
    if not schedule.has_hours:
        return SlotPicker(staff=staff, any_time=True, day=day)
    if day_refused:  # a refused POST without a valid day: do not guess one
        return SlotPicker(staff=staff, message="Choose a day to see its open times.")
    bookable = (schedule.first_day(now), schedule.last_day(now))
    if day is None:
        upcoming = schedule.open_days(duration_minutes, now, limit=OTHER_DAYS + 1)
        if not upcoming:
            return SlotPicker(
                staff=staff,
                bookable=bookable,
                message=f"{staff.name} has no open times in the next "
                f"{tenant.booking_horizon_days} days. Contact {tenant.name} to find a time. "
                f"{tenant.how_to_reach()}".rstrip(),
            )
        (day, starts), others = upcoming[0], upcoming[1:]
    else:
        starts = schedule.day_slots(day, duration_minutes, now)
        # Other days only when this one has nothing: picking a day stays cheap.
        others = (
            [] if starts else schedule.open_days(duration_minutes, now, after=day, limit=OTHER_DAYS)
        )
    return SlotPicker(
        staff=staff,
        day=day,
        bookable=bookable,
        slots=open_times(tenant, starts),
        other_days=[OpenDay(d, len(found)) for d, found in others],
    )


def open_times(tenant: Tenant, starts: list[datetime]) -> list[OpenTime]:
    """Each open start (UTC) as the business's wall-clock time: one conversion per slot,
    the zone looked up once."""
    zone = zone_of(tenant)
    times = []
    for at in starts:
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        times.append(
            OpenTime(
                format_minute(minute, clock24=True), f"{format_minute(minute)} {local.tzname()}"
            )
        )
    return times
