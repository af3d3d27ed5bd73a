"""Book Session's "When" as a domain function (prepbase/slots.py): plain values in, the
day, its open times, the other open days or the sentence saying why not out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from prepbase import availability, slots
from prepbase.slots import OpenDay, OpenTime
from prepbase.tenancy import as_tenant
from tests.test_tutor_sessions import StatementCounter

NOW = datetime(2027, 2, 22, 12, 0, tzinfo=UTC)  # Monday, 7:00 AM in New York
TUESDAY = date(2027, 2, 23)  # the first day the 24-hour notice leaves bookable
SATURDAY = date(2027, 2, 27)
WEEKDAYS_9_TO_5 = {day: [(9 * 60, 12 * 60), (13 * 60, 17 * 60)] for day in range(5)}
OPEN_PER_WEEKDAY = 5 + 7  # one-hour starts 9:00–11:00 and 13:00–16:00


@pytest.fixture
def world(app, business, db_session):
    """Acme (New York) with tenant scope entered, as inside a request."""
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def set_hours(db_session, world, week=None) -> None:
    availability.set_weekly_hours(
        db_session, world.tenant, world.admin, world.tutor, week or WEEKDAYS_9_TO_5
    )


def pick(db_session, world, **changes):
    choice = {
        "student": world.students[0],
        "service": "tutoring",
        "staff_id": world.tutor.id,
        "duration_minutes": 60,
        "day": None,
        "now": NOW,
    }
    choice.update(changes)
    return slots.pick_slots(db_session, world.tenant, **choice)


def test_without_a_day_the_first_open_day_and_the_next_ones_are_offered(db_session, world):
    set_hours(db_session, world)
    picker = pick(db_session, world)
    assert picker.message is None and picker.staff == world.tutor
    assert picker.day == TUESDAY
    assert picker.slots[0] == OpenTime("09:00", "9:00 AM EST")
    assert len(picker.slots) == OPEN_PER_WEEKDAY
    assert picker.other_days == [
        OpenDay(TUESDAY + timedelta(days=n), OPEN_PER_WEEKDAY) for n in (1, 2, 3, 6, 7, 8)
    ]  # the weekend has no hours
    # The date field offers the days a family may book: the notice to the horizon.
    assert picker.bookable == (TUESDAY, date(2027, 4, 23))


def test_a_chosen_day_with_open_times_looks_no_further(db_session, world):
    set_hours(db_session, world)
    picker = pick(db_session, world, day=TUESDAY + timedelta(days=1))
    assert picker.day == TUESDAY + timedelta(days=1)
    assert len(picker.slots) == OPEN_PER_WEEKDAY and picker.other_days == []


def test_a_chosen_day_without_open_times_offers_the_next_open_days(db_session, world):
    set_hours(db_session, world)
    picker = pick(db_session, world, day=SATURDAY)
    assert picker.day == SATURDAY and picker.slots == []
    monday = SATURDAY + timedelta(days=2)
    assert [d.day for d in picker.other_days] == [
        monday + timedelta(days=n) for n in (0, 1, 2, 3, 4, 7)
    ]


def test_no_open_time_within_the_horizon_says_whom_to_contact(db_session, world):
    set_hours(db_session, world, {5: [(9 * 60, 12 * 60)]})  # Saturdays only
    world.tenant.booking_horizon_days = 3
    world.tenant.contact_phone = "555-0100"
    picker = pick(db_session, world)
    assert picker.message == (
        "Tara Tutor has no open times in the next 3 days. Contact Acme Tutoring to find "
        "a time. E-mail owner@acme.example.com or call 555-0100."
    )
    assert picker.slots == [] and picker.bookable == (TUESDAY, date(2027, 2, 25))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"student": None}, "Choose the student, the service and the tutor or counselor"),
        ({"service": "piano"}, "Choose the student, the service and the tutor or counselor"),
        ({"staff_id": None}, "Choose the student, the service and the tutor or counselor"),
        ({"duration_minutes": None}, "Enter how long the session lasts"),
        ({"service": "counseling"}, "Choose a tutor or counselor who offers this service."),
        ({"day_refused": True}, "Choose a day to see its open times."),
    ],
)
def test_a_missing_or_impossible_choice_is_asked_for(db_session, world, changes, message):
    set_hours(db_session, world)
    picker = pick(db_session, world, **changes)
    assert picker.message.startswith(message)
    assert picker.slots == [] and picker.day is None and picker.bookable is None


def test_another_business_staff_member_is_not_offered(db_session, world, other_business):
    set_hours(db_session, world)
    picker = pick(db_session, world, staff_id=other_business.tutor.id)
    assert picker.message == "Choose a tutor or counselor who offers this service."
    assert picker.staff is None


def test_staff_without_working_hours_are_booked_at_any_time(db_session, world):
    picker = pick(db_session, world, day=TUESDAY)
    assert picker.any_time and picker.staff == world.tutor and picker.day == TUESDAY
    assert picker.message is None and picker.slots == []


def test_the_picker_costs_two_statements_however_far_it_looks(app, db_session, world):
    set_hours(db_session, world)
    db_session.commit()
    db_session.expire_all()
    for row in (world.tenant, world.tutor, world.students[0]):  # as a request has them
        db_session.refresh(row)
    with StatementCounter(app) as counter:
        picker = pick(db_session, world)
    assert counter.count == 2
    assert picker.day == TUESDAY and len(picker.other_days) == slots.OTHER_DAYS


def test_bookable_staff_are_active_and_offer_the_service(db_session, world):
    tutoring = slots.bookable_staff(db_session, "tutoring")
    assert [u.name for u in tutoring] == ["Acme Owner", "Tara Tutor"]
    assert [u.name for u in slots.bookable_staff(db_session, "counseling")] == ["Carl Counselor"]
    everyone = slots.bookable_staff(db_session)
    assert [u.name for u in everyone] == ["Acme Owner", "Carl Counselor", "Tara Tutor"]
    world.tutor.active = False
    db_session.flush()
    assert world.tutor not in slots.bookable_staff(db_session, "tutoring")
