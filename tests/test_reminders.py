"""E-mails about sessions (issue 7): reminders once per session, proposals, cancellations."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import packages, scheduling
from prepbase.extensions import db
from prepbase.mail import sessions as session_mail
from prepbase.models import OutboundEmail, Student, Tenant, TutoringSession, User, utcnow
from prepbase.tenancy import as_tenant
from tests.test_family_portal import World, local_day, text
from tests.test_races import load


@pytest.fixture
def world(app, db_session, business) -> World:
    return World(app, db_session, business)


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


def family_and_tutor(business) -> set[str]:
    # Pat Parent, the student login of Ada, Ivy (invited parent) and the tutor
    return {
        business.parent.email,
        business.student_user.email,
        business.invitee.email,
        business.tutor.email,
    }


def soon(world: World, hours_ahead: float, **kw):
    """A family booking starting in `hours_ahead` hours (Tara has no working hours set)."""
    start = utcnow() + timedelta(hours=hours_ahead)
    return world.book(60, starts_at=start, now=start - timedelta(days=1), **kw)


def outbox(db_session, business, subject: str = "Reminder") -> list[str]:
    with as_tenant(business.tenant.id):
        return sorted(
            db_session.scalars(
                select(OutboundEmail.to_addr).where(OutboundEmail.subject.startswith(subject))
            )
        )


# --- reminders ------------------------------------------------------------------------------


def test_flask_prepbase_remind_sends_each_due_reminder_once(
    world, business, db_session, runner, mailbox
):
    world.package("20")
    world.package("20", student=business.students[1])
    due = soon(world, 3)
    later = soon(world, 30, student=business.students[1])  # outside the 24 h lead
    cancelled = soon(world, 5, student=business.students[1])
    with world.scope():
        scheduling.cancel_session(db_session, business.tenant, business.parent, cancelled)
    pending = world.propose(days=1)  # not accepted: no reminder
    with world.scope():  # (it is at 4 PM tomorrow; make it due)
        db_session.execute(
            sa.update(TutoringSession)
            .where(TutoringSession.id == pending.id)
            .values(starts_at=utcnow() + timedelta(hours=6), ends_at=utcnow() + timedelta(hours=7))
        )
    mailbox.messages.clear()

    first = runner.invoke(args=["prepbase", "remind"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("1 session reminder(s) queued")
    again = runner.invoke(args=["prepbase", "remind"])
    assert again.output.startswith("0 session reminder(s) queued")

    reminded = [m for m in mailbox.messages if m["Subject"].startswith("Reminder")]
    assert sorted(m["To"] for m in reminded) == sorted(family_and_tutor(business))
    body = mailbox.body(reminded[0])
    assert "Ada Acme's tutoring session with Tara Tutor on" in body
    assert re.search(r"\d:\d\d [AP]M E[SD]T", body)  # in the business's zone, zone named
    family_body = mailbox.body(next(m for m in reminded if m["To"] == business.parent.email))
    # Inside a late-cancellation window the hours may not all come back: no promise here.
    assert "go back to the package" not in family_body
    assert "cancellation policy keeps any of the session's hours" in " ".join(family_body.split())
    db_session.refresh(due)
    db_session.refresh(later)
    assert due.reminder_sent_at is not None and later.reminder_sent_at is None


def test_the_reminder_lead_is_a_business_setting(world, business, db_session):
    world.package("20")
    ts = soon(world, 30)
    with world.scope():
        business.tenant.reminder_hours = 0
        assert session_mail.send_due_reminders(db_session, business.tenant) == 0
        business.tenant.reminder_hours = 24
        assert session_mail.send_due_reminders(db_session, business.tenant) == 0
        business.tenant.reminder_hours = 48
        assert session_mail.send_due_reminders(db_session, business.tenant) == 1
        assert session_mail.send_due_reminders(db_session, business.tenant) == 0
    db_session.refresh(ts)
    assert ts.reminder_sent_at is not None


def test_moving_a_session_makes_its_reminder_due_again(world, business, db_session):
    world.package("20")
    ts = soon(world, 2)
    with world.scope():
        assert session_mail.send_due_reminders(db_session, business.tenant) == 1
        scheduling.reschedule(
            db_session, business.tenant, business.tutor, ts, utcnow() + timedelta(hours=4)
        )
        db_session.commit()
        assert session_mail.send_due_reminders(db_session, business.tenant) == 1
    assert len(outbox(db_session, business)) == 2 * len(family_and_tutor(business))


def test_two_hosts_running_remind_at_once_send_each_reminder_once(app, engine, committed, mailbox):
    b = committed
    start = utcnow() + timedelta(hours=2)
    with app.app_context(), as_tenant(b.tenant.id), Session(engine) as session:
        admin = load(session, User, b.admin.id)
        ids = []
        for i, student_id in enumerate(s.id for s in b.students):
            student = load(session, Student, student_id)
            packages.assign_package(
                session, admin, student, name="Hours", service="tutoring",
                package_type="one_time", period=None, minutes=600, start_date=date(2020, 1, 1),
            )  # fmt: skip
            ts = scheduling.book_session(
                session,
                load(session, Tenant, b.tenant.id),
                load(session, User, b.parent.id),
                student=student,
                staff=load(session, User, b.tutor.id),
                service="tutoring",
                starts_at=start + timedelta(hours=i),
                duration_minutes=60,
                now=start - timedelta(days=1),
            )
            ids.append(ts.id)
        session.commit()
    mailbox.messages.clear()

    outcomes: list[object] = []
    barrier = threading.Barrier(4)

    def host() -> None:
        # What `flask prepbase remind` runs, in an app context and connection of its own.
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(session_mail.remind_everyone(db.session))
            except Exception as exc:  # recorded, so the assertion shows it
                outcomes.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=host) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(o[0] for o in outcomes) == 2, outcomes  # type: ignore[index]
    mine = [
        m
        for m in mailbox.messages
        if m["Subject"].startswith("Reminder") and m["To"].endswith(f"@{b.tenant.slug}.example.com")
    ]
    # Ada's session: Pat, Ivy, Ada's login, Tara; Ben's: Pat, Ivy, Tara.
    assert len(mine) == 7, [(m["To"], m["Subject"]) for m in mine]
    with as_tenant(b.tenant.id), Session(engine) as session:
        sent = session.scalars(
            select(TutoringSession.reminder_sent_at).where(TutoringSession.id.in_(ids))
        ).all()
        assert all(sent)
        reminders = select(func.count(OutboundEmail.id)).where(
            OutboundEmail.subject.startswith("Reminder")
        )
        assert session.scalar(reminders) == 7


# --- proposals ----------------------------------------------------------------------------


def test_a_proposal_emails_the_family_with_accept_and_decline_links(
    client, auth, business, world, mailbox
):
    world.package("10")
    auth.as_role(business, "tutor")
    response = client.post(
        "/acme/tutor/sessions/new",
        data={
            "student": str(business.students[0].id),
            "service": "tutoring",
            "staff": str(business.tutor.id),
            "date": local_day(5).isoformat(),
            "start_time": "15:00",
            "duration": "1",
        },
    )
    assert response.status_code == 303, text(response)
    ts_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    [message] = mailbox.to(business.parent.email)
    assert message["Subject"] == "Tara Tutor proposed a session for Ada"
    body = mailbox.body(message)
    assert "No hours are used until you accept it." in body
    accept = re.search(r"Accept: (\S+)", body).group(1)
    decline = re.search(r"Decline: (\S+)", body).group(1)
    assert accept == f"http://localhost/acme/family/?accept={ts_id}#session-{ts_id}"
    assert decline == f"http://localhost/acme/family/?decline={ts_id}#session-{ts_id}"
    assert mailbox.to(business.student_user.email)  # Ada's own login is told too
    assert mailbox.to(business.tutor.email) == []

    auth.logout(business)
    path = accept.removeprefix("http://localhost").split("#")[0]
    to_login = client.get(path)  # signed out: the link goes through the sign-in page
    assert to_login.status_code == 302 and "/acme/login?next=" in to_login.headers["Location"]
    auth.as_role(business, "parent")
    page = text(client.get(path))
    assert "press Accept below to answer" in page
    assert f'id="session-{ts_id}"' in page and ">Accept<span" in page
    assert "press Decline below" in text(client.get(f"/acme/family/?decline={ts_id}"))


# --- cancellations ----------------------------------------------------------------------------


def subjects(mailbox, address: str) -> list[str]:
    # The booking's own e-mail ("Booked: …", with its invitation) may leave with the next
    # request: these tests are about what came after it.
    return [m["Subject"] for m in mailbox.to(address) if not m["Subject"].startswith("Booked")]


def test_staff_cancelling_tells_the_family(client, auth, business, world, mailbox):
    world.package("10")
    ts = world.book(60)
    mailbox.messages.clear()
    auth.as_role(business, "tutor")
    response = client.post(
        f"/acme/tutor/sessions/{ts.id}/cancel", data={"cancel-reason": "I am ill."}
    )
    assert response.status_code == 303
    [subject] = subjects(mailbox, business.parent.email)
    assert subject.startswith("Cancelled: Ada's session of ")
    body = mailbox.body(
        next(m for m in mailbox.to(business.parent.email) if m["Subject"] == subject)
    )
    assert "Tara Tutor cancelled Ada Acme's tutoring session" in body
    assert "Reason: I am ill." in body and "went back to the package" in body
    assert subjects(mailbox, business.tutor.email) == []


def test_family_cancelling_tells_the_staff_member(client, auth, business, world, mailbox):
    world.package("10")
    ts = world.book(60)
    mailbox.messages.clear()
    auth.as_role(business, "parent")
    assert client.post(f"/acme/family/sessions/{ts.id}/cancel").status_code == 303
    [message] = [m for m in mailbox.to(business.tutor.email) if "Cancelled" in m["Subject"]]
    assert "Pat Parent cancelled Ada Acme's tutoring session" in mailbox.body(message)
    assert f"/acme/tutor/sessions/{ts.id}" in mailbox.body(message)
    assert subjects(mailbox, business.parent.email) == []


def test_an_admin_cancelling_tells_both_sides(business, world, db_session, mailbox):
    world.package("10")
    ts = world.book(60)
    with world.scope():
        scheduling.cancel_session(db_session, business.tenant, business.admin, ts, "Closed")
    assert outbox(db_session, business, "Cancelled") == sorted(family_and_tutor(business))


def test_declining_a_booking_sends_one_email_not_two(business, world, db_session):
    world.package("10")
    ts = world.book(60)
    with world.scope():
        scheduling.reject_booking(db_session, business.tenant, business.tutor, ts, "Away")
    assert outbox(db_session, business, "Cancelled") == []
    with as_tenant(business.tenant.id):
        to_parent = db_session.scalars(
            select(OutboundEmail.subject).where(
                OutboundEmail.to_addr == business.parent.email,
                OutboundEmail.subject.not_like("Booked:%"),
            )
        ).all()
    assert to_parent == ["Tara Tutor cannot take Ada's session"]
