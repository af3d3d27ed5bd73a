"""The Calendar's rules (prepbase/calendar_view.py): which days a page holds, the time
grid across daylight-saving changes (America/New_York and Europe/Berlin), month edges,
whose sessions a viewer sees, statuses, shading and free times, overlapping sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from prepbase import availability, people, scheduling
from prepbase.calendar_view import (
    ALL_STATUSES,
    NEEDS_COMPLETION,
    Calendar,
    Filters,
    Scope,
    View,
    build_calendar,
    filter_choices,
    status_choices,
    window_of,
)
from prepbase.errors import DomainError
from prepbase.localtime import DAY_OUT_OF_RANGE
from prepbase.models import Role, SessionStatus, utcnow
from prepbase.tenancy import as_tenant
from tests.factories import business_today

NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"


@pytest.fixture
def b(app, business, db_session):
    """The factories' business (New York), with its tenant scope and an app context."""
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def at(zone: str, day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A wall-clock time of `zone` as UTC (`fold=1`: the second of a repeated hour)."""
    local = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).replace(fold=fold)
    return local.astimezone(UTC)


def propose(db, b, starts_at, *, staff=None, student=0, minutes=60):
    """A PENDING session (no hours needed), proposed a day before it starts; `student`
    is an index into the business's students, or a student."""
    staff = staff or b.tutor
    return scheduling.propose_session(
        db,
        b.tenant,
        staff,
        student=b.students[student] if isinstance(student, int) else student,
        staff=staff,
        service=staff.services[0].value,
        starts_at=starts_at,
        duration_minutes=minutes,
        now=starts_at - timedelta(days=1),
    )


def week(db, b, day, scope=None, filters=None, now=None, view=View.WEEK) -> Calendar:
    return build_calendar(
        db,
        b.tenant,
        scope or Scope.business(),
        window_of(b.tenant, view, day),
        filters or Filters(status=ALL_STATUSES),
        now or utcnow(),
    )


def day_of(cal: Calendar, day: date):
    return next(d for d in cal.days if d.day == day)


def event_ids(cal: Calendar) -> set[int]:
    return {e.session_id for e in cal.events}


# --- the window -----------------------------------------------------------------------------


def test_a_week_runs_monday_to_sunday_in_the_business_zone(b):
    window = window_of(b.tenant, View.WEEK, date(2026, 12, 9))
    assert (window.first, window.last) == (date(2026, 12, 7), date(2026, 12, 13))
    assert window.starts_at == datetime(2026, 12, 7, 5, tzinfo=UTC)  # midnight EST
    assert window.ends_at == datetime(2026, 12, 14, 5, tzinfo=UTC)
    assert (window.previous, window.next) == (date(2026, 11, 30), date(2026, 12, 14))
    assert window.title == "7–13 Dec 2026"
    assert window_of(b.tenant, View.WEEK, date(2026, 12, 31)).title == "28 Dec 2026 – 3 Jan 2027"
    assert window_of(b.tenant, View.WEEK, date(2026, 12, 1)).title == "30 Nov – 6 Dec 2026"


def test_a_day_and_its_neighbours(b):
    window = window_of(b.tenant, View.DAY, date(2027, 3, 14))
    assert (window.first, window.last, window.previous, window.next) == (
        date(2027, 3, 14),
        date(2027, 3, 14),
        date(2027, 3, 13),
        date(2027, 3, 15),
    )
    assert window.ends_at - window.starts_at == timedelta(hours=23)  # clocks go forward
    assert window.title == "Sunday 14 Mar 2027"


@pytest.mark.parametrize(
    ("asked", "days", "blanks"),
    [
        # November 2026 starts on a Sunday: six empty cells before it in a Monday grid.
        ("2026-11-17", "2026-10-01 2026-11-01 2026-11-30 2026-12-01", 6),
        ("2027-03-31", "2027-02-01 2027-03-01 2027-03-31 2027-04-01", 0),
        ("2028-02-29", "2028-01-01 2028-02-01 2028-02-29 2028-03-01", 1),
        ("2026-12-25", "2026-11-01 2026-12-01 2026-12-31 2027-01-01", 1),
    ],
)
def test_a_month_holds_its_days_and_no_others(b, db_session, asked, days, blanks):
    previous, first, last, following = (date.fromisoformat(d) for d in days.split())
    day = date.fromisoformat(asked)
    window = window_of(b.tenant, View.MONTH, day)
    assert (window.previous, window.first, window.last, window.next) == (
        previous,
        first,
        last,
        following,
    )
    cal = week(db_session, b, day, view=View.MONTH)
    assert (cal.days[0].day, cal.days[-1].day) == (first, last)
    assert len(cal.days) == (last - first).days + 1
    assert cal.leading_blanks == blanks
    assert cal.rows == []  # a month has no time grid


def test_month_edges_are_the_business_s_midnights(b, db_session):
    # 11:30 PM on 30 Nov in New York is already 1 Dec in UTC; it belongs to November.
    late = propose(db_session, b, at(NEW_YORK, date(2026, 11, 30), 23, 30), minutes=30)
    # 12:30 AM on 1 Dec belongs to December; 11:30 PM on 31 Oct to October.
    december = propose(db_session, b, at(NEW_YORK, date(2026, 12, 1), 0, 30), minutes=30)
    october = propose(db_session, b, at(NEW_YORK, date(2026, 10, 31), 23, 30), minutes=30)
    november = week(db_session, b, date(2026, 11, 10), view=View.MONTH)
    assert event_ids(november) == {late.id}
    assert day_of(november, date(2026, 11, 30)).events[0].times == "11:30 PM–12:00 AM"
    assert event_ids(week(db_session, b, date(2026, 12, 1), view=View.MONTH)) == {december.id}
    assert event_ids(week(db_session, b, date(2026, 10, 1), view=View.MONTH)) == {october.id}


def test_days_nobody_may_type_are_refused_and_not_linked(b):
    with pytest.raises(DomainError) as refused:
        window_of(b.tenant, View.WEEK, date(9999, 1, 1))
    assert refused.value.message == DAY_OUT_OF_RANGE
    assert window_of(b.tenant, View.MONTH, date(2100, 12, 31)).next is None
    assert window_of(b.tenant, View.DAY, date(1900, 1, 1)).previous is None
    # the last week runs past 31 Dec 2100 and still converts
    assert window_of(b.tenant, View.WEEK, date(2100, 12, 31)).last == date(2101, 1, 2)


# --- daylight saving time -----------------------------------------------------------------


def test_the_week_the_clocks_go_back_in_new_york_has_a_25_hour_sunday(b, db_session):
    sunday = date(2026, 11, 1)
    first = propose(db_session, b, at(NEW_YORK, sunday, 1, 30, fold=0), minutes=30)  # EDT
    second = propose(db_session, b, at(NEW_YORK, sunday, 1, 30, fold=1), minutes=30)  # EST
    monday_nine = propose(db_session, b, at(NEW_YORK, date(2026, 10, 26), 9))
    sunday_nine = propose(db_session, b, at(NEW_YORK, sunday, 9))
    cal = week(db_session, b, sunday)

    assert [d.minutes for d in cal.days] == [1440] * 6 + [1500]
    assert day_of(cal, sunday).clock_change == "Clocks go back: a 25-hour day"
    assert cal.zone_names == ["EDT", "EST"]
    labels = [row.label for row in cal.rows]
    assert labels[:4] == ["1 AM EDT", "1 AM EST", "2 AM", "3 AM"]  # the grid starts at 1 AM
    # The two 1:30s are an hour apart on the grid, in the order they happen.
    events = {e.session_id: e for e in cal.events}
    assert (events[first.id].top, events[second.id].top) == (30, 90)
    assert events[first.id].times_text(zones=True) == "1:30 AM EDT–1:00 AM EST"
    assert events[second.id].times_text(zones=True) == "1:30–2:00 AM EST"
    assert events[sunday_nine.id].times_text(zones=True) == "9:00–10:00 AM EST"
    # 9 AM is 9 AM on both days: the columns stay aligned on the wall clock.
    assert events[monday_nine.id].top == events[sunday_nine.id].top == (9 - 1 + 1) * 60
    # The other days have no second 1 AM: that row is shaded as missing there.
    assert [(band.kind, band.top) for band in day_of(cal, date(2026, 10, 26)).bands] == [
        ("missing", 60)
    ]
    assert day_of(cal, sunday).bands == []


def test_the_week_the_clocks_go_forward_in_new_york_has_a_23_hour_sunday(b, db_session):
    sunday = date(2027, 3, 14)
    early = propose(db_session, b, at(NEW_YORK, sunday, 1, 30))  # 1:30 EST to 3:30 EDT
    saturday_nine = propose(db_session, b, at(NEW_YORK, date(2027, 3, 13), 9))
    sunday_nine = propose(db_session, b, at(NEW_YORK, sunday, 9))
    cal = week(db_session, b, sunday)

    assert [d.minutes for d in cal.days] == [1440] * 6 + [1380]
    assert day_of(cal, sunday).clock_change == "Clocks go forward: a 23-hour day"
    assert [row.label for row in cal.rows][:3] == ["1 AM", "2 AM", "3 AM"]
    events = {e.session_id: e for e in cal.events}
    # An hour long, it spans 1:30 to 3:30 on the wall clock, across the missing 2 AM.
    assert (events[early.id].minutes, events[early.id].top, events[early.id].height) == (
        60,
        30,
        120,
    )
    assert events[early.id].times == "1:30–3:30 AM"
    assert events[saturday_nine.id].top == events[sunday_nine.id].top == 8 * 60
    assert [(band.kind, band.top) for band in day_of(cal, sunday).bands] == [("missing", 60)]
    assert day_of(cal, date(2027, 3, 13)).bands == []


@pytest.mark.parametrize(
    ("sunday", "minutes", "names"),
    [(date(2026, 10, 25), 1500, ["CEST", "CET"]), (date(2027, 3, 28), 1380, ["CET", "CEST"])],
)
def test_berlin_changes_its_clocks_on_its_own_sundays(b, db_session, sunday, minutes, names):
    b.tenant.timezone = BERLIN
    db_session.flush()
    ten = propose(db_session, b, at(BERLIN, sunday, 10))
    cal = week(db_session, b, sunday)
    monday = sunday - timedelta(days=6)
    assert cal.window.starts_at == at(BERLIN, monday, 0)
    assert cal.window.ends_at - cal.window.starts_at == timedelta(minutes=6 * 1440 + minutes)
    assert [d.minutes for d in cal.days] == [1440] * 6 + [minutes]
    assert cal.zone_names == names
    [event] = cal.events
    assert (event.session_id, event.starts.hour, event.top) == (ten.id, 10, (10 - 8) * 60)
    # New York's changes are a week later (back) or two earlier (forward): ordinary here.
    assert week(db_session, b, date(2026, 11, 1)).days[-1].minutes == 1440


# --- who sees what ---------------------------------------------------------------------------


def other_family(db, b):
    """A second family of the same business, with one student."""
    family = people.create_family(db, b.admin, name="Other family")
    return people.save_student(
        db, b.admin, None, family=family, first_name="Olly", last_name="Other",
        grade="9", school="", notes="",
    )  # fmt: skip


def test_a_staff_member_sees_only_their_own_sessions(b, db_session):
    day = business_today(10)
    mine = propose(db_session, b, at(NEW_YORK, day, 9))
    theirs = propose(db_session, b, at(NEW_YORK, day, 11), staff=b.counselor, student=1)
    own = Scope.staff(b.tutor.id)
    assert event_ids(week(db_session, b, day, own)) == {mine.id}
    # A filter narrows the scope, never widens it.
    asked = Filters(staff_id=b.counselor.id, status=ALL_STATUSES)
    assert event_ids(week(db_session, b, day, own, asked)) == set()
    assert event_ids(week(db_session, b, day)) == {mine.id, theirs.id}


def test_a_family_sees_only_its_students_sessions(b, db_session):
    day = business_today(10)
    olly = other_family(db_session, b)
    ada = propose(db_session, b, at(NEW_YORK, day, 9))
    ben = propose(db_session, b, at(NEW_YORK, day, 11), student=1)
    others = propose(db_session, b, at(NEW_YORK, day, 13), student=olly)
    parent = Scope.students(s.id for s in b.students)
    assert event_ids(week(db_session, b, day, parent)) == {ada.id, ben.id}
    asked = Filters(student_id=olly.id, status=ALL_STATUSES)
    assert event_ids(week(db_session, b, day, parent, asked)) == set()
    assert event_ids(week(db_session, b, day, Scope.students([b.students[0].id]))) == {ada.id}
    assert event_ids(week(db_session, b, day, Scope.students([]))) == set()
    assert others.id in event_ids(week(db_session, b, day))
    # Families are shown no staff member's hours and no free times.
    family_cal = week(db_session, b, day, parent, Filters(staff_id=b.tutor.id))
    assert family_cal.staff_in_view is None
    assert all(not d.free and not d.bands for d in family_cal.days)


def test_filter_choices_follow_the_scope(b, db_session):
    olly = other_family(db_session, b)
    propose(db_session, b, at(NEW_YORK, business_today(10), 9), student=1)
    business = filter_choices(db_session, Scope.business())
    assert {name for _, name in business.staff} == {
        "Acme Owner",
        "Tara Tutor",
        "Carl Counselor",
    }
    assert len(business.students) == 3
    tutor = filter_choices(db_session, Scope.staff(b.tutor.id))
    assert (tutor.staff, tutor.students) == ([], [(b.students[1].id, "Ben Acme")])
    family = filter_choices(db_session, Scope.students(s.id for s in b.students))
    assert olly.id not in {id_ for id_, _ in family.students}
    assert len(family.students) == 2


# --- statuses ----------------------------------------------------------------------------------


def test_cancelled_and_declined_are_hidden_unless_asked_for(b, db_session):
    day = business_today(10)
    kept = propose(db_session, b, at(NEW_YORK, day, 9))
    cancelled = propose(db_session, b, at(NEW_YORK, day, 11))
    scheduling.cancel_session(db_session, b.tenant, b.tutor, cancelled)
    declined = propose(db_session, b, at(NEW_YORK, day, 13))
    scheduling.decline_session(db_session, b.tenant, b.parent, declined)
    assert event_ids(week(db_session, b, day, filters=Filters())) == {kept.id}
    assert event_ids(week(db_session, b, day, filters=Filters(status="cancelled"))) == {
        cancelled.id
    }
    everything = week(db_session, b, day, filters=Filters(status=ALL_STATUSES))
    assert event_ids(everything) == {kept.id, cancelled.id, declined.id}
    assert {e.status_label for e in everything.events} == {"Pending", "Cancelled", "Declined"}
    with pytest.raises(DomainError):
        week(db_session, b, day, filters=Filters(status="lost"))


def test_an_upcoming_session_that_started_needs_completion(b, db_session, app):
    from tests.test_tutor_sessions import World

    world = World(app, b, db_session)
    world.give("10")
    started = world.started(60)
    later = world.book(60, at=at(NEW_YORK, business_today(2), 15))
    started_on = started.starts_at.astimezone(ZoneInfo(NEW_YORK)).date()  # today, mostly
    today = week(db_session, b, started_on, view=View.DAY, filters=Filters())
    [event] = today.events
    assert (event.session_id, event.status, event.status_label) == (
        started.id,
        NEEDS_COMPLETION,
        "Needs completion",
    )
    [event] = week(db_session, b, business_today(2), view=View.DAY, filters=Filters()).events
    assert (event.session_id, event.status, event.status_label) == (
        later.id,
        "upcoming",
        "Upcoming",
    )
    for status, shown in ((NEEDS_COMPLETION, {started.id}), ("upcoming", set())):
        filters = Filters(status=status)
        assert event_ids(week(db_session, b, started_on, filters=filters, view=View.DAY)) == shown


def test_the_status_filter_offers_every_status_needs_completion_and_all(b):
    values = [value for value, _ in status_choices()]
    assert values[:3] == ["pending", "upcoming", NEEDS_COMPLETION]
    assert set(values) == {s.value for s in SessionStatus} | {NEEDS_COMPLETION, ALL_STATUSES}
    assert values[-3:] == ["cancelled", "declined", ALL_STATUSES]


# --- shading, free times, overlaps ----------------------------------------------------------


def test_working_hours_and_time_off_are_shaded_and_free_times_marked(b, db_session):
    monday = business_today(14) - timedelta(days=business_today(14).weekday())
    availability.set_weekly_hours(
        db_session, b.tenant, b.tutor, b.tutor, {d: [(9 * 60, 12 * 60)] for d in range(5)}
    )
    availability.add_time_off(
        db_session, b.tenant, b.tutor, b.tutor, first_day=monday + timedelta(days=2),
        last_day=monday + timedelta(days=2), note="Dentist",
    )  # fmt: skip
    booked = propose(db_session, b, at(NEW_YORK, monday, 10))
    cal = week(db_session, b, monday, Scope.staff(b.tutor.id))
    assert cal.staff_in_view.id == b.tutor.id and cal.staff_has_hours
    first_row = cal.rows[0].hour
    assert first_row == 8  # GRID_HOURS: the grid starts at 8 AM whatever the hours

    mon = day_of(cal, monday)
    assert mon.working == "9:00 AM–12:00 PM"
    assert [(band.kind, band.top, band.height) for band in mon.bands] == [("working", 60, 180)]
    assert [f.label for f in mon.free] == ["9:00 AM", "9:30 AM", "11:00 AM", "11:30 AM"]
    assert mon.free[0].top == 60
    assert mon.events[0].session_id == booked.id

    wed = day_of(cal, monday + timedelta(days=2))
    assert wed.away == ["Time off all day (Dentist)"]
    assert {band.kind for band in wed.bands} == {"working", "away"}
    assert wed.free == []
    saturday = day_of(cal, monday + timedelta(days=5))
    assert (saturday.working, saturday.bands, saturday.free) == ("", [], [])

    # An admin sees the same when filtering on the tutor; without a filter, nobody's.
    admin = week(db_session, b, monday, filters=Filters(staff_id=b.tutor.id))
    assert day_of(admin, monday).free == mon.free
    assert week(db_session, b, monday).staff_in_view is None


def test_no_free_times_in_the_past_and_any_time_without_working_hours(b, db_session):
    today = business_today()
    cal = week(db_session, b, today, Scope.staff(b.tutor.id), view=View.DAY)
    assert cal.staff_in_view.id == b.tutor.id and not cal.staff_has_hours
    now = utcnow()
    assert all(free.starts > now for free in cal.days[0].free)
    future = week(db_session, b, business_today(3), Scope.staff(b.tutor.id), view=View.DAY)
    assert len(future.days[0].free) == 2 * len(future.rows)  # every half hour of the grid


def test_a_free_time_is_never_the_second_of_a_repeated_hour(b, db_session):
    sunday = date(2026, 11, 1)
    propose(db_session, b, at(NEW_YORK, sunday, 1, 15, fold=1), minutes=30)
    cal = week(db_session, b, sunday, Scope.staff(b.tutor.id), view=View.DAY,
               now=at(NEW_YORK, sunday, 0))  # fmt: skip
    labels = [f.label for f in cal.days[0].free]
    assert labels[:3] == ["1:00 AM", "1:30 AM", "2:00 AM"]  # EDT's 1 AM, then 2 AM EST


def test_overlapping_sessions_sit_side_by_side(b, db_session):
    day = business_today(10)
    a = propose(db_session, b, at(NEW_YORK, day, 9), minutes=90)
    c = propose(db_session, b, at(NEW_YORK, day, 10), staff=b.counselor, student=1)
    d = propose(db_session, b, at(NEW_YORK, day, 10, 45), staff=b.admin, minutes=30)
    after = propose(db_session, b, at(NEW_YORK, day, 11), student=1)
    events = {e.session_id: e for e in week(db_session, b, day, view=View.DAY).events}
    # a (9–10:30) and c (10–11) overlap; d (10:45–11:15) overlaps c and takes a's lane.
    assert [(events[i].lane, events[i].lanes) for i in (a.id, c.id, d.id)] == [
        (0, 2),
        (1, 2),
        (0, 2),
    ]
    # `after` starts at 11 as c ends, but d runs until 11:15: it still shares their run.
    assert (events[after.id].lane, events[after.id].lanes) == (1, 2)
    alone = propose(db_session, b, at(NEW_YORK, day, 14))
    events = {e.session_id: e for e in week(db_session, b, day, view=View.DAY).events}
    assert (events[alone.id].lane, events[alone.id].lanes) == (0, 1)


def test_a_parent_is_nobody_s_schedule(b, db_session):
    assert b.parent.role == Role.PARENT
    cal = week(db_session, b, business_today(), filters=Filters(staff_id=b.parent.id))
    assert cal.staff_in_view is None and cal.events == []
