"""The family portal (design §3 family side, §4): balances, booking, answers, history."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from prepbase import hours, localtime, packages, people, scheduling
from prepbase.models import LedgerEntry, Package, Role, TutoringSession, User, utcnow
from prepbase.tenancy import as_tenant

ZONE = ZoneInfo("America/New_York")  # the factories' businesses


def text(response) -> str:
    return response.get_data(as_text=True)


def local_day(days: int) -> date:
    return (datetime.now(ZONE) + timedelta(days=days)).date()


class World:
    """Packages and sessions of one business, made through the domain as the app does."""

    def __init__(self, app, db_session, business) -> None:
        self.app, self.db, self.b = app, db_session, business

    @contextmanager
    def scope(self):
        with self.app.app_context(), as_tenant(self.b.tenant.id):
            yield
            self.db.commit()  # inside the scope: the flush stamps new rows (e-mails too)

    def package(self, hours_text="24", *, student=None, name="Growth Package", **kw) -> Package:
        with self.scope():
            return packages.assign_package(
                self.db,
                self.b.admin,
                student or self.b.students[0],
                name=name,
                service=kw.pop("service", "tutoring"),
                package_type="one_time",
                period=None,
                minutes=hours.parse_hours(hours_text, field="hours", max_hours=2000),
                start_date=kw.pop("start_date", date(2026, 1, 1)),
                **kw,
            )

    def at(self, days: int, hour: int = 16):
        return localtime.local_to_utc(self.b.tenant, local_day(days), time(hour, 0))

    def propose(self, minutes=60, *, days=3, student=None) -> TutoringSession:
        with self.scope():
            return scheduling.propose_session(
                self.db,
                self.b.tenant,
                self.b.tutor,
                student=student or self.b.students[0],
                staff=self.b.tutor,
                service="tutoring",
                starts_at=self.at(days),
                duration_minutes=minutes,
            )

    def book(self, minutes=60, *, days=4, student=None, starts_at=None, now=None, actor=None):
        with self.scope():
            return scheduling.book_session(
                self.db,
                self.b.tenant,
                actor or self.b.parent,
                student=student or self.b.students[0],
                staff=self.b.tutor,
                service="tutoring",
                starts_at=starts_at or self.at(days),
                duration_minutes=minutes,
                now=now,
            )

    def completed(self, minutes=60) -> TutoringSession:
        """A session that started half an hour ago, with attendance and an action plan."""
        ts = self.book(
            minutes,
            starts_at=utcnow() - timedelta(minutes=30),
            now=utcnow() - timedelta(hours=1),
        )
        with self.scope():
            scheduling.take_attendance(self.db, self.b.tenant, self.b.tutor, ts, "late")
            scheduling.submit_action_plan(
                self.db,
                self.b.tenant,
                self.b.tutor,
                ts,
                topics="Quadratic equations",
                goals="Factor fluently",
                next_steps="Worksheet 3",
            )
        return ts

    def other_family(self):
        """A student of another family of the same business, and that family's parent."""
        with self.scope():
            family = people.create_family(self.db, self.b.admin, name="Other family")
            other_parent = User(
                name="Opal Other",
                email="opal@acme.example.com",
                role=Role.PARENT,
                family=family,
                password_hash=None,
            )
            self.db.add(other_parent)
            olga = people.save_student(
                self.db,
                self.b.admin,
                None,
                family=family,
                first_name="Olga",
                last_name="Other",
                grade="9",
                school="",
                notes="",
            )
        return olga, other_parent

    def count(self, model) -> int:
        with as_tenant(self.b.tenant.id):
            return self.db.scalar(select(func.count(model.id)))

    def reload(self, *rows):
        for row in rows:
            self.db.refresh(row)


@pytest.fixture
def world(app, db_session, business) -> World:
    return World(app, db_session, business)


@pytest.fixture
def parent(client, auth, business):
    auth.as_role(business, "parent")
    return client


HX = {"HX-Request": "true"}


def booking(business, **changes) -> dict[str, str]:
    data = {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "date": local_day(7).isoformat(),
        "start_time": "16:00",
        "duration": "3.5",
    }
    data.update(changes)
    return data


# --- dashboard ----------------------------------------------------------------------------


def test_dashboard_shows_active_packages_with_remaining_of_total(parent, world):
    world.package("24")
    paused = world.package("10", name="Paused Package")
    world.package("8", name="Old Package", expires_on=local_day(-1), start_date=date(2026, 1, 1))
    with world.scope():
        packages.set_package_active(world.db, world.b.admin, paused, False)
    body = text(parent.get("/acme/family/"))
    assert "Growth Package" in body
    assert "24 of 24 hours left" in body
    assert '<progress value="1440" max="1440"' in body
    for header in ("Package Name", "Package Type", "Total Hrs", "Remaining Hrs", "Status"):
        assert f">{header}<" in body
    assert "Paused Package" not in body  # inactive
    assert "Old Package" not in body  # past its expiry, even before the renewal job runs
    assert "Buy Hours" not in body  # online payments do not exist yet


def test_student_with_no_packages_is_told_whom_to_contact(parent, world):
    body = text(parent.get("/acme/family/"))
    assert "No active packages. Contact Acme Tutoring to buy hours." in body


def test_student_login_sees_only_own_data(client, auth, world, business):
    world.package("24", name="Ada Package")
    ben_package = world.package("10", name="Ben Package", student=business.students[1])
    ben_session = world.propose(60, student=business.students[1])
    auth.as_role(business, "student")
    body = text(client.get("/acme/family/"))
    assert "Ada Package" in body
    assert "Ben" not in body
    assert client.get(f"/acme/family/packages/{ben_package.id}").status_code == 404
    for action in ("accept", "decline", "cancel"):
        response = client.post(f"/acme/family/sessions/{ben_session.id}/{action}")
        assert response.status_code == 404
    response = client.post(
        "/acme/family/sessions/new", data=booking(business, student=str(business.students[1].id))
    )
    assert response.status_code == 422
    world.reload(ben_session)
    assert ben_session.status == "pending"
    assert world.count(TutoringSession) == 1


def test_parent_sees_every_student_of_the_family(parent, world, business):
    world.package("24", name="Ada Package")
    world.package("10", name="Ben Package", student=business.students[1])
    world.propose(60, student=business.students[1])
    body = text(parent.get("/acme/family/"))
    assert "Ada Package" in body and "Ben Package" in body
    assert "Ben Acme" in body


def test_completed_sessions_show_action_plan_and_attendance(parent, world):
    world.package("24")
    world.completed(210)
    body = text(parent.get("/acme/family/"))
    completed = body.split("Completed Sessions", 1)[1]
    assert "Quadratic equations" in completed
    assert "Factor fluently" in completed and "Worksheet 3" in completed
    assert "Attendance: Late" in completed
    assert "20.5" in body  # the help page's example: 24 h package, 3.5 h session


# --- running low (§4) ---------------------------------------------------------------------


def test_low_balance_banner_at_and_below_the_threshold(parent, world):
    world.package("3")
    assert "running low" not in text(parent.get("/acme/family/"))
    world.book(60)  # 2 hours left = the default threshold
    body = text(parent.get("/acme/family/"))
    assert "Growth Package is running low: 2 hours left." in body
    assert "Contact Acme Tutoring to buy more hours." in body
    world.book(120, days=5)
    body = text(parent.get("/acme/family/"))
    ada = world.b.students[0].first_name
    assert f"{ada} has no Tutoring hours left." in body  # the student's hours in all
    assert "running low" not in body


def test_zero_banner_speaks_of_the_hours_left_on_other_packages(parent, world):
    world.package("1", name="SAT Intensive")
    world.package("24", start_date=date(2026, 2, 1))  # Growth Package, started later
    world.book(60)  # rule 5: the older SAT Intensive pays, and is used up
    body = text(parent.get("/acme/family/"))
    ada = world.b.students[0].first_name
    assert (
        f"{ada}&#39;s SAT Intensive is used up; 24 Tutoring hours remain on Growth Package." in body
    )
    assert "has no Tutoring hours left" not in body


def test_low_balance_banner_follows_the_business_setting(parent, world, business):
    world.package("5")
    business.tenant.low_balance_minutes = 300
    world.db.commit()
    assert "running low: 5 hours left" in text(parent.get("/acme/family/"))


# --- Book Session -------------------------------------------------------------------------


def test_book_session_form_names_the_time_zone_and_staff_services(parent):
    body = text(parent.get("/acme/family/sessions/new"))
    assert "America/New York" in body
    assert "Tara Tutor (Tutoring)" in body and "Carl Counselor (Counseling)" in body
    assert 'hx-get="/acme/family/staff-options"' in body
    assert 'hx-disabled-elt="#book-form button[type=submit]"' in body  # from every control


def test_book_session_link_of_a_student_preselects_them(parent, business):
    ben = business.students[1].id
    body = text(parent.get(f"/acme/family/sessions/new?student={ben}"))
    assert f'<option selected value="{ben}">Ben Acme</option>' in body
    assert f"/acme/family/sessions/new?student={ben}" in text(parent.get("/acme/family/"))


def test_staff_options_follow_the_service(parent, business):
    body = text(parent.get("/acme/family/staff-options?service=counseling", headers=HX))
    assert body.lstrip().startswith('<div id="staff-field">')
    assert "Carl Counselor" in body and "Tara Tutor" not in body
    chosen = f"staff={business.tutor.id}"
    body = text(parent.get(f"/acme/family/staff-options?service=tutoring&{chosen}", headers=HX))
    assert "Tara Tutor" in body and "Carl Counselor" not in body
    assert f'<option selected value="{business.tutor.id}">' in body
    body = text(parent.get("/acme/family/staff-options?service=nonsense"))
    assert "Tara Tutor" in body and "Carl Counselor" in body


def test_book_session_is_upcoming_and_debits_at_once(parent, world, business):
    package = world.package("24")
    response = parent.post("/acme/family/sessions/new", data=booking(business))
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/family/"
    with as_tenant(business.tenant.id):
        ts = world.db.scalar(select(TutoringSession))
    assert (ts.status, ts.duration_minutes, ts.package_id) == ("upcoming", 210, package.id)
    assert ts.booked_by_family is True
    world.reload(package)
    assert package.remaining_minutes == 24 * 60 - 210
    body = text(parent.get("/acme/family/"))
    assert "is booked for" in body  # the flash
    assert "20.5 of 24 hours left" in body
    upcoming = body.split("Upcoming Sessions", 1)[1].split("Completed Sessions", 1)[0]
    assert "Tara Tutor" in upcoming and "Cancel Session" in upcoming


def test_book_session_over_htmx_redirects_with_hx_redirect(parent, world, business):
    world.package("24")
    response = parent.post("/acme/family/sessions/new", data=booking(business), headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/acme/family/"


def test_book_with_not_enough_hours_is_refused_and_writes_nothing(parent, world, business):
    package = world.package("1")
    entries = world.count(LedgerEntry)
    response = parent.post("/acme/family/sessions/new", data=booking(business), headers=HX)
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<form id="book-form"')
    assert "Not enough hours: Ada has 1 hour of Tutoring left" in body
    assert "needs 3.5" in body
    assert world.count(TutoringSession) == 0
    assert world.count(LedgerEntry) == entries
    world.reload(package)
    assert package.remaining_minutes == 60


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration": "0"}, "more than zero"),
        ({"duration": "abc"}, "number"),
        ({"duration": "1.001"}, "whole minutes"),
        ({"duration": "13"}, "more than 12 hours"),
        ({"duration": ""}, "This field is required"),
        ({"date": ""}, "Choose a date."),
        ({"start_time": "25:00"}, "Not a valid time value."),
        ({"date": "2020-01-01"}, "Choose a time in the future."),
        ({"date": "2027-03-14", "start_time": "02:30"}, "does not exist"),
        ({"service": "counseling"}, "Tara Tutor does not offer Counseling."),
        ({"service": "cooking"}, "Not a valid choice"),
        ({"staff": "999999"}, "Not a valid choice"),
        ({"student": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_booking_input_answers_422_and_writes_nothing(
    parent, world, business, changes, message
):
    world.package("24", service="counseling")
    world.package("24")
    entries = world.count(LedgerEntry)
    response = parent.post("/acme/family/sessions/new", data=booking(business, **changes))
    assert response.status_code == 422
    assert message in text(response)
    assert world.count(TutoringSession) == 0
    assert world.count(LedgerEntry) == entries


def test_overlapping_booking_is_refused(parent, world, business):
    world.package("24")
    world.book(60, starts_at=localtime.local_to_utc(business.tenant, local_day(7), time(16)))
    response = parent.post(
        "/acme/family/sessions/new",
        data=booking(business, start_time="16:30", staff=str(business.admin.id)),
    )
    assert response.status_code == 422
    assert "Ada already has a session then" in text(response)
    assert world.count(TutoringSession) == 1


def test_booking_another_business_staff_is_refused(parent, world, business, other_business):
    world.package("24")
    response = parent.post(
        "/acme/family/sessions/new", data=booking(business, staff=str(other_business.tutor.id))
    )
    assert response.status_code == 422
    assert world.count(TutoringSession) == 0


# --- Accept / Decline / Cancel ------------------------------------------------------------


def test_pending_row_shows_the_hours_and_the_package_that_pays(parent, world):
    world.package("24")
    world.propose(120)
    body = text(parent.get("/acme/family/"))
    pending = body.split("Pending Sessions", 1)[1].split("Upcoming Sessions", 1)[0]
    assert "Growth Package: 24 hours left, 22 after this session" in pending
    assert ">Accept<" in pending and ">Decline<" in pending


def test_pending_row_says_when_no_package_can_pay(parent, world):
    world.package("1")
    world.propose(120)
    pending = text(parent.get("/acme/family/")).split("Pending Sessions", 1)[1]
    pending = pending.split("Upcoming Sessions", 1)[0]
    assert "Ada has 1 hour of Tutoring left and this session needs 2 hours" in pending
    assert "cannot be accepted" in pending
    assert ">Accept<" not in pending and ">Decline<" in pending


def test_accept_over_htmx_updates_the_balance_in_place(parent, world):
    package = world.package("24")
    ts = world.propose(120)
    response = parent.post(f"/acme/family/sessions/{ts.id}/accept", headers=HX)
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="family-sessions">')
    assert "<nav" not in body
    assert '<section id="family-packages" aria-labelledby="packages-title" hx-swap-oob="true">' in (
        body
    )
    assert "22 of 24 hours left" in body
    assert "Accepted:" in body
    world.reload(ts, package)
    assert (ts.status, ts.package_id, ts.charged_minutes) == ("upcoming", package.id, 120)
    assert package.remaining_minutes == 22 * 60


def test_accept_without_javascript_redirects_to_the_dashboard(parent, world):
    world.package("24")
    ts = world.propose(60)
    response = parent.post(f"/acme/family/sessions/{ts.id}/accept")
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/family/"
    assert "Accepted:" in text(parent.get("/acme/family/"))


def test_double_accept_debits_once(parent, world):
    package = world.package("24")
    ts = world.propose(60)
    assert parent.post(f"/acme/family/sessions/{ts.id}/accept", headers=HX).status_code == 200
    again = parent.post(f"/acme/family/sessions/{ts.id}/accept", headers=HX)
    assert again.status_code == 422
    assert "it cannot be accepted now" in text(again)
    world.reload(package)
    assert package.remaining_minutes == 23 * 60
    with as_tenant(world.b.tenant.id):
        debits = world.db.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "debit")
        )
    assert debits == 1


def test_accept_without_enough_hours_is_refused_and_stays_pending(parent, world):
    package = world.package("1")
    ts = world.propose(120)
    response = parent.post(f"/acme/family/sessions/{ts.id}/accept", headers=HX)
    assert response.status_code == 422
    assert "Not enough hours: Ada has 1 hour of Tutoring left" in text(response)
    world.reload(ts, package)
    assert ts.status == "pending" and ts.package_id is None
    assert package.remaining_minutes == 60


def test_decline_moves_no_hours(parent, world):
    package = world.package("24")
    ts = world.propose(60)
    response = parent.post(f"/acme/family/sessions/{ts.id}/decline", headers=HX)
    assert response.status_code == 200
    assert "Declined" in text(response)
    world.reload(ts, package)
    assert ts.status == "declined"
    assert package.remaining_minutes == 24 * 60


def test_cancel_refunds_upcoming_hours_in_place(parent, world):
    package = world.package("24")
    ts = world.book(210)
    world.reload(package)
    assert package.remaining_minutes == 24 * 60 - 210
    response = parent.post(f"/acme/family/sessions/{ts.id}/cancel", headers=HX)
    assert response.status_code == 200
    body = text(response)
    assert "3.5 hours went back to Growth Package" in body
    assert "24 of 24 hours left" in body and 'hx-swap-oob="true"' in body
    world.reload(ts, package)
    assert ts.status == "cancelled" and ts.charged_minutes == 0
    assert package.remaining_minutes == 24 * 60


def test_an_answer_in_place_leaves_the_completed_sessions_alone(parent, world):
    # Cancel swaps the sessions region and the hours; the completed sessions sit outside
    # that region (no family action completes a session), so the answer neither reads nor
    # draws them, and the page keeps them.
    world.package("24")
    world.completed(210)
    ts = world.book(60)
    page = text(parent.get("/acme/family/"))
    assert "Completed Sessions" in page and "Quadratic equations" in page
    answer = text(parent.post(f"/acme/family/sessions/{ts.id}/cancel", headers=HX))
    assert 'id="family-sessions"' in answer and "went back to" in answer
    assert "Completed Sessions" not in answer and "Quadratic equations" not in answer
    assert "Quadratic equations" in text(parent.get("/acme/family/"))


def test_forced_accept_of_an_upcoming_session_is_refused(parent, world):
    package = world.package("24")
    ts = world.book(60)
    response = parent.post(f"/acme/family/sessions/{ts.id}/accept")
    assert response.status_code == 422
    assert "This session is upcoming; it cannot be accepted now." in text(response)
    world.reload(ts, package)
    assert ts.status == "upcoming"
    assert package.remaining_minutes == 23 * 60


def test_forced_cancel_of_a_completed_session_is_refused(parent, world):
    package = world.package("24")
    ts = world.completed(60)
    body = text(parent.get("/acme/family/"))
    assert body.count("Cancel Session") == 0
    response = parent.post(f"/acme/family/sessions/{ts.id}/cancel", headers=HX)
    assert response.status_code == 422
    assert "This session is completed; it cannot be cancelled." in text(response)
    world.reload(ts, package)
    assert ts.status == "completed"
    assert package.remaining_minutes == 23 * 60


def test_family_cannot_cancel_a_session_that_has_started(parent, world, mailbox):
    package = world.package("24")
    started = world.book(
        60, starts_at=utcnow() - timedelta(minutes=30), now=utcnow() - timedelta(hours=1)
    )
    later = world.book(60, days=4)
    body = text(parent.get("/acme/family/"))
    started_row = body.split(f'<tr id="session-{started.id}">', 1)[1].split("</tr>", 1)[0]
    later_row = body.split(f'<tr id="session-{later.id}">', 1)[1].split("</tr>", 1)[0]
    assert "Started; waiting for attendance" in started_row
    assert "Cancel Session" not in started_row and "<form" not in started_row
    assert "Cancel Session" in later_row  # before its start, a family may cancel
    with as_tenant(world.b.tenant.id):
        entries = world.db.scalar(select(func.count(LedgerEntry.id)))

    response = parent.post(f"/acme/family/sessions/{started.id}/cancel", headers=HX)
    assert response.status_code == 422
    assert "This session has started, so it can no longer be cancelled." in text(response)
    world.reload(started, package)
    assert (started.status, started.charged_minutes, started.cancelled_at) == (
        "upcoming",
        60,
        None,
    )
    assert package.remaining_minutes == 22 * 60
    with as_tenant(world.b.tenant.id):
        assert world.db.scalar(select(func.count(LedgerEntry.id))) == entries
    assert mailbox.to(world.b.tutor.email) == []


def test_proposal_whose_start_passed_cannot_be_accepted(parent, world):
    package = world.package("24")
    with world.scope():
        ts = scheduling.propose_session(
            world.db,
            world.b.tenant,
            world.b.tutor,
            student=world.b.students[0],
            staff=world.b.tutor,
            service="tutoring",
            starts_at=utcnow() - timedelta(minutes=10),
            duration_minutes=60,
            now=utcnow() - timedelta(days=1),
        )
    body = text(parent.get("/acme/family/"))
    pending = body.split(f'<tr id="session-{ts.id}">', 1)[1].split("</tr>", 1)[0]
    assert ">Accept<" not in pending and ">Decline<" in pending
    assert "This time has passed" in pending
    response = parent.post(f"/acme/family/sessions/{ts.id}/accept", headers=HX)
    assert response.status_code == 422
    assert "time has passed; ask for a new time." in text(response)
    world.reload(ts, package)
    assert (ts.status, ts.package_id, package.remaining_minutes) == ("pending", None, 24 * 60)


def test_forced_decline_of_an_upcoming_session_is_refused(parent, world):
    world.package("24")
    ts = world.book(60)
    assert parent.post(f"/acme/family/sessions/{ts.id}/decline").status_code == 422
    world.reload(ts)
    assert ts.status == "upcoming"


def test_session_actions_need_a_csrf_token(raw_client, auth, world, business):
    auth.as_role(business, "parent")
    world.package("24")
    ts = world.propose(60)
    assert raw_client.post(f"/acme/family/sessions/{ts.id}/accept").status_code == 400
    world.reload(ts)
    assert ts.status == "pending"


# --- package history (§4) -----------------------------------------------------------------


def test_package_history_lists_every_entry_with_its_session(parent, world):
    package = world.package("24")
    kept = world.book(210)
    gone = world.book(60, days=5)
    with world.scope():
        scheduling.cancel_session(world.db, world.b.tenant, world.b.parent, gone)
    body = text(parent.get(f"/acme/family/packages/{package.id}"))
    assert ">Grant<" in body and ">Debit<" in body and ">Refund<" in body
    assert "+24" in body and "−3.5" in body and "−1" in body and "+1" in body
    assert body.count("with Tara Tutor") == 3
    assert "(Upcoming)" in body and "(Cancelled)" in body
    assert "Session cancelled" in body
    world.reload(kept, package)
    assert package.remaining_minutes == 24 * 60 - 210
    assert "20.5" in body


def test_package_history_of_an_inactive_package_is_404(parent, world):
    package = world.package("24")
    with world.scope():
        packages.set_package_active(world.db, world.b.admin, package, False)
    assert parent.get(f"/acme/family/packages/{package.id}").status_code == 404


def test_package_history_of_an_expired_package_is_404(parent, world):
    package = world.package("24", expires_on=local_day(-1))
    assert parent.get(f"/acme/family/packages/{package.id}").status_code == 404


# --- other families, other businesses, other roles ----------------------------------------


def test_another_familys_rows_are_404(parent, world):
    olga, opal = world.other_family()
    package = world.package("24", student=olga)
    pending = world.propose(60, student=olga)
    upcoming = world.book(60, student=olga, days=6, actor=opal)
    assert parent.get(f"/acme/family/packages/{package.id}").status_code == 404
    for ts in (pending, upcoming):
        for action in ("accept", "decline", "cancel"):
            assert parent.post(f"/acme/family/sessions/{ts.id}/{action}").status_code == 404
    assert "Olga" not in text(parent.get("/acme/family/"))
    world.reload(pending, upcoming, package)
    assert (pending.status, upcoming.status) == ("pending", "upcoming")
    assert package.remaining_minutes == 23 * 60


def test_another_business_rows_are_404(parent, app, db_session, other_business):
    rival = World(app, db_session, other_business)
    package = rival.package("24")
    pending = rival.propose(60)
    upcoming = rival.book(60, days=6)
    assert parent.get(f"/acme/family/packages/{package.id}").status_code == 404
    for ts in (pending, upcoming):
        for action in ("accept", "decline", "cancel"):
            assert parent.post(f"/acme/family/sessions/{ts.id}/{action}").status_code == 404
    rival.reload(pending, upcoming, package)
    assert (pending.status, upcoming.status) == ("pending", "upcoming")
    assert package.remaining_minutes == 23 * 60


@pytest.mark.parametrize("role", ["admin", "tutor", "counselor"])
def test_staff_roles_get_403_on_family_pages(client, auth, world, business, role):
    package = world.package("24")
    ts = world.propose(60)
    auth.as_role(business, role)
    for path in (
        "/acme/family/",
        "/acme/family/sessions/new",
        "/acme/family/staff-options?service=tutoring",
        f"/acme/family/packages/{package.id}",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post("/acme/family/sessions/new", data=booking(business)).status_code == 403
    assert client.post(f"/acme/family/sessions/{ts.id}/accept").status_code == 403
    world.reload(ts)
    assert ts.status == "pending"


def test_signed_out_visitor_is_sent_to_sign_in(client, world):
    ts = world.propose(60)
    response = client.get("/acme/family/")
    assert response.status_code == 302 and "/acme/login" in response.headers["Location"]
    assert client.post(f"/acme/family/sessions/{ts.id}/accept").status_code == 302


def test_double_submitted_booking_books_once(parent, world, business):
    package = world.package("24")
    first = parent.post("/acme/family/sessions/new", data=booking(business))
    second = parent.post("/acme/family/sessions/new", data=booking(business))
    assert first.status_code == 303
    assert second.status_code == 422
    assert "already has a session" in text(second)
    world.reload(package)
    assert package.remaining_minutes == 24 * 60 - 210
