"""The staff portal (design §3 through the routes): My Sessions, Propose Session, and the
session page's actions — confirm, decline with a reason, cancel, attendance, action plan,
duration and time changes."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from prepbase import hours, packages, scheduling
from prepbase.extensions import db
from prepbase.models import EntryKind, LedgerEntry, SessionStatus, TutoringSession, utcnow
from prepbase.tenancy import as_tenant

ZONE = ZoneInfo("America/New_York")  # the factories' businesses


def text(response) -> str:
    return response.get_data(as_text=True)


def local_day(days_ahead: int = 1) -> date:
    return (datetime.now(ZONE) + timedelta(days=days_ahead)).date()


def local_at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


class World:
    """Sets up packages and sessions of one business through the domain, as a request
    would, and commits them so the test's requests see them."""

    def __init__(self, app, business, db_session) -> None:
        self.app, self.b, self.db = app, business, db_session

    @contextmanager
    def scope(self):
        with self.app.app_context(), as_tenant(self.b.tenant.id):
            yield

    def give(self, hours_text="10", *, student=0, service="tutoring", name="Growth Package"):
        with self.scope():
            package = packages.assign_package(
                self.db,
                self.b.admin,
                self.b.students[student],
                name=name,
                service=service,
                package_type="one_time",
                period=None,
                minutes=hours.parse_hours(hours_text, field="hours", max_hours=2000),
                start_date=date(2020, 1, 1),
            )
            self.db.commit()
        return package

    def book(self, minutes=60, *, at=None, student=0, staff=None, service="tutoring"):
        """A family booking (UPCOMING, debited). A start in the past books it as if made
        earlier, so it has already started."""
        at = at or local_at(local_day(2), 16)
        with self.scope():
            ts = scheduling.book_session(
                self.db,
                self.b.tenant,
                self.b.parent,
                student=self.b.students[student],
                staff=staff or self.b.tutor,
                service=service,
                starts_at=at,
                duration_minutes=minutes,
                now=min(utcnow(), at - timedelta(hours=1)),
            )
            self.db.commit()
        return ts

    def propose(self, minutes=60, *, at=None, student=0, staff=None, service="tutoring"):
        at = at or local_at(local_day(3), 16)
        staff = staff or self.b.tutor
        with self.scope():
            ts = scheduling.propose_session(
                self.db,
                self.b.tenant,
                staff,
                student=self.b.students[student],
                staff=staff,
                service=service,
                starts_at=at,
                duration_minutes=minutes,
                now=min(utcnow(), at - timedelta(hours=1)),
            )
            self.db.commit()
        return ts

    def accept(self, ts):
        with self.scope():
            scheduling.accept_session(self.db, self.b.tenant, self.b.parent, ts)
            self.db.commit()

    def confirm(self, ts):
        with self.scope():
            scheduling.confirm_session(self.db, self.b.tenant, ts.staff, ts)
            self.db.commit()

    def complete(self, ts, topics="Quadratics"):
        with self.scope():
            scheduling.take_attendance(self.db, self.b.tenant, ts.staff, ts, "present")
            scheduling.submit_action_plan(
                self.db,
                self.b.tenant,
                ts.staff,
                ts,
                topics=topics,
                goals="Factor fluently",
                next_steps="Worksheet 3",
            )
            self.db.commit()

    def started(self, minutes=60, *, at=None, **kw):
        """A family booking whose start has passed (made before it started)."""
        return self.book(minutes, at=at or utcnow() - timedelta(minutes=30), **kw)

    def count(self, model, *where) -> int:
        with self.scope():
            return self.db.scalar(select(func.count(model.id)).where(*where))

    def ledger(self, package) -> list[tuple[str, int]]:
        with self.scope():
            entries = self.db.scalars(
                select(LedgerEntry).where(LedgerEntry.package_id == package.id)
            )
            return [(e.kind, e.minutes) for e in entries]

    def remaining(self, package) -> int:
        self.db.refresh(package)
        return package.remaining_minutes

    def refreshed(self, ts):
        self.db.refresh(ts)
        return ts


@pytest.fixture
def world(app, business, db_session) -> World:
    return World(app, business, db_session)


@pytest.fixture
def tutor(client, auth, business):
    auth.as_role(business, "tutor")
    return client


def section(body: str, title: str) -> str:
    """The HTML of the <section> whose <h2> reads `title`."""
    match = re.search(rf"<h2 id=\"[\w-]+\">{re.escape(title)}</h2>(.*?)</section>", body, re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


class StatementCounter:
    """Counts the SQL statements sent while it is active."""

    def __init__(self, app) -> None:
        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _count(self, _conn, _cursor, statement, *_args) -> None:
        # Transaction control (the test harness's SAVEPOINTs, SQLite's BEGIN) is not a query.
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):
            self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def statements(app, client, url: str) -> int:
    with StatementCounter(app) as counter:
        assert client.get(url).status_code == 200
    return counter.count


# --- My Sessions --------------------------------------------------------------------------


def test_my_sessions_sorts_sessions_by_what_to_do(tutor, world, business):
    package = world.give("20")
    new = world.book(90, at=local_at(local_day(2), 9))
    confirmed = world.book(60, at=local_at(local_day(2), 11))
    world.confirm(confirmed)
    pending = world.propose(120, student=1)
    started = world.started(45)
    done = world.started(30, at=utcnow() - timedelta(hours=3))
    world.complete(done, topics="Essay structure")
    world.propose(60, staff=business.counselor, service="counseling")  # not Tara's

    body = text(tutor.get("/acme/tutor/"))
    new_part = section(body, "New bookings")
    assert f"/acme/tutor/sessions/{new.id}" in new_part
    assert "1.5 hours" in new_part and "Growth Package" in new_part
    assert ">Confirm</button>" in new_part and "Decline" in new_part
    todo = section(body, "Needs completion")
    assert f"/acme/tutor/sessions/{started.id}" in todo
    upcoming = section(body, "Upcoming Sessions")
    assert f"/acme/tutor/sessions/{confirmed.id}" in upcoming
    # a new booking is upcoming too, marked as waiting for the tutor (issue 16)
    new_row = upcoming.split(f"/acme/tutor/sessions/{new.id}", 1)[1].split("</tr>", 1)[0]
    assert "new booking, to confirm" in new_row
    pending_part = section(body, "Pending Sessions")
    assert f"/acme/tutor/sessions/{pending.id}" in pending_part
    assert "Ben Acme" in pending_part and "Charged when accepted" in pending_part
    completed = section(body, "Completed Sessions")
    assert f"/acme/tutor/sessions/{done.id}" in completed
    assert "Essay structure" in completed and "Worksheet 3" in completed
    assert "Counseling" not in new_part + todo + upcoming + pending_part + completed
    # Remaining Hrs: 20 - 1.5 - 1 - 0.75 - 0.5 = 16.25
    assert world.remaining(package) == 975
    assert "16.25" in upcoming
    assert business.tenant.timezone == "America/New_York"
    assert "EST" in body or "EDT" in body  # local times, zone named


def test_admin_sees_the_sessions_they_teach(client, auth, world, business):
    world.give("5")
    world.give("5", student=1)
    own = world.book(60, staff=business.admin)
    tutors = world.book(60, at=local_at(local_day(4), 10), student=1)
    auth.as_role(business, "admin")
    body = text(client.get("/acme/tutor/"))
    assert f"/acme/tutor/sessions/{own.id}" in body
    assert f"/acme/tutor/sessions/{tutors.id}" not in body


def test_my_sessions_costs_the_same_statements_for_many_rows(app, tutor, world, business):
    world.give("100")
    world.give("100", student=1)
    world.book(60)
    world.propose(60, student=1)
    few = statements(app, tutor, "/acme/tutor/")
    for day in range(5, 10):
        world.book(60, at=local_at(local_day(day), 9), student=day % 2)
        world.propose(60, at=local_at(local_day(day), 13), student=day % 2)
        world.complete(world.started(30, at=utcnow() - timedelta(hours=day), student=day % 2))
    assert statements(app, tutor, "/acme/tutor/") == few


@pytest.mark.parametrize("role", ["parent", "student"])
def test_family_cannot_use_the_staff_portal(client, auth, world, business, role):
    world.give("5")
    ts = world.book(60)
    auth.as_role(business, role)
    for url in ("/acme/tutor/", "/acme/tutor/sessions/new", f"/acme/tutor/sessions/{ts.id}"):
        assert client.get(url).status_code == 403
    assert client.post(f"/acme/tutor/sessions/{ts.id}/cancel").status_code == 403
    assert world.refreshed(ts).status == SessionStatus.UPCOMING


# --- Propose Session ----------------------------------------------------------------------


def propose_data(business, **overrides) -> dict[str, str]:
    data = {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "date": local_day(2).isoformat(),
        "start_time": "15:30",
        "duration": "1.5",
    }
    data.update(overrides)
    return data


def test_propose_session_is_pending_and_moves_no_hours(tutor, world, business):
    package = world.give("5")
    response = tutor.post("/acme/tutor/sessions/new", data=propose_data(business))
    assert response.status_code == 303
    with world.scope():
        ts = world.db.scalars(select(TutoringSession)).one()
    assert response.headers["Location"] == f"/acme/tutor/sessions/{ts.id}"
    assert (ts.status, ts.staff_id, ts.scheduled_by_id) == (
        SessionStatus.PENDING,
        business.tutor.id,
        business.tutor.id,
    )
    assert ts.starts_at == local_at(local_day(2), 15, 30)
    assert ts.duration_minutes == 90 and ts.package_id is None
    assert world.remaining(package) == 300
    assert world.ledger(package) == [(EntryKind.GRANT, 300)]
    page = text(tutor.get(response.headers["Location"]))
    assert "Session proposed for Ada Acme" in page and "Pending" in page
    assert "It would be paid from Growth Package" in page
    # the family accepts (their portal): now it is upcoming and the hours are debited
    world.accept(ts)
    assert world.remaining(package) == 210
    upcoming = section(text(tutor.get("/acme/tutor/")), "Upcoming Sessions")
    assert f"/acme/tutor/sessions/{ts.id}" in upcoming and "3.5" in upcoming


def test_propose_form_offers_only_the_actors_services(client, auth, business):
    auth.as_role(business, "counselor")
    body = text(client.get("/acme/tutor/sessions/new"))
    service = re.search(r'<select id="service".*?</select>', body, re.S).group(0)
    assert 'value="counseling"' in service and 'value="tutoring"' not in service
    staff = re.search(r'<select id="staff".*?</select>', body, re.S).group(0)
    assert staff.count("<option") == 1 and "Carl Counselor" in staff
    assert "Ada Acme" in body and "Ben Acme" in body  # any student of the business


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date": local_day(-1).isoformat()}, "Choose a time in the future."),
        ({"service": "counseling"}, "Not a valid choice"),  # Tara teaches Tutoring only
        ({"staff": "__counselor__"}, "Not a valid choice"),  # tutors propose for themselves
        ({"duration": "1.001"}, "whole minutes"),
        ({"duration": "13"}, "more than 12 hours"),
        ({"student": "999999"}, "Not a valid choice"),
        ({"date": ""}, "Choose a date."),
    ],
)
def test_bad_proposals_are_422_and_write_nothing(
    tutor, world, business, other_business, overrides, message
):
    if overrides.get("staff") == "__counselor__":
        overrides = {"staff": str(business.counselor.id)}
    response = tutor.post("/acme/tutor/sessions/new", data=propose_data(business, **overrides))
    assert response.status_code == 422
    assert message in text(response)
    assert world.count(TutoringSession) == 0


def test_proposal_for_another_business_student_is_refused(tutor, world, business, other_business):
    data = propose_data(business, student=str(other_business.students[0].id))
    assert tutor.post("/acme/tutor/sessions/new", data=data).status_code == 422
    assert world.count(TutoringSession) == 0


def test_overlapping_proposal_is_refused(tutor, world, business):
    world.propose(60, at=local_at(local_day(2), 15))
    response = tutor.post("/acme/tutor/sessions/new", data=propose_data(business))
    assert response.status_code == 422
    assert "already has a session then" in text(response)
    assert world.count(TutoringSession) == 1


def test_refused_proposal_over_htmx_swaps_only_the_form(tutor, world, business):
    response = tutor.post(
        "/acme/tutor/sessions/new",
        data=propose_data(business, duration="0"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = text(response).strip()
    assert body.startswith('<form id="propose-form"') and "<html" not in body
    assert 'hx-disabled-elt="#propose-form button"' in body
    assert "Enter more than zero hours." in body


def test_admin_proposes_for_another_staff_member(client, auth, world, business):
    auth.as_role(business, "admin")
    page = text(client.get(f"/acme/tutor/sessions/new?student={business.students[1].id}"))
    assert f'<option selected value="{business.students[1].id}">' in page
    assert "Tara Tutor (Tutoring)" in page and "Carl Counselor (Counseling)" in page
    data = propose_data(
        business,
        student=str(business.students[1].id),
        service="counseling",
        staff=str(business.counselor.id),
    )
    assert client.post("/acme/tutor/sessions/new", data=data).status_code == 303
    with world.scope():
        ts = world.db.scalars(select(TutoringSession)).one()
    assert (ts.staff_id, ts.scheduled_by_id, ts.service, ts.status) == (
        business.counselor.id,
        business.admin.id,
        "counseling",
        SessionStatus.PENDING,
    )
    # the staff member must offer the service
    data.update(staff=str(business.tutor.id), date=local_day(5).isoformat())
    response = client.post("/acme/tutor/sessions/new", data=data)
    assert response.status_code == 422
    assert "Tara Tutor does not offer Counseling" in text(response)


# --- confirming and declining family bookings (rule 9) -----------------------------------


def test_confirm_a_family_booking_moves_no_hours(tutor, world):
    package = world.give("5")
    ts = world.book(60)
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert ">Confirm</button>" in page and "new booking" in page
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/confirm?next=dashboard")
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/tutor/"
    assert world.refreshed(ts).confirmed_at is not None
    assert world.remaining(package) == 240
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert ">Confirm</button>" not in page and "new booking" not in page


def test_decline_a_booking_refunds_and_tells_the_family(tutor, world, business, mailbox):
    package = world.give("5")
    ts = world.book(90)
    assert world.remaining(package) == 210
    response = tutor.post(
        f"/acme/tutor/sessions/{ts.id}/decline?next=dashboard",
        data={f"decline-{ts.id}-reason": "I am away that week."},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/tutor/"
    ts = world.refreshed(ts)
    assert (ts.status, ts.cancel_reason, ts.charged_minutes) == (
        SessionStatus.CANCELLED,
        "I am away that week.",
        0,
    )
    assert world.remaining(package) == 300
    assert world.ledger(package)[-1] == (EntryKind.REFUND, 90)
    # the e-mail went out once the change was committed
    for person in (business.parent, business.student_user):
        [message] = [m for m in mailbox.to(person.email) if "cannot take" in m["Subject"]]
        assert "Tara Tutor cannot take Ada's session" in message["Subject"]
        assert "I am away that week." in mailbox.body(message)


def test_decline_needs_a_reason(tutor, world, business, mailbox):
    package = world.give("5")
    ts = world.book(60)
    response = tutor.post(
        f"/acme/tutor/sessions/{ts.id}/decline", data={f"decline-{ts.id}-reason": "  "}
    )
    assert response.status_code == 422
    assert "Tell the family why you cannot take this session." in text(response)
    assert world.refreshed(ts).status == SessionStatus.UPCOMING
    assert world.remaining(package) == 240
    assert mailbox.to(business.parent.email) == []


def test_confirmed_booking_is_cancelled_not_declined(tutor, world):
    world.give("5")
    ts = world.book(60)
    world.confirm(ts)
    assert "Decline" not in text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    response = tutor.post(
        f"/acme/tutor/sessions/{ts.id}/decline", data={f"decline-{ts.id}-reason": "Busy"}
    )
    assert response.status_code == 422
    assert "cancel it instead" in text(response)
    assert world.refreshed(ts).status == SessionStatus.UPCOMING


def test_confirming_a_cancelled_session_is_refused(tutor, world):
    world.give("5")
    ts = world.book(60)
    with world.scope():
        scheduling.cancel_session(world.db, world.b.tenant, world.b.parent, ts)
        world.db.commit()
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/confirm", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Only upcoming sessions booked by a family need confirming." in text(response)
    assert response.headers["HX-Retarget"] == "#messages"
    assert world.refreshed(ts).confirmed_at is None


# --- cancelling (rules 3 and 4) ------------------------------------------------------------


def test_cancel_refunds_the_hours(tutor, world):
    package = world.give("5")
    ts = world.book(120)
    world.confirm(ts)
    response = tutor.post(
        f"/acme/tutor/sessions/{ts.id}/cancel", data={"cancel-reason": "Tutor is ill"}
    )
    assert response.status_code == 303
    ts = world.refreshed(ts)
    assert (ts.status, ts.cancel_reason, ts.cancelled_by_id) == (
        SessionStatus.CANCELLED,
        "Tutor is ill",
        world.b.tutor.id,
    )
    assert world.remaining(package) == 300
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "2 hours went back to Growth Package" in page
    assert "Cancel Session</button>" not in page and "Tutor is ill" in page


def test_cancel_a_pending_proposal_moves_no_hours(tutor, world):
    package = world.give("5")
    ts = world.propose(60)
    assert tutor.post(f"/acme/tutor/sessions/{ts.id}/cancel").status_code == 303
    assert world.refreshed(ts).status == SessionStatus.CANCELLED
    assert world.ledger(package) == [(EntryKind.GRANT, 300)]


def test_completed_session_cannot_be_cancelled(tutor, world):
    package = world.give("5")
    ts = world.started(60)
    world.complete(ts)
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "Cancel Session</button>" not in page and "It can no longer be cancelled" in page
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/cancel", data={"cancel-reason": "x"})
    assert response.status_code == 422
    assert "This session is completed; it cannot be cancelled." in text(response)
    assert world.refreshed(ts).status == SessionStatus.COMPLETED
    assert world.remaining(package) == 240
    # over htmx the refusal replaces the form
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/cancel", headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = text(response).strip()
    assert body.startswith('<div class="alert alert-error" role="alert" id="cancel-form">')
    assert "completed" in body
    assert world.remaining(package) == 240


def test_session_with_attendance_is_not_offered_cancel(tutor, world):
    package = world.give("5")
    ts = world.started(60)
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "Cancel Session</button>" in page  # started, nothing recorded: staff may cancel
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/attendance", data={"attendance": "late"})
    assert response.status_code == 303
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "Cancel Session</button>" not in page and "Reschedule</button>" not in page
    assert "Take Attendance</button>" not in page and "Submit Action Plan</button>" in page
    assert "Change duration</button>" in page  # the length may still be corrected
    board = section(text(tutor.get("/acme/tutor/")), "Needs completion")
    assert "Submit Action Plan<span" in board and "Cancel Session<span" not in board
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/cancel", data={"cancel-reason": "x"})
    assert response.status_code == 422
    assert "attendance is recorded" in text(response)
    ts = world.refreshed(ts)
    assert (ts.status, ts.attendance, ts.charged_minutes) == (SessionStatus.UPCOMING, "late", 60)
    assert world.remaining(package) == 240


def test_cancelling_twice_refunds_once(tutor, world):
    package = world.give("5")
    ts = world.book(60)
    assert tutor.post(f"/acme/tutor/sessions/{ts.id}/cancel").status_code == 303
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/cancel")
    assert response.status_code == 422
    assert "cancelled" in text(response)
    assert world.remaining(package) == 300
    assert world.ledger(package).count((EntryKind.REFUND, 60)) == 1


# --- attendance and action plan (rule 4) ----------------------------------------------------


PLAN = {"topics": "Linear equations", "goals": "Solve two-step equations", "next_steps": "p. 42"}


@pytest.mark.parametrize("order", ["attendance first", "plan first"])
def test_attendance_and_plan_complete_the_session_in_either_order(tutor, world, order):
    package = world.give("5")
    ts = world.started(60)
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "Take Attendance</button>" in page and "Submit Action Plan</button>" in page
    steps = [
        (f"/acme/tutor/sessions/{ts.id}/attendance", {"attendance": "late"}),
        (f"/acme/tutor/sessions/{ts.id}/plan", PLAN),
    ]
    if order == "plan first":
        steps.reverse()
    first, second = steps
    assert tutor.post(first[0], data=first[1]).status_code == 303
    assert world.refreshed(ts).status == SessionStatus.UPCOMING
    response = tutor.post(second[0], data=second[1])
    assert response.status_code == 303
    ts = world.refreshed(ts)
    assert (ts.status, ts.attendance, ts.plan_topics, ts.plan_next_steps) == (
        SessionStatus.COMPLETED,
        "late",
        "Linear equations",
        "p. 42",
    )
    assert world.remaining(package) == 240  # completing moves no hours
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "The session is completed." in page
    assert "Take Attendance</button>" not in page and "Submit Action Plan</button>" not in page
    assert f"/acme/tutor/sessions/{ts.id}" in section(
        text(tutor.get("/acme/tutor/")), "Completed Sessions"
    )


def test_absent_student_still_uses_the_hours(tutor, world):
    package = world.give("5")
    ts = world.started(90)
    tutor.post(f"/acme/tutor/sessions/{ts.id}/attendance", data={"attendance": "absent"})
    tutor.post(f"/acme/tutor/sessions/{ts.id}/plan", data=PLAN)
    assert world.refreshed(ts).status == SessionStatus.COMPLETED
    assert world.remaining(package) == 210


def test_attendance_and_plan_wait_for_the_session_to_start(tutor, world):
    world.give("5")
    ts = world.book(60)
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "Take Attendance</button>" not in page and "open when the session starts" in page
    for url, data in (("attendance", {"attendance": "present"}), ("plan", PLAN)):
        response = tutor.post(f"/acme/tutor/sessions/{ts.id}/{url}", data=data)
        assert response.status_code == 422
        assert "once the session has started" in text(response)
    ts = world.refreshed(ts)
    assert ts.attendance is None and ts.plan_submitted_at is None


def test_pending_session_takes_no_attendance(tutor, world):
    ts = world.propose(60)
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/attendance", data={"attendance": "late"})
    assert response.status_code == 422
    assert "pending" in text(response)


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("plan", {"topics": "", "goals": "x"}, "This field is required."),
        ("attendance", {"attendance": "sleeping"}, "Not a valid choice"),
    ],
)
def test_bad_records_are_422_with_the_form(tutor, world, url, data, message):
    world.give("5")
    ts = world.started(60)
    response = tutor.post(
        f"/acme/tutor/sessions/{ts.id}/{url}", data=data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    body = text(response).strip()
    assert body.startswith(f'<form id="{url}-form"') and message in body
    ts = world.refreshed(ts)
    assert ts.attendance is None and ts.plan_submitted_at is None


def test_admin_can_complete_and_cancel_anyones_session(client, auth, world):
    world.give("5")
    ts = world.started(60)
    other = world.book(60)
    auth.as_role(world.b, "admin")
    assert client.get(f"/acme/tutor/sessions/{ts.id}").status_code == 200
    client.post(f"/acme/tutor/sessions/{ts.id}/attendance", data={"attendance": "present"})
    client.post(f"/acme/tutor/sessions/{ts.id}/plan", data=PLAN)
    assert world.refreshed(ts).status == SessionStatus.COMPLETED
    assert client.post(f"/acme/tutor/sessions/{other.id}/cancel").status_code == 303
    assert world.refreshed(other).cancelled_by_id == world.b.admin.id


# --- duration and time (rule 6) ----------------------------------------------------------


def test_changing_duration_debits_or_refunds_the_difference(tutor, world):
    package = world.give("5")
    ts = world.book(60)
    assert (
        tutor.post(f"/acme/tutor/sessions/{ts.id}/duration", data={"duration": "1.5"}).status_code
        == 303
    )
    assert world.remaining(package) == 210
    assert (
        tutor.post(f"/acme/tutor/sessions/{ts.id}/duration", data={"duration": "0.5"}).status_code
        == 303
    )
    assert world.remaining(package) == 270
    ts = world.refreshed(ts)
    assert (ts.duration_minutes, ts.charged_minutes) == (30, 30)
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/duration", data={"duration": "0"})
    assert response.status_code == 422 and "more than zero" in text(response)
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/duration", data={"duration": "6"})
    assert response.status_code == 422 and "more are needed to lengthen" in text(response)
    assert world.remaining(package) == 270


def test_reschedule_moves_no_hours(tutor, world):
    package = world.give("5")
    ts = world.book(60)
    day = local_day(6)
    response = tutor.post(
        f"/acme/tutor/sessions/{ts.id}/reschedule",
        data={"date": day.isoformat(), "start_time": "08:15"},
    )
    assert response.status_code == 303
    assert world.refreshed(ts).starts_at == local_at(day, 8, 15)
    assert world.remaining(package) == 240
    response = tutor.post(
        f"/acme/tutor/sessions/{ts.id}/reschedule",
        data={"date": local_day(-2).isoformat(), "start_time": "08:15"},
    )
    assert response.status_code == 422 and "Choose a time in the future." in text(response)
    assert world.refreshed(ts).starts_at == local_at(day, 8, 15)


def test_completed_session_offers_no_changes(tutor, world):
    world.give("5")
    ts = world.started(60)
    world.complete(ts)
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "Change duration</button>" not in page and "Reschedule</button>" not in page
    response = tutor.post(f"/acme/tutor/sessions/{ts.id}/duration", data={"duration": "2"})
    assert response.status_code == 422 and "completed" in text(response)
    assert world.refreshed(ts).duration_minutes == 60


# --- whose session ------------------------------------------------------------------------


def test_tutor_cannot_open_or_act_on_another_staff_members_session(tutor, world, business):
    world.give("5", service="counseling")
    ts = world.book(60, staff=business.counselor, service="counseling")
    assert tutor.get(f"/acme/tutor/sessions/{ts.id}").status_code == 404
    for action, data in (
        ("cancel", {}),
        ("confirm", {}),
        ("attendance", {"attendance": "present"}),
        ("decline", {f"decline-{ts.id}-reason": "no"}),
        ("duration", {"duration": "2"}),
    ):
        assert tutor.post(f"/acme/tutor/sessions/{ts.id}/{action}", data=data).status_code == 404
    ts = world.refreshed(ts)
    assert (ts.status, ts.duration_minutes, ts.confirmed_at) == (SessionStatus.UPCOMING, 60, None)


def test_another_business_session_is_404(tutor, app, other_business, db_session):
    rival = World(app, other_business, db_session)
    rival.give("5")
    ts = rival.book(60)
    assert tutor.get(f"/acme/tutor/sessions/{ts.id}").status_code == 404
    assert tutor.post(f"/acme/tutor/sessions/{ts.id}/cancel").status_code == 404
    assert rival.refreshed(ts).status == SessionStatus.UPCOMING


def test_session_page_shows_the_students_active_packages_read_only(tutor, world):
    world.give("5", name="Growth Package")
    world.give("3", name="Essay Package", service="counseling")
    ts = world.book(60)
    page = text(tutor.get(f"/acme/tutor/sessions/{ts.id}"))
    packages_part = section(page, "Ada's active packages")
    assert "Growth Package" in packages_part and "Essay Package" in packages_part
    assert "<form" not in packages_part and "<button" not in packages_part
