"""Open slots (issue 7): working hours, time off, sessions, notice, horizon, step, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from prepbase import availability, hours, localtime, packages, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.localtime import format_when
from prepbase.models import LedgerEntry, Package, TutoringSession
from prepbase.tenancy import as_tenant
from tests.test_tutor_sessions import StatementCounter

ZONE = ZoneInfo("America/New_York")
MONDAY = date(2027, 3, 1)
NOW = datetime(2027, 2, 22, 12, 0, tzinfo=UTC)  # the Monday before, 7:00 AM EST
NINE_TO_FIVE = {day: [(9 * 60, 12 * 60), (13 * 60, 17 * 60)] for day in range(5)}


@pytest.fixture
def world(app, business, db_session):
    """Acme (New York) with tenant scope entered, as inside a request."""
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


def clock(slots) -> list[str]:
    return [s.astimezone(ZONE).strftime("%H:%M") for s in slots]


def set_hours(db_session, world, week=None, staff=None):
    staff = staff or world.tutor
    availability.set_weekly_hours(
        db_session, world.tenant, world.admin, staff, NINE_TO_FIVE if week is None else week
    )


def slots(db_session, world, day, minutes=60, *, now=NOW, student=0, staff=None):
    staff = staff or world.tutor
    schedule = availability.load_schedule(
        db_session,
        world.tenant,
        staff.id,
        first_day=day,
        last_day=day,
        student=world.students[student],
    )
    return clock(schedule.day_slots(day, minutes, now))


def give(db_session, world, hours_text="40", student=0):
    return packages.assign_package(
        db_session,
        world.admin,
        world.students[student],
        name="Growth Package",
        service="tutoring",
        package_type="one_time",
        period=None,
        minutes=hours.parse_hours(hours_text, field="hours", max_hours=2000),
        start_date=date(2020, 1, 1),
    )


def book(db_session, world, at, minutes=60, *, student=0, staff=None, now=NOW):
    return scheduling.book_session(
        db_session,
        world.tenant,
        world.parent,
        student=world.students[student],
        staff=staff or world.tutor,
        service="tutoring",
        starts_at=at,
        duration_minutes=minutes,
        now=now,
    )


# --- working hours --------------------------------------------------------------------------


def test_slots_are_inside_working_hours_on_the_step(db_session, world):
    set_hours(db_session, world)
    assert slots(db_session, world, MONDAY) == [
        "09:00", "09:30", "10:00", "10:30", "11:00",
        "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00",
    ]  # fmt: skip
    assert slots(db_session, world, MONDAY, 150) == [
        "09:00",
        "09:30",
        "13:00",
        "13:30",
        "14:00",
        "14:30",
    ]
    assert slots(db_session, world, MONDAY + timedelta(days=5)) == []  # Saturday: no hours


def test_the_slot_step_is_a_business_setting(db_session, world):
    set_hours(db_session, world, {0: [(9 * 60, 11 * 60)]})
    world.tenant.slot_step_minutes = 15
    assert slots(db_session, world, MONDAY) == ["09:00", "09:15", "09:30", "09:45", "10:00"]
    world.tenant.slot_step_minutes = 60
    assert slots(db_session, world, MONDAY) == ["09:00", "10:00"]


def test_a_range_ending_at_midnight_runs_on_into_the_next_day(db_session, world):
    set_hours(db_session, world, {0: [(22 * 60, 24 * 60)], 1: [(0, 60)]})
    assert slots(db_session, world, MONDAY, 120) == ["22:00", "22:30", "23:00"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9-12, 13:00-17:30", [(540, 720), (780, 1050)]),
        ("9am–5pm", [(540, 1020)]),
        ("1:30 PM - 6 PM; 7pm to 12am", [(810, 1080), (1140, 1440)]),
        ("", []),
        ("20:00-24:00", [(1200, 1440)]),
    ],
)
def test_typed_ranges_are_parsed(text, expected):
    assert availability.parse_ranges(text, field="monday", day_name="Monday") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("17:00-9:00", "Monday: 5:00 PM–9:00 AM ends before it starts."),
        ("9-12, 11-14", "Monday: 9:00 AM–12:00 PM and 11:00 AM–2:00 PM overlap."),
        ("9-9", "ends before it starts"),
        ("nine to five", "write each range as start–end"),
        ("25:00-26:00", "write each range as start–end"),
    ],
)
def test_inverted_or_overlapping_ranges_are_refused(db_session, world, text, message):
    with pytest.raises(DomainError, match=message) as refused:
        availability.parse_ranges(text, field="monday", day_name="Monday")
    assert refused.value.field == "monday"


def test_set_weekly_hours_refuses_overlaps_and_writes_nothing(db_session, world):
    set_hours(db_session, world)
    db_session.commit()
    with pytest.raises(DomainError, match="overlap"):
        set_hours(db_session, world, {2: [(540, 720), (700, 800)]})
    db_session.rollback()
    db_session.refresh(world.tutor)
    assert availability.weekly_ranges(world.tutor)[0] == NINE_TO_FIVE[0]


def test_only_the_staff_member_or_an_admin_edits_hours(db_session, world):
    with pytest.raises(NotFound):
        availability.set_weekly_hours(db_session, world.tenant, world.tutor, world.counselor, {})
    with pytest.raises(NotFound):
        availability.set_weekly_hours(db_session, world.tenant, world.parent, world.tutor, {})
    with pytest.raises(NotFound):  # a parent has no working hours
        availability.set_weekly_hours(db_session, world.tenant, world.admin, world.parent, {})
    availability.set_weekly_hours(db_session, world.tenant, world.tutor, world.tutor, NINE_TO_FIVE)


# --- time off -------------------------------------------------------------------------------


def test_time_off_removes_slots_part_day_and_whole_days(db_session, world):
    set_hours(db_session, world)
    availability.add_time_off(
        db_session,
        world.tenant,
        world.tutor,
        world.tutor,
        first_day=MONDAY,
        last_day=MONDAY,
        start_time=time(10, 0),
        end_time=time(14, 0),
        note="Dentist",
    )
    availability.add_time_off(
        db_session,
        world.tenant,
        world.admin,
        world.tutor,
        first_day=MONDAY + timedelta(days=2),
        last_day=MONDAY + timedelta(days=3),
    )
    assert slots(db_session, world, MONDAY) == [
        "09:00",
        "14:00",
        "14:30",
        "15:00",
        "15:30",
        "16:00",
    ]
    assert slots(db_session, world, MONDAY + timedelta(days=1)) != []
    assert slots(db_session, world, MONDAY + timedelta(days=2)) == []
    assert slots(db_session, world, MONDAY + timedelta(days=3)) == []
    assert slots(db_session, world, MONDAY + timedelta(days=4)) != []


def test_time_off_that_ends_before_it_starts_is_refused(db_session, world):
    with pytest.raises(DomainError, match="ends before it starts") as refused:
        availability.add_time_off(
            db_session,
            world.tenant,
            world.tutor,
            world.tutor,
            first_day=MONDAY,
            last_day=MONDAY - timedelta(days=1),
        )
    assert refused.value.field == "last_day"
    with pytest.raises(DomainError, match="ends before it starts"):
        availability.add_time_off(
            db_session,
            world.tenant,
            world.tutor,
            world.tutor,
            first_day=MONDAY,
            last_day=MONDAY,
            start_time=time(15),
            end_time=time(14),
        )


# --- sessions, notice, horizon ----------------------------------------------------------------


def test_sessions_of_the_staff_member_and_of_the_student_block_slots(db_session, world):
    give(db_session, world)
    give(db_session, world, student=1)
    book(db_session, world, local(MONDAY, 9, 30), 60, student=1)  # Tara with Ben
    other = scheduling.propose_session(  # Ada with the admin (pending also blocks)
        db_session,
        world.tenant,
        world.admin,
        student=world.students[0],
        staff=world.admin,
        service="tutoring",
        starts_at=local(MONDAY, 14),
        duration_minutes=90,
        now=NOW,
    )
    cancelled = book(db_session, world, local(MONDAY, 16), 60, student=1)
    scheduling.cancel_session(db_session, world.tenant, world.parent, cancelled)
    set_hours(db_session, world)  # hours set after the bookings: they stay
    assert other.status == "pending"
    # For Ada: not Tara's 9:30-10:30, not Ada's own 14:00-15:30; the cancelled one is free.
    assert slots(db_session, world, MONDAY) == [
        "10:30", "11:00", "13:00", "15:30", "16:00",
    ]  # fmt: skip
    # For Ben his own session is Tara's too; Ada's session with the admin does not matter.
    assert "14:00" in slots(db_session, world, MONDAY, student=1)
    # The fast loop of day_slots and the booking check agree on every candidate.
    schedule = availability.load_schedule(
        db_session,
        world.tenant,
        world.tutor.id,
        first_day=MONDAY,
        last_day=MONDAY,
        student=world.students[0],
    )
    offered = set(schedule.day_slots(MONDAY, 60, NOW))
    for minute in range(0, 24 * 60, 10):
        at = local(MONDAY, minute // 60, minute % 60)
        assert (schedule.refusal(at, 60, NOW) is None) == (at in offered), at


def test_minimum_notice_and_horizon(db_session, world):
    set_hours(db_session, world, {d: [(9 * 60, 17 * 60)] for d in range(7)})
    now = local(MONDAY, 10, 10)
    assert slots(db_session, world, MONDAY, now=now) == []
    # 24 h notice: Tuesday from 10:30 on
    assert slots(db_session, world, MONDAY + timedelta(days=1), now=now)[0] == "10:30"
    world.tenant.booking_notice_minutes = 0
    assert slots(db_session, world, MONDAY, now=now)[0] == "10:30"
    world.tenant.booking_notice_minutes = 24 * 60
    horizon = MONDAY + timedelta(days=60)
    assert slots(db_session, world, horizon, now=now) != []
    assert slots(db_session, world, horizon + timedelta(days=1), now=now) == []
    world.tenant.booking_horizon_days = 7
    assert slots(db_session, world, MONDAY + timedelta(days=8), now=now) == []


def test_open_days_lists_the_next_days_with_slots(db_session, world):
    set_hours(db_session, world, {0: [(9 * 60, 10 * 60)], 3: [(9 * 60, 10 * 60)]})
    schedule = availability.load_schedule(
        db_session,
        world.tenant,
        world.tutor.id,
        first_day=NOW.date(),
        last_day=NOW.date() + timedelta(days=60),
    )
    days = schedule.open_days(60, NOW, limit=3)
    assert [d.isoformat() for d, _ in days] == ["2027-02-25", "2027-03-01", "2027-03-04"]
    assert [clock(s) for _, s in days] == [["09:00"]] * 3


# --- daylight saving --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "change"),
    [(date(2027, 3, 10), date(2027, 3, 14)), (date(2027, 11, 3), date(2027, 11, 7))],
    ids=["spring-forward", "fall-back"],
)
def test_a_week_across_a_dst_change_keeps_every_slot_on_the_wall_clock(
    db_session, world, first, change
):
    set_hours(db_session, world, {d: [(9 * 60, 17 * 60)] for d in range(7)})
    now = local(first - timedelta(days=2), 12)
    week = [first + timedelta(days=n) for n in range(8)]
    schedule = availability.load_schedule(
        db_session, world.tenant, world.tutor.id, first_day=week[0], last_day=week[-1]
    )
    per_day = {day: schedule.day_slots(day, 60, now) for day in week}
    expected = [f"{h:02d}:{m:02d}" for h in range(9, 16) for m in (0, 30)] + ["16:00"]
    for day, found in per_day.items():
        assert clock(found) == expected, day  # same 15 wall-clock slots every day
        assert len(set(found)) == 15
    offsets = {per_day[day][0].astimezone(ZONE).utcoffset() for day in week}
    assert len(offsets) == 2  # the instants did change: EST and EDT
    before, after = per_day[change - timedelta(days=1)][0], per_day[change + timedelta(days=1)][0]
    assert after - before == timedelta(days=2) - (
        timedelta(hours=1) if change.month == 3 else -timedelta(hours=1)
    )


def test_slots_on_the_nights_the_clocks_change(db_session, world):
    set_hours(db_session, world, {6: [(60, 4 * 60)]})  # Sundays 1:00-4:00 AM
    spring, fall = date(2027, 3, 14), date(2027, 11, 7)
    # Spring forward: 2:00-2:59 does not exist; 3 wall hours are 2 real hours.
    assert slots(db_session, world, spring, now=local(spring, 0) - timedelta(days=7)) == [
        "01:00", "01:30", "03:00",
    ]  # fmt: skip
    # Fall back: 1:00-1:59 happens twice; each wall-clock slot is offered once.
    fall = slots(db_session, world, fall, now=local(fall, 0) - timedelta(days=7))
    assert fall == ["01:00", "01:30", "02:00", "02:30", "03:00"]


def test_a_booked_session_keeps_its_wall_clock_time_across_the_change(db_session, world):
    set_hours(db_session, world, {d: [(9 * 60, 17 * 60)] for d in range(7)})
    give(db_session, world)
    at = localtime.local_to_utc(world.tenant, date(2027, 3, 16), time(16))
    ts = book(db_session, world, at, now=datetime(2027, 3, 12, 12, tzinfo=UTC))
    db_session.expire_all()
    assert format_when("America/New_York", ts.starts_at) == "Tue 16 Mar 2027, 4:00 PM EDT"
    assert ts.starts_at == datetime(2027, 3, 16, 20, tzinfo=UTC)


# --- the server re-checks at booking time -------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (local(MONDAY, 8), "outside Tara Tutor's working hours"),
        (local(MONDAY, 11, 30), "outside Tara Tutor's working hours"),  # ends at 12:30
        (local(MONDAY, 9, 10), "they start every 30 minutes"),
        (local(MONDAY + timedelta(days=5), 10), "outside Tara Tutor's working hours"),
        (NOW + timedelta(hours=3), "Book at least 24 hours ahead"),
        (local(MONDAY + timedelta(days=63), 10), "up to 60 days ahead"),
    ],
)
def test_a_family_booking_outside_the_open_slots_is_refused_and_debits_nothing(
    db_session, world, at, message
):
    set_hours(db_session, world, {d: NINE_TO_FIVE[0] for d in range(5)})
    package = give(db_session, world)
    db_session.commit()
    with pytest.raises(DomainError, match=message) as refused:
        book(db_session, world, at)
    assert refused.value.field == "start_time"
    db_session.rollback()
    assert db_session.scalar(select(func.count(TutoringSession.id))) == 0
    assert (
        db_session.scalar(select(Package.remaining_minutes).where(Package.id == package.id)) == 2400
    )


def test_booking_in_time_off_is_refused(db_session, world):
    set_hours(db_session, world)
    give(db_session, world)
    availability.add_time_off(
        db_session, world.tenant, world.tutor, world.tutor, first_day=MONDAY, last_day=MONDAY
    )
    with pytest.raises(DomainError, match="Tara Tutor is away then"):
        book(db_session, world, local(MONDAY, 10))


def test_a_taken_slot_is_refused_with_that_time_was_just_taken(db_session, world):
    set_hours(db_session, world)
    give(db_session, world)
    give(db_session, world, student=1)
    book(db_session, world, local(MONDAY, 10), student=1)
    with pytest.raises(DomainError, match="that time was just taken"):
        book(db_session, world, local(MONDAY, 10, 30))
    set_hours(db_session, world, staff=world.admin)
    with pytest.raises(DomainError, match="Ben already has a session then"):
        book(db_session, world, local(MONDAY, 10), staff=world.admin, student=1)


def test_an_open_slot_books_and_debits(db_session, world):
    set_hours(db_session, world)
    package = give(db_session, world)
    ts = book(db_session, world, local(MONDAY, 13, 30), 90)
    assert (ts.status, ts.package_id, ts.charged_minutes) == ("upcoming", package.id, 90)
    assert (
        db_session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "debit"))
        == 1
    )


def test_staff_without_working_hours_are_booked_as_before(db_session, world):
    give(db_session, world)
    ts = book(
        db_session, world, local(MONDAY, 3, 7), now=local(MONDAY, 2)
    )  # any time, short notice
    assert ts.status == "upcoming"


def test_staff_may_propose_outside_their_hours_and_are_told(db_session, world):
    set_hours(db_session, world)
    at = local(MONDAY, 7)
    ts = scheduling.propose_session(
        db_session,
        world.tenant,
        world.tutor,
        student=world.students[0],
        staff=world.tutor,
        service="tutoring",
        starts_at=at,
        duration_minutes=60,
        now=NOW,
    )
    assert ts.status == "pending"
    warn = availability.outside_hours
    assert warn(db_session, world.tenant, world.tutor, at, 60) == (
        "This session is outside Tara Tutor's working hours."
    )
    assert warn(db_session, world.tenant, world.tutor, local(MONDAY, 9), 60) is None
    assert warn(db_session, world.tenant, world.counselor, at, 60) is None  # no hours set


# --- speed ------------------------------------------------------------------------------------


def test_a_days_slots_with_a_month_of_sessions_take_two_queries(app, db_session, world):
    set_hours(db_session, world, {d: [(7 * 60, 21 * 60)] for d in range(7)})
    give(db_session, world, "200")
    give(db_session, world, "200", student=1)
    for n in range(30):
        day = MONDAY + timedelta(days=n)
        book(db_session, world, local(day, 9), student=n % 2)
        book(db_session, world, local(day, 15), student=n % 2)
    db_session.commit()
    db_session.expire_all()
    for row in (world.tenant, world.tutor, world.students[0]):  # as a request has them
        db_session.refresh(row)
    day = MONDAY + timedelta(days=10)
    with StatementCounter(app) as counter:
        schedule = availability.load_schedule(
            db_session,
            world.tenant,
            world.tutor.id,
            first_day=day,
            last_day=day,
            student=world.students[0],
            service="tutoring",
        )
        found = schedule.day_slots(day, 60, NOW)
    assert counter.count == 2
    assert len(found) == 27 - 3 - 3  # 7:00..20:00 minus each session's three clashes
    now = local(MONDAY, 8)  # the first bookable day is Tuesday; the horizon ends on day 60
    with StatementCounter(app) as counter:
        schedule = availability.load_schedule(
            db_session,
            world.tenant,
            world.tutor.id,
            first_day=MONDAY,
            last_day=MONDAY + timedelta(days=60),
            student=world.students[0],
        )
        days = schedule.open_days(60, now, limit=100)
    assert counter.count == 2
    assert len(days) == 60
    assert days[0][0] == MONDAY + timedelta(days=1)
