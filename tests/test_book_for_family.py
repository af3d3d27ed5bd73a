"""The business books and accepts for a family (issue 19: an owner taking the call, or
the business's own tools through the API): rules 1 and 2 with the family's checks and
debit, the admin on the ledger, and only admins may."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from prepbase import availability, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.mail.recipients import family_recipients
from prepbase.models import LedgerEntry, OutboundEmail, SessionStatus, TutoringSession
from prepbase.tenancy import as_tenant
from tests.test_hours_rules import NOW, TOMORROW, book, give, propose

# TOMORROW is Wednesday 2 December 2026, 07:00 in New York (the factories' zone).
WEDNESDAY = 2


@pytest.fixture
def world(app, business, db_session):
    """Acme with tenant scope entered, as the domain functions run inside a request."""
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def book_for_family(db_session, business, minutes=60, *, at=TOMORROW, actor=None, student=0):
    return scheduling.book_for_family(
        db_session,
        business.tenant,
        actor or business.admin,
        student=business.students[student],
        staff=business.tutor,
        service="tutoring",
        starts_at=at,
        duration_minutes=minutes,
        now=NOW,
    )


def debits(db_session, ts: TutoringSession) -> list[tuple[int, int | None]]:
    return [
        (e.minutes, e.actor_id)
        for e in db_session.scalars(
            select(LedgerEntry).where(LedgerEntry.session_id == ts.id).order_by(LedgerEntry.id)
        )
    ]


def mails(db_session, subject_start: str) -> list[OutboundEmail]:
    return list(
        db_session.scalars(
            select(OutboundEmail)
            .where(OutboundEmail.subject.like(f"{subject_start}%"))
            .order_by(OutboundEmail.id)
        )
    )


def everyone(db_session, business) -> set[str]:
    """Whom a family's own booking or acceptance mails: the family and the tutor."""
    student = business.students[0]
    family = family_recipients(db_session, student.id, student.family_id)
    assert business.parent in family
    return {person.email for person in family} | {business.tutor.email}


def session_count(db_session) -> int:
    return db_session.scalar(select(func.count(TutoringSession.id)))


def test_an_admin_books_for_a_family_upcoming_and_debited_now(world, db_session):
    package = give(db_session, world, "10")
    ts = book_for_family(db_session, world)
    assert ts.status == SessionStatus.UPCOMING
    assert (ts.package_id, ts.charged_minutes) == (package.id, 60)
    assert ts.scheduled_by_id == world.admin.id
    # The business made it: not a family booking waiting for the staff member (rule 9).
    assert not ts.booked_by_family
    assert "confirm" not in scheduling.allowed_actions(ts, world.tutor, NOW)
    db_session.refresh(package)
    assert package.remaining_minutes == 540
    assert debits(db_session, ts) == [(-60, world.admin.id)]
    # The family and the staff member get the booking, told who made it.
    sent = mails(db_session, "Booked:")
    assert {m.to_addr for m in sent} == everyone(db_session, world)
    for mail in sent:
        assert "Acme Tutoring booked it for the family." in mail.body
        assert "Acme Tutoring booked it for the family." in mail.html_body
        assert mail.ical and "METHOD:REQUEST" in mail.ical


def test_a_family_booking_reads_as_before(world, db_session):
    give(db_session, world, "10")
    ts = book(db_session, world)
    assert ts.booked_by_family
    assert debits(db_session, ts) == [(-60, world.parent.id)]
    for mail in mails(db_session, "Booked:"):
        assert "for the family" not in mail.body


def test_not_enough_hours_refuses_the_booking_and_writes_nothing(world, db_session):
    package = give(db_session, world, "0.5")
    before = session_count(db_session)
    with pytest.raises(scheduling.NotEnoughHours) as refused, db_session.begin_nested():
        book_for_family(db_session, world)
    assert refused.value.message.startswith("Not enough hours: Ada has 0.5 hours of Tutoring")
    assert refused.value.message.endswith("nothing was booked.")
    assert session_count(db_session) == before
    db_session.refresh(package)
    assert package.remaining_minutes == 30
    assert db_session.scalar(select(func.count(LedgerEntry.id))) == 1  # the grant
    assert mails(db_session, "Booked:") == []


@pytest.mark.parametrize("who", ["tutor", "counselor", "parent", "student_user"])
def test_only_admins_book_for_a_family(world, db_session, who):
    give(db_session, world, "10")
    with pytest.raises(NotFound):
        book_for_family(db_session, world, actor=getattr(world, who))
    # and an admin still books no family booking of their own (the family's verb)
    with pytest.raises(NotFound):
        book(db_session, world, actor=world.admin)


def test_the_business_is_not_held_to_the_family_notice_horizon_or_step(world, db_session):
    give(db_session, world, "10")
    tenant = world.tenant
    tenant.booking_notice_minutes = 48 * 60
    tenant.booking_horizon_days = 7
    tenant.slot_step_minutes = 30
    availability.set_weekly_hours(
        db_session, tenant, world.admin, world.tutor, {d: [(6 * 60, 20 * 60)] for d in range(7)}
    )
    inside_notice = TOMORROW + timedelta(minutes=10)  # 07:10, off the 30-minute step
    with pytest.raises(DomainError, match="Book at least 48 hours ahead"):
        book(db_session, world, at=inside_notice)
    assert book_for_family(db_session, world, at=inside_notice).status == "upcoming"
    far = TOMORROW + timedelta(days=20)
    with pytest.raises(DomainError, match="takes bookings up to 7 days ahead"):
        book(db_session, world, at=far)
    assert book_for_family(db_session, world, at=far).status == "upcoming"


def test_the_business_is_held_to_working_hours_time_off_and_other_sessions(world, db_session):
    package = give(db_session, world, "10")
    tenant = world.tenant
    availability.set_weekly_hours(
        db_session, tenant, world.admin, world.tutor, {WEDNESDAY: [(8 * 60, 12 * 60)]}
    )
    before = session_count(db_session)
    with pytest.raises(DomainError, match="outside Tara Tutor's working hours") as refused:
        book_for_family(db_session, world)  # 07:00, before 08:00
    assert refused.value.field == "start_time"
    at_nine = TOMORROW + timedelta(hours=2)
    availability.add_time_off(
        db_session, tenant, world.admin, world.tutor,
        first_day=date(2026, 12, 2), last_day=date(2026, 12, 2),
        start_time=time(9), end_time=time(10),
    )  # fmt: skip
    with pytest.raises(DomainError, match="Tara Tutor is away then"):
        book_for_family(db_session, world, at=at_nine)
    at_ten = TOMORROW + timedelta(hours=3)
    book_for_family(db_session, world, at=at_ten)
    with pytest.raises(DomainError, match="already has a session then"):
        book_for_family(db_session, world, at=at_ten + timedelta(minutes=30), student=1)
    with pytest.raises(DomainError, match="Choose a time in the future"):
        book_for_family(db_session, world, at=NOW - timedelta(hours=1))
    assert session_count(db_session) == before + 1
    db_session.refresh(package)
    assert package.remaining_minutes == 540


def test_without_working_hours_any_free_future_time(world, db_session):
    give(db_session, world, "10")
    assert not availability.has_working_hours(db_session, world.tutor.id)
    late = TOMORROW + timedelta(hours=16)  # 23:00 in New York
    assert book_for_family(db_session, world, at=late).status == "upcoming"


def test_an_admin_accepts_a_proposal_for_the_family(world, db_session):
    package = give(db_session, world, "10")
    ts = propose(db_session, world)
    assert debits(db_session, ts) == []
    scheduling.accept_for_family(db_session, world.tenant, world.admin, ts, now=NOW)
    assert (ts.status, ts.package_id, ts.charged_minutes) == ("upcoming", package.id, 60)
    db_session.refresh(package)
    assert package.remaining_minutes == 540
    assert debits(db_session, ts) == [(-60, world.admin.id)]
    sent = mails(db_session, "Accepted:")
    assert {m.to_addr for m in sent} == everyone(db_session, world)
    assert all("Acme Tutoring accepted it for the family." in m.body for m in sent)
    with pytest.raises(DomainError, match="upcoming; it cannot be accepted"):
        scheduling.accept_for_family(db_session, world.tenant, world.admin, ts, now=NOW)
    assert debits(db_session, ts) == [(-60, world.admin.id)]


def test_the_family_accepting_reads_as_before(world, db_session):
    give(db_session, world, "10")
    ts = propose(db_session, world)
    scheduling.accept_session(db_session, world.tenant, world.parent, ts, now=NOW)
    assert debits(db_session, ts) == [(-60, world.parent.id)]
    sent = mails(db_session, "Accepted:")
    assert sent and all("for the family" not in m.body for m in sent)


def test_accepting_for_the_family_without_enough_hours_moves_nothing(world, db_session):
    package = give(db_session, world, "0.5")
    ts = propose(db_session, world)
    with (
        pytest.raises(scheduling.NotEnoughHours, match="Not enough hours"),
        db_session.begin_nested(),
    ):
        scheduling.accept_for_family(db_session, world.tenant, world.admin, ts, now=NOW)
    db_session.refresh(ts)
    db_session.refresh(package)
    assert (ts.status, ts.package_id, package.remaining_minutes) == ("pending", None, 30)
    assert mails(db_session, "Accepted:") == []


def test_only_admins_accept_for_the_family(world, db_session):
    give(db_session, world, "10")
    ts = propose(db_session, world)
    for who in (world.tutor, world.parent):  # the session's own tutor, the family
        with pytest.raises(DomainError, match="You cannot do that with this session"):
            scheduling.accept_for_family(db_session, world.tenant, who, ts, now=NOW)
    with pytest.raises(NotFound):  # not the counselor's session: not theirs to see
        scheduling.accept_for_family(db_session, world.tenant, world.counselor, ts, now=NOW)
    with pytest.raises(NotFound):  # and the family's verb stays the family's
        scheduling.accept_session(db_session, world.tenant, world.admin, ts, now=NOW)
    db_session.refresh(ts)
    assert ts.status == "pending" and debits(db_session, ts) == []


def test_a_proposal_whose_start_passed_is_not_accepted_for_the_family(world, db_session):
    give(db_session, world, "10")
    ts = propose(db_session, world)
    with pytest.raises(DomainError, match="time has passed"):
        scheduling.accept_for_family(
            db_session, world.tenant, world.admin, ts, now=TOMORROW + timedelta(minutes=1)
        )
