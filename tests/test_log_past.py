"""Log Past Session (design §10, issue 13): a session that took place but was never
entered is created COMPLETED at once, and its hours are debited at that moment from the
package that would have paid on its day (rule 5 with `Package.usable_on(day)`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from prepbase import scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.localtime import local_to_utc
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    OutboundEmail,
    SessionStatus,
    TutoringSession,
)
from tests.factories import ZONE
from tests.test_hours_rules import NOW, give
from tests.test_tutor_sessions import World, text

# NOW is Tue 1 Dec 2026, 12:00 UTC (7:00 AM in New York, the factories' zone).
FRIDAY = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # Fri 27 Nov, 3:00 PM EST


@pytest.fixture
def world(app, business, db_session):
    """Acme with tenant scope entered, as the domain functions run inside a request."""
    from prepbase.tenancy import as_tenant

    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def log(db_session, business, minutes=60, *, at=FRIDAY, actor=None, staff=None, **kw):
    values = {
        "student": business.students[0],
        "staff": staff or business.tutor,
        "service": "tutoring",
        "starts_at": at,
        "duration_minutes": minutes,
        "attendance": "present",
        "topics": "Quadratics",
        "goals": "Factor fluently",
        "next_steps": "Worksheet 3",
        "now": NOW,
    }
    values.update(kw)
    return scheduling.log_past_session(
        db_session, business.tenant, actor or business.tutor, **values
    )


def entries(db_session, package) -> list[LedgerEntry]:
    return list(
        db_session.scalars(
            select(LedgerEntry).where(LedgerEntry.package_id == package.id).order_by(LedgerEntry.id)
        )
    )


def sessions_count(db_session) -> int:
    return db_session.scalar(select(func.count(TutoringSession.id)))


# --- the rule ------------------------------------------------------------------------------


def test_a_logged_session_is_completed_at_once_and_debited_now(world, db_session):
    package = give(db_session, world, "10")
    ts = log(db_session, world, 90, attendance="late")
    assert ts.status == SessionStatus.COMPLETED
    assert (ts.attendance, ts.plan_topics, ts.plan_goals) == (
        "late",
        "Quadratics",
        "Factor fluently",
    )
    assert ts.completed_at == ts.plan_submitted_at == ts.attendance_at == NOW
    assert (ts.package_id, ts.charged_minutes, ts.booked_by_family) == (package.id, 90, False)
    assert ts.scheduled_by_id == world.tutor.id
    db_session.refresh(package)
    assert package.remaining_minutes == 600 - 90
    debit = entries(db_session, package)[-1]
    assert (debit.kind, debit.minutes, debit.session_id) == (EntryKind.DEBIT, -90, ts.id)
    # the family reads who logged it, and when, in the package history
    assert debit.note == "Logged on Tue 1 Dec 2026 by Tara Tutor"
    assert debit.created_at is not None


def test_the_package_that_would_have_paid_on_its_day_pays_not_todays(world, db_session):
    # Old covered late November and expired on Sun 29 Nov; New started on Mon 30 Nov.
    # A session booked today would be paid by New; a logged one of Fri 27 Nov by Old.
    old = give(
        db_session, world, "5", name="Old", start=date(2026, 10, 1), expires_on=date(2026, 11, 29)
    )
    new = give(db_session, world, "10", name="New", start=date(2026, 11, 30))
    assert scheduling.preview_package(
        db_session, world.tenant, TutoringSession(
            student_id=world.students[0].id, service="tutoring",
            starts_at=NOW + timedelta(days=1), duration_minutes=60,
        ),
    ).id == new.id  # fmt: skip
    friday = log(db_session, world, 60)
    assert friday.package_id == old.id
    # and one of Mon 30 Nov (after Old expired) comes out of New
    monday = log(db_session, world, 60, at=datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    assert monday.package_id == new.id
    db_session.refresh(old)
    db_session.refresh(new)
    assert (old.remaining_minutes, new.remaining_minutes) == (240, 540)


def test_logging_without_hours_is_refused_like_a_booking(world, db_session):
    give(db_session, world, "0.5")
    give(db_session, world, "10", name="Too new", start=date(2026, 11, 30))
    savepoint = db_session.begin_nested()
    with pytest.raises(scheduling.NotEnoughHours) as refused:
        log(db_session, world, 60)
    savepoint.rollback()  # the request's rollback: nothing of it is kept
    assert refused.value.message == (
        "Not enough hours: Ada had 0.5 hours of Tutoring usable on Fri 27 Nov 2026 and this "
        "session needs 1 hour. Ask an admin of Acme Tutoring to add a package that started by "
        "then; nothing was logged."
    )
    assert sessions_count(db_session) == 0
    with pytest.raises(scheduling.NotEnoughHours, match="Add Package on Ada's profile"):
        log(db_session, world, 60, actor=world.admin)


@pytest.mark.parametrize(
    ("at", "field", "message"),
    [
        (NOW + timedelta(days=1), "date", "took place: choose a start before now"),
        (NOW + timedelta(hours=3), "start_time", "took place: choose a start before now"),
        (NOW - timedelta(days=366), "date", "last 365 days only"),
        (datetime(1, 1, 2, tzinfo=UTC), "date", "last 365 days only"),
    ],
)
def test_future_and_absurd_starts_are_refused(world, db_session, at, field, message):
    give(db_session, world, "10")
    with pytest.raises(DomainError, match=message) as refused:
        log(db_session, world, at=at)
    assert refused.value.field == field
    assert sessions_count(db_session) == 0


def test_a_session_that_just_started_may_be_logged(world, db_session):
    give(db_session, world, "10")
    assert log(db_session, world, 60, at=NOW).status == SessionStatus.COMPLETED


def test_overlaps_with_sessions_that_took_place_or_are_open_are_refused(world, db_session):
    give(db_session, world, "20")
    give(db_session, world, "20", student=1)
    done = log(db_session, world, 60)  # Tara with Ada, Friday 3 PM
    with pytest.raises(DomainError, match="Tara Tutor already has a session then"):
        log(db_session, world, 60, at=FRIDAY + timedelta(minutes=30), student=world.students[1])
    # the student with another staff member (the owner teaches too)
    with pytest.raises(DomainError, match="Ada already has a session then"):
        log(db_session, world, 60, at=FRIDAY - timedelta(minutes=30), staff=world.admin,
            actor=world.admin)  # fmt: skip
    # an open session (upcoming, its start passed, not completed yet) blocks too
    upcoming = scheduling.book_session(
        db_session, world.tenant, world.parent, student=world.students[0], staff=world.tutor,
        service="tutoring", starts_at=NOW - timedelta(hours=2), duration_minutes=60,
        now=NOW - timedelta(days=1),
    )  # fmt: skip
    assert upcoming.status == SessionStatus.UPCOMING
    with pytest.raises(DomainError, match="already has a session then"):
        log(db_session, world, 60, at=NOW - timedelta(hours=2, minutes=30))
    # a cancelled one does not
    scheduling.cancel_session(db_session, world.tenant, world.admin, upcoming, now=NOW)
    again = log(db_session, world, 60, at=NOW - timedelta(hours=2, minutes=30))
    assert again.status == SessionStatus.COMPLETED
    assert done.status == SessionStatus.COMPLETED


def test_staff_log_their_own_sessions_admins_anyones_families_none(world, db_session):
    give(db_session, world, "10")
    with pytest.raises(DomainError, match="your own sessions only") as refused:
        log(db_session, world, actor=world.tutor, staff=world.admin)
    assert refused.value.field == "staff"
    for family in (world.parent, world.student_user):
        with pytest.raises(NotFound):
            log(db_session, world, actor=family)
    ts = log(db_session, world, actor=world.admin, staff=world.tutor)
    assert (ts.staff_id, ts.scheduled_by_id) == (world.tutor.id, world.admin.id)
    assert entries(db_session, ts.package)[-1].note == "Logged on Tue 1 Dec 2026 by Acme Owner"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"staff": "counselor"}, "staff", "does not offer Tutoring"),
        ({"attendance": "asleep"}, "attendance", "present, late or absent"),
        ({"topics": "  "}, "topics", "what the session covered"),
        ({"duration_minutes": 0}, "duration", "from 5 minutes"),
    ],
)
def test_what_a_session_needs_is_checked(world, db_session, change, field, message):
    give(db_session, world, "10")
    if change.get("staff"):
        change = {"staff": world.counselor, "actor": world.admin}
    with pytest.raises(DomainError, match=message) as refused:
        log(db_session, world, **change)
    assert refused.value.field == field


# --- the page --------------------------------------------------------------------------------

# The page runs on the real clock: it is pinned here (Tue 1 Dec 2026, 7:00 AM in New York).
PAGE_NOW = NOW


@pytest.fixture
def pinned():
    with time_machine.travel(PAGE_NOW, tick=False):
        yield


@pytest.fixture
def page_world(app, business, db_session) -> World:
    return World(app, business, db_session)


def logged(world: World) -> TutoringSession:
    with world.scope():
        return world.db.scalars(select(TutoringSession)).one()


def form(business, **overrides) -> dict[str, str]:
    data = {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "date": "2026-11-27",
        "start_time": "15:00",
        "duration": "1.5",
        "attendance": "absent",
        "topics": "Essay outline",
        "goals": "",
        "next_steps": "Draft",
    }
    data.update(overrides)
    return data


def test_staff_log_a_past_session_and_the_family_sees_the_note(
    pinned, client, auth, business, page_world
):
    package = page_world.give("10")
    auth.as_role(business, "tutor")
    dashboard = text(client.get("/acme/tutor/"))
    assert 'href="/acme/tutor/sessions/log"' in dashboard and "Log Past Session" in dashboard
    page = client.get("/acme/tutor/sessions/log")
    assert page.status_code == 200 and 'max="2026-12-01"' in text(page)
    response = client.post("/acme/tutor/sessions/log", data=form(business))
    assert response.status_code == 303
    ts = logged(page_world)
    assert response.headers["Location"] == f"/acme/tutor/sessions/{ts.id}"
    assert (ts.status, ts.attendance, ts.charged_minutes) == ("completed", "absent", 90)
    assert ts.starts_at == local_to_utc(ZONE, date(2026, 11, 27), time(15, 0))
    assert "Past session logged for Ada Acme" in text(client.get(response.headers["Location"]))
    assert page_world.remaining(package) == 600 - 90
    auth.logout(business)
    auth.as_role(business, "parent")
    history = text(client.get(f"/acme/family/packages/{package.id}"))
    assert "Logged on Tue 1 Dec 2026 by Tara Tutor" in history
    assert "Fri 27 Nov 2026, 3:00 PM EST with Tara Tutor (Completed)" in history


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date": "2026-12-02"}, "took place: choose a start before now"),
        ({"date": "2026-12-01", "start_time": "09:00"}, "took place: choose a start before now"),
        ({"date": "0001-01-01"}, "Choose a date between 1 Jan 1900 and 31 Dec 2100."),
        ({"date": "9999-12-31"}, "Choose a date between 1 Jan 1900 and 31 Dec 2100."),
        ({"date": "1950-01-01"}, "last 365 days only"),
        ({"duration": "3"}, "Not enough hours: Ada had 2 hours of Tutoring usable on Fri 27 Nov"),
        ({"attendance": ""}, "This field is required."),
        ({"topics": ""}, "This field is required."),
        ({"staff": "__admin__"}, "Not a valid choice"),  # tutors log their own
        ({"student": "__rival__"}, "Not a valid choice"),  # another business's student
    ],
)
def test_bad_logs_are_422_and_write_nothing(
    pinned, client, auth, business, other_business, page_world, overrides, message
):
    package = page_world.give("2")
    swap = {"__admin__": str(business.admin.id), "__rival__": str(other_business.students[0].id)}
    overrides = {k: swap.get(v, v) for k, v in overrides.items()}
    auth.as_role(business, "tutor")
    response = client.post("/acme/tutor/sessions/log", data=form(business, **overrides))
    assert response.status_code == 422
    assert message in text(response)
    assert page_world.count(TutoringSession) == 0
    assert page_world.remaining(package) == 120
    assert page_world.ledger(package) == [("grant", 120)]
    assert page_world.count(OutboundEmail) == 0


def test_a_refused_log_over_htmx_swaps_only_the_form(pinned, client, auth, business, page_world):
    page_world.give("2")
    auth.as_role(business, "tutor")
    response = client.post(
        "/acme/tutor/sessions/log",
        data=form(business, date="2026-12-05"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<form id="log-form"') and "<html" not in body


@pytest.mark.parametrize(("role", "status"), [("parent", 403), ("student", 403), ("admin", 200)])
def test_who_may_open_log_past_session(client, auth, business, role, status):
    auth.as_role(business, role)
    assert client.get("/acme/tutor/sessions/log").status_code == status
    response = client.post("/acme/tutor/sessions/log", data=form(business))
    assert response.status_code in ((403,) if status == 403 else (303, 422))


def test_a_family_cannot_log(pinned, client, auth, business, page_world):
    page_world.give("10")
    auth.as_role(business, "parent")
    assert client.post("/acme/tutor/sessions/log", data=form(business)).status_code == 403
    assert page_world.count(TutoringSession) == 0


def test_admins_log_for_any_staff_member_from_the_sessions_list(
    pinned, client, auth, business, page_world
):
    page_world.give("10")
    auth.as_role(business, "admin")
    assert "/acme/tutor/sessions/log" in text(client.get("/acme/admin/sessions"))
    profile = text(client.get(f"/acme/admin/students/{business.students[0].id}/sessions"))
    assert f"/acme/tutor/sessions/log?student={business.students[0].id}" in profile
    response = client.post("/acme/tutor/sessions/log", data=form(business))
    assert response.status_code == 303
    ts = logged(page_world)
    assert (ts.staff_id, ts.scheduled_by_id) == (business.tutor.id, business.admin.id)


def test_another_business_logged_session_is_404(
    pinned, client, auth, app, business, other_business, db_session
):
    rival = World(app, other_business, db_session)
    package = rival.give("5")
    with rival.scope():
        ts = scheduling.log_past_session(
            db_session, other_business.tenant, other_business.tutor,
            student=other_business.students[0], staff=other_business.tutor, service="tutoring",
            starts_at=FRIDAY, duration_minutes=60, attendance="present", topics="Essays",
        )  # fmt: skip
        db_session.commit()
    for role in ("tutor", "admin"):
        auth.as_role(business, role)
        assert client.get(f"/acme/tutor/sessions/{ts.id}").status_code == 404
        if role == "admin":
            assert client.get(f"/acme/admin/sessions/{ts.id}/reassign").status_code == 404
        auth.logout(business)
    assert rival.remaining(package) == 240
