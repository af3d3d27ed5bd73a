"""Issue 7 through the routes: working hours and time off pages, Settings → Scheduling,
Book Session's open slots, and staff proposals outside their hours."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from prepbase import availability
from prepbase.models import LedgerEntry, TimeOff, TutoringSession, WorkingHours
from prepbase.tenancy import as_tenant
from tests.test_family_portal import HX, ZONE, World, booking, local_day, text
from tests.test_tutor_sessions import StatementCounter

WORKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
WEEKDAYS_9_TO_5 = dict.fromkeys(WORKDAYS, "9:00-12:00, 13:00-17:00")


@pytest.fixture
def world(app, db_session, business) -> World:
    return World(app, db_session, business)


def hours_of(db_session, business, staff) -> list[tuple[int, int, int]]:
    with as_tenant(business.tenant.id):
        return [
            (r.weekday, r.start_minute, r.end_minute)
            for r in db_session.scalars(
                select(WorkingHours)
                .where(WorkingHours.staff_id == staff.id)
                .order_by(WorkingHours.weekday, WorkingHours.start_minute)
            )
        ]


def count(db_session, business, model) -> int:
    with as_tenant(business.tenant.id):
        return db_session.scalar(select(func.count(model.id)))


def every_day(world, ranges="8:00-20:00", staff=None):
    """Give a staff member working hours every day (through the domain)."""
    staff = staff or world.b.tutor
    week = {d: availability.parse_ranges(ranges, field="x", day_name="x") for d in range(7)}
    with world.scope():
        availability.set_weekly_hours(world.db, world.b.tenant, world.b.admin, staff, week)


def next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    today = datetime.now(ZONE).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


# --- working hours ----------------------------------------------------------------------------


def test_a_tutor_sets_weekly_hours(client, auth, business, db_session):
    auth.as_role(business, "tutor")
    page = text(client.get("/acme/tutor/availability"))
    assert "No working hours yet" in page and "America/New York" in page
    response = client.post("/acme/tutor/availability/hours", data=WEEKDAYS_9_TO_5)
    assert response.status_code == 303
    assert hours_of(db_session, business, business.tutor)[:2] == [(0, 540, 720), (0, 780, 1020)]
    assert len(hours_of(db_session, business, business.tutor)) == 10
    page = text(client.get("/acme/tutor/availability"))
    assert "No working hours yet" not in page
    assert 'value="09:00–12:00, 13:00–17:00"' in page


def test_bad_ranges_answer_422_with_every_days_message_and_nothing_is_written(
    client, auth, business, db_session
):
    auth.as_role(business, "tutor")
    client.post("/acme/tutor/availability/hours", data={"monday": "10-11"})
    response = client.post(
        "/acme/tutor/availability/hours",
        data={"monday": "9-12, 11-14", "tuesday": "17:00-9:00", "wednesday": "9-17"},
        headers=HX,
    )
    assert response.status_code == 422
    body = text(response)
    assert "Monday: 9:00 AM–12:00 PM and 11:00 AM–2:00 PM overlap." in body
    assert "Tuesday: 5:00 PM–9:00 AM ends before it starts." in body
    assert body.lstrip().startswith('<form id="hours-form"')
    assert hours_of(db_session, business, business.tutor) == [(0, 600, 660)]


def test_time_off_is_added_listed_and_removed(client, auth, business, db_session):
    auth.as_role(business, "counselor")
    first = local_day(10)
    response = client.post(
        "/acme/tutor/availability/time-off",
        data={
            "first_day": first.isoformat(),
            "last_day": (first + timedelta(days=2)).isoformat(),
            "note": "Conference",
        },
    )
    assert response.status_code == 303
    page = text(client.get("/acme/tutor/availability"))
    assert "Conference" in page
    with as_tenant(business.tenant.id):
        row = db_session.scalar(select(TimeOff))
    assert (row.starts_local, row.ends_local) == (
        datetime.combine(first, time()),
        datetime.combine(first + timedelta(days=3), time()),
    )
    assert client.post(f"/acme/tutor/availability/time-off/{row.id}/delete").status_code == 303
    assert count(db_session, business, TimeOff) == 0


def test_time_off_ending_before_it_starts_is_422_and_not_written(
    client, auth, business, db_session
):
    auth.as_role(business, "tutor")
    day = local_day(5)
    response = client.post(
        "/acme/tutor/availability/time-off",
        data={
            "first_day": day.isoformat(),
            "start_time": "15:00",
            "last_day": day.isoformat(),
            "end_time": "14:00",
        },
        headers=HX,
    )
    assert response.status_code == 422
    assert "The time off ends before it starts." in text(response)
    assert count(db_session, business, TimeOff) == 0


def test_time_off_over_booked_sessions_warns(client, auth, business, world):
    world.package("10")
    ts = world.book(60, days=4)
    auth.as_role(business, "tutor")
    day = local_day(4).isoformat()
    client.post("/acme/tutor/availability/time-off", data={"first_day": day, "last_day": day})
    page = text(client.get("/acme/tutor/availability"))
    assert "Tara Tutor has 1 pending or upcoming session(s) in that time" in page
    world.reload(ts)
    assert ts.status == "upcoming"  # told, not cancelled


def test_someone_elses_time_off_is_a_404(client, auth, business, world, db_session):
    with world.scope():
        row = availability.add_time_off(
            db_session,
            business.tenant,
            business.counselor,
            business.counselor,
            first_day=local_day(3),
            last_day=local_day(3),
        )
    auth.as_role(business, "tutor")
    assert client.post(f"/acme/tutor/availability/time-off/{row.id}/delete").status_code == 404
    wrong_owner = f"/acme/admin/staff/{business.tutor.id}/availability/time-off/{row.id}/delete"
    assert client.post(wrong_owner).status_code == 403  # tutors never reach admin pages
    auth.logout(business)
    auth.as_role(business, "admin")
    assert client.post(wrong_owner).status_code == 404
    assert count(db_session, business, TimeOff) == 1


def test_an_admin_edits_anyones_hours_from_the_staff_page(client, auth, business, db_session):
    auth.as_role(business, "admin")
    staff_page = text(client.get("/acme/admin/staff"))
    link = f"/acme/admin/staff/{business.tutor.id}/availability"
    assert f'href="{link}"' in staff_page and "Not set" in staff_page
    page = text(client.get(link))
    assert "Working hours of Tara Tutor" in page
    assert client.post(f"{link}/hours", data={"saturday": "10-14"}).status_code == 303
    assert hours_of(db_session, business, business.tutor) == [(5, 600, 840)]
    day = local_day(8).isoformat()
    response = client.post(f"{link}/time-off", data={"first_day": day, "last_day": day})
    assert response.headers["Location"] == link
    assert count(db_session, business, TimeOff) == 1
    # a parent has no working hours: 404, like a row of another business
    assert client.get(f"/acme/admin/staff/{business.parent.id}/availability").status_code == 404
    assert (
        client.post(
            f"/acme/admin/staff/{business.parent.id}/availability/hours", data={"monday": "9-10"}
        ).status_code
        == 404
    )
    assert hours_of(db_session, business, business.parent) == []


# --- Settings → Scheduling ------------------------------------------------------------------


def test_scheduling_settings_default_and_save(client, auth, business, db_session):
    auth.as_role(business, "admin")
    page = text(client.get("/acme/admin/settings"))
    assert 'id="scheduling-form"' in page
    assert 'name="scheduling-notice_hours" required type="text" value="24"' in page
    assert 'value="60"' in page
    assert '<option selected value="30">30 minutes</option>' in page
    assert '<option selected value="24">24 hours before</option>' in page
    response = client.post(
        "/acme/admin/settings/scheduling",
        data={
            "scheduling-notice_hours": "0",
            "scheduling-horizon_days": "30",
            "scheduling-step_minutes": "15",
            "scheduling-reminder_hours": "0",
        },
    )
    assert response.status_code == 303
    db_session.refresh(business.tenant)
    t = business.tenant
    assert (t.booking_notice_minutes, t.booking_horizon_days, t.slot_step_minutes) == (0, 30, 15)
    assert t.reminder_hours == 0
    assert '<option selected value="0">Off</option>' in text(client.get("/acme/admin/settings"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scheduling-notice_hours": "-1"}, "Hours cannot be negative."),
        ({"scheduling-horizon_days": "0"}, "Enter 1 to 365 days."),
        ({"scheduling-horizon_days": "soon"}, "Not a valid integer value."),
        ({"scheduling-step_minutes": "7"}, "Not a valid choice."),
        ({"scheduling-reminder_hours": "6"}, "Not a valid choice."),
    ],
)
def test_bad_scheduling_settings_are_422_and_not_saved(
    client, auth, business, db_session, changes, message
):
    auth.as_role(business, "admin")
    data = {
        "scheduling-notice_hours": "12",
        "scheduling-horizon_days": "30",
        "scheduling-step_minutes": "15",
        "scheduling-reminder_hours": "48",
        **changes,
    }
    response = client.post("/acme/admin/settings/scheduling", data=data, headers=HX)
    assert response.status_code == 422
    assert message in text(response)
    assert text(response).lstrip().startswith('<form id="scheduling-form"')
    db_session.refresh(business.tenant)
    assert business.tenant.booking_horizon_days == 60
    assert business.tenant.reminder_hours == 24


# --- Book Session offers open slots -----------------------------------------------------------


@pytest.fixture
def parent(client, auth, business):
    auth.as_role(business, "parent")
    return client


def slot_values(body: str) -> list[str]:
    return re.findall(r'name="start_time" value="(\d\d:\d\d)"', body)


def choices(business, **more) -> dict[str, str]:
    return {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "duration": "1",
        **more,
    }


def test_book_session_offers_the_next_open_times(parent, business, world):
    every_day(world, "16:00-18:00")
    page = text(parent.get("/acme/family/sessions/new?" + _query(choices(business))))
    assert "Open times on " in page
    assert slot_values(page) == ["16:00", "16:30", "17:00"]
    assert "4:00 PM E" in page  # the zone is named (EST or EDT)
    assert "Other days with open times:" in page
    assert 'type="date"' in page and 'min="' in page


def test_picking_a_day_loads_its_slots_with_htmx(parent, business, world):
    every_day(world, "9:00-11:00")
    world.package("10")
    day = local_day(5)
    world.book(60, starts_at=_at(day, 9, 30))  # Tara is busy 9:30-10:30
    response = parent.get(
        "/acme/family/slots?" + _query(choices(business, date=day.isoformat())), headers=HX
    )
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="slots"')
    assert slot_values(body) == []  # 9:00 clashes, 10:30 would end after 11:00 … but:
    response = parent.get(
        "/acme/family/slots?" + _query(choices(business, date=day.isoformat(), duration="0.5")),
        headers=HX,
    )
    assert slot_values(text(response)) == ["09:00", "10:30"]
    # without JavaScript the fragment URL sends the browser to the whole page
    plain = parent.get("/acme/family/slots?" + _query(choices(business, date=day.isoformat())))
    assert plain.status_code == 303 and "/acme/family/sessions/new?" in plain.headers["Location"]


def test_staff_without_hours_are_booked_at_any_time_as_before(parent, business):
    page = text(parent.get("/acme/family/sessions/new?" + _query(choices(business))))
    assert "Tara Tutor has not set working hours yet" in page
    assert 'name="start_time" required type="time"' in page


def test_booking_an_open_slot_debits(parent, business, world, db_session):
    every_day(world, "9:00-17:00")
    package = world.package("10")
    data = booking(business, date=local_day(3).isoformat(), start_time="10:00", duration="1")
    response = parent.post("/acme/family/sessions/new", data=data)
    assert response.status_code == 303, text(response)
    world.reload(package)
    assert package.remaining_minutes == 540


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_time": "07:00"}, "outside Tara Tutor&#39;s working hours"),
        ({"start_time": "10:10"}, "they start every 30 minutes"),
        ({"date": "SOON"}, "Book at least 24 hours ahead"),
        ({"date": local_day(70).isoformat()}, "takes bookings up to 60 days ahead"),
    ],
)
def test_a_hand_made_post_outside_the_open_slots_is_422_and_writes_nothing(
    parent, business, world, db_session, changes, message
):
    every_day(world, "0:00-24:00" if changes.get("date") == "SOON" else "9:00-17:00")
    package = world.package("10")
    if changes.get("date") == "SOON":  # the next half hour but one: on the step, in hours
        soon = datetime.now(ZONE).replace(second=0, microsecond=0) + timedelta(minutes=90)
        soon -= timedelta(minutes=soon.minute % 30)
        changes = {"date": soon.date().isoformat(), "start_time": soon.strftime("%H:%M")}
    data = booking(business, date=local_day(3).isoformat(), start_time="10:00", duration="1")
    data.update(changes)
    response = parent.post("/acme/family/sessions/new", data=data, headers=HX)
    assert response.status_code == 422
    assert message in text(response)
    assert count(db_session, business, TutoringSession) == 0
    assert count(db_session, business, LedgerEntry) == 1  # the grant only
    world.reload(package)
    assert package.remaining_minutes == 600


def test_a_slot_taken_a_moment_ago_is_refused_and_the_slots_refresh(parent, business, world):
    every_day(world, "9:00-12:00")
    package = world.package("10")
    world.package("10", student=business.students[1])
    day = local_day(3)
    world.book(60, starts_at=_at(day, 10), student=business.students[1])  # the other tab won
    data = booking(business, date=day.isoformat(), start_time="10:00", duration="1")
    response = parent.post("/acme/family/sessions/new", data=data, headers=HX)
    assert response.status_code == 422
    body = text(response)
    assert "that time was just taken" in body
    assert "10:00" not in slot_values(body) and "11:00" in slot_values(body)
    world.reload(package)
    assert package.remaining_minutes == 600


def test_another_business_staff_member_is_refused_for_slots_and_booking(
    parent, business, other_business, world, db_session
):
    data = booking(business, staff=str(other_business.tutor.id))
    assert parent.post("/acme/family/sessions/new", data=data).status_code == 422
    body = text(
        parent.get(
            "/acme/family/slots?" + _query(choices(business, staff=str(other_business.tutor.id))),
            headers=HX,
        )
    )
    assert "Choose a tutor or counselor who offers this service." in body
    assert count(db_session, business, TutoringSession) == 0


def test_the_slot_fragment_costs_the_same_queries_with_a_month_of_sessions(
    app, parent, business, world
):
    every_day(world, "7:00-21:00")
    day = local_day(12)
    url = "/acme/family/slots?" + _query(choices(business, date=day.isoformat()))

    def statements() -> int:
        with StatementCounter(app) as counter:
            response = parent.get(url, headers=HX)
        assert response.status_code == 200
        return counter.count

    empty = statements()
    world.package("200")
    world.package("200", student=business.students[1])
    for n in range(2, 32):
        world.book(60, starts_at=_at(local_day(n), 9), student=business.students[n % 2])
        world.book(60, starts_at=_at(local_day(n), 15), student=business.students[n % 2])
    busy = statements()
    assert busy == empty <= 8, (empty, busy)


# --- staff propose anywhere, with a warning ---------------------------------------------------


def test_staff_proposing_outside_their_hours_are_told_not_refused(
    client, auth, business, world, db_session
):
    every_day(world, "9:00-17:00")
    auth.as_role(business, "tutor")
    data = {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "date": local_day(2).isoformat(),
        "start_time": "19:00",
        "duration": "1",
    }
    response = client.post("/acme/tutor/sessions/new", data=data)
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "Note: This session is outside Tara Tutor&#39;s working hours." in page
    assert count(db_session, business, TutoringSession) == 1
    data["start_time"] = "10:00"
    response = client.post("/acme/tutor/sessions/new", data=data)
    assert "Note:" not in text(client.get(response.headers["Location"]))


# --- helpers ----------------------------------------------------------------------------------


def _query(values: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)
