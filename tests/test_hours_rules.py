"""Design §2–§4, rule by rule, through the domain functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from prepbase import hours, localtime, packages, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.models import EntryKind, LedgerEntry, OutboundEmail, Package, SessionStatus
from prepbase.tenancy import as_tenant

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOMORROW = NOW + timedelta(days=1)


@pytest.fixture
def world(app, business, db_session):
    """Acme with tenant scope entered, as the domain functions run inside a request."""
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def give(
    db_session,
    business,
    hours_text="24",
    *,
    service="tutoring",
    student=0,
    start=date(2026, 11, 1),
    name="Growth Package",
    **kw,
):
    return packages.assign_package(
        db_session,
        business.admin,
        business.students[student],
        name=name,
        service=service,
        package_type=kw.pop("package_type", "one_time"),
        period=kw.pop("period", None),
        minutes=hours.parse_hours(hours_text, field="hours", max_hours=2000),
        start_date=start,
        **kw,
    )


def book(
    db_session,
    business,
    minutes=60,
    *,
    at=TOMORROW,
    student=0,
    staff=None,
    service="tutoring",
    actor=None,
):
    return scheduling.book_session(
        db_session,
        business.tenant,
        actor or business.parent,
        student=business.students[student],
        staff=staff or business.tutor,
        service=service,
        starts_at=at,
        duration_minutes=minutes,
        now=NOW,
    )


def propose(db_session, business, minutes=60, *, at=TOMORROW, student=0):
    return scheduling.propose_session(
        db_session,
        business.tenant,
        business.tutor,
        student=business.students[student],
        staff=business.tutor,
        service="tutoring",
        starts_at=at,
        duration_minutes=minutes,
        now=NOW,
    )


def ledger_sum(db_session, package) -> int:
    return sum(
        e.minutes
        for e in db_session.scalars(select(LedgerEntry).where(LedgerEntry.package_id == package.id))
    )


def complete(db_session, business, ts):
    later = ts.starts_at + timedelta(minutes=5)
    scheduling.take_attendance(
        db_session, business.tenant, business.tutor, ts, "present", now=later
    )
    scheduling.submit_action_plan(
        db_session,
        business.tenant,
        business.tutor,
        ts,
        topics="Quadratics",
        goals="Factor fluently",
        next_steps="Worksheet 3",
        now=later,
    )


# --- hours as minutes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("3.5", 210), ("24", 1440), ("0.25", 15), ("1,5", 90), ("1.016666666666666667", None)],
)
def test_parse_hours(text, minutes):
    if minutes is None:
        with pytest.raises(DomainError):
            hours.parse_hours(text, field="h", max_hours=100)
    else:
        assert hours.parse_hours(text, field="h", max_hours=100) == minutes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "more than zero"),
        ("-2", "negative"),
        ("1.001", "whole minutes"),
        ("abc", "number"),
        ("", "number"),
        ("NaN", "number"),
        ("Infinity", "number"),
        ("100000", "more than"),
    ],
)
def test_parse_hours_refuses(text, message):
    with pytest.raises(DomainError, match=message):
        hours.parse_hours(text, field="h", max_hours=2000)


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(210, "3.5"), (1230, "20.5"), (20, "0.33"), (0, "0"), (75, "1.25"), (60, "1")],
)
def test_format_hours(minutes, shown):
    assert hours.format_hours(minutes) == shown


# --- the help pages' example ------------------------------------------------------------


def test_help_page_example_growth_package(world, db_session):
    package = give(db_session, world, "24")
    ts = book(db_session, world, 210)
    db_session.refresh(package)
    assert (package.total_minutes, package.remaining_minutes) == (1440, 1230)
    assert hours.format_hours(package.remaining_minutes) == "20.5"
    complete(db_session, world, ts)
    assert ts.status == SessionStatus.COMPLETED
    db_session.refresh(package)
    assert package.remaining_minutes == 1230  # completing moves nothing
    with pytest.raises(DomainError, match="completed"):
        scheduling.cancel_session(db_session, world.tenant, world.parent, ts, now=NOW)
    db_session.refresh(package)
    assert package.remaining_minutes == 1230
    assert ledger_sum(db_session, package) == 1230
    assert hours.audit(db_session) == []


# --- rule 1 and 2: who schedules decides when hours move ------------------------------------


def test_family_booking_is_upcoming_and_debits_at_once(world, db_session):
    package = give(db_session, world, "5")
    ts = book(db_session, world, 90)
    assert ts.status == SessionStatus.UPCOMING
    assert (ts.package_id, ts.charged_minutes) == (package.id, 90)
    db_session.refresh(package)
    assert package.remaining_minutes == 210
    entry = db_session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.DEBIT)).one()
    assert (entry.minutes, entry.session_id, entry.actor_id, entry.balance_after) == (
        -90,
        ts.id,
        world.parent.id,
        210,
    )


def test_staff_proposal_is_pending_until_accepted(world, db_session):
    package = give(db_session, world, "5")
    ts = propose(db_session, world, 60)
    assert ts.status == SessionStatus.PENDING
    db_session.refresh(package)
    assert package.remaining_minutes == 300
    assert scheduling.preview_package(db_session, world.tenant, ts).id == package.id
    scheduling.accept_session(db_session, world.tenant, world.parent, ts, now=NOW)
    assert ts.status == SessionStatus.UPCOMING
    db_session.refresh(package)
    assert package.remaining_minutes == 240


def test_declining_moves_no_hours(world, db_session):
    package = give(db_session, world, "5")
    ts = propose(db_session, world, 60)
    scheduling.decline_session(db_session, world.tenant, world.student_user, ts, now=NOW)
    assert ts.status == SessionStatus.DECLINED
    db_session.refresh(package)
    assert package.remaining_minutes == 300
    with pytest.raises(DomainError, match="declined"):
        scheduling.accept_session(db_session, world.tenant, world.parent, ts, now=NOW)


def test_accepting_twice_or_non_pending_is_refused(world, db_session):
    give(db_session, world, "5")
    ts = book(db_session, world, 60)
    with pytest.raises(DomainError, match="upcoming"):
        scheduling.accept_session(db_session, world.tenant, world.parent, ts, now=NOW)


def test_accept_without_hours_is_refused_and_stays_pending(world, db_session):
    give(db_session, world, "0.5")
    ts = propose(db_session, world, 60)
    db_session.commit()
    with pytest.raises(scheduling.NotEnoughHours, match=r"has 0\.5 hours of Tutoring left"):
        scheduling.accept_session(db_session, world.tenant, world.parent, ts, now=NOW)
    db_session.rollback()
    db_session.refresh(ts)
    assert ts.status == SessionStatus.PENDING


# --- rule 3: cancelling refunds -------------------------------------------------------------


def test_cancel_refunds_upcoming_hours_to_the_same_package(world, db_session):
    first = give(db_session, world, "1", name="Old", start=date(2026, 10, 1))
    second = give(db_session, world, "5", name="New")
    ts = book(db_session, world, 60)
    assert ts.package_id == first.id  # oldest first
    give(db_session, world, "3", name="Newest")
    scheduling.cancel_session(db_session, world.tenant, world.tutor, ts, "Tutor ill")
    assert ts.status == SessionStatus.CANCELLED
    assert (ts.cancelled_by_id, ts.cancel_reason, ts.charged_minutes) == (
        world.tutor.id,
        "Tutor ill",
        0,
    )
    db_session.refresh(first)
    db_session.refresh(second)
    assert (first.remaining_minutes, second.remaining_minutes) == (60, 300)
    refund = db_session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND)
    ).one()
    assert (refund.package_id, refund.minutes) == (first.id, 60)


def test_cancel_twice_refunds_once(world, db_session):
    package = give(db_session, world, "2")
    ts = book(db_session, world, 60)
    scheduling.cancel_session(db_session, world.tenant, world.parent, ts, now=NOW)
    with pytest.raises(DomainError, match="cancelled"):
        scheduling.cancel_session(db_session, world.tenant, world.admin, ts)
    db_session.refresh(package)
    assert package.remaining_minutes == 120


def test_cancelling_pending_moves_no_hours(world, db_session):
    package = give(db_session, world, "2")
    ts = propose(db_session, world, 60)
    scheduling.cancel_session(db_session, world.tenant, world.parent, ts, now=NOW)
    db_session.refresh(package)
    assert package.remaining_minutes == 120
    assert ledger_sum(db_session, package) == 120


def test_refund_goes_back_even_to_an_inactive_package(world, db_session):
    package = give(db_session, world, "2")
    ts = book(db_session, world, 60)
    packages.set_package_active(db_session, world.admin, package, False)
    scheduling.cancel_session(db_session, world.tenant, world.parent, ts, now=NOW)
    db_session.refresh(package)
    assert (package.active, package.remaining_minutes) == (False, 120)


# --- rule 4: completion --------------------------------------------------------------------


def test_completion_needs_attendance_and_plan_in_either_order(world, db_session):
    give(db_session, world, "5")
    ts = book(db_session, world, 60)
    later = ts.starts_at + timedelta(minutes=1)
    scheduling.submit_action_plan(
        db_session,
        world.tenant,
        world.tutor,
        ts,
        topics="Essays",
        goals="",
        next_steps="",
        now=later,
    )
    assert ts.status == SessionStatus.UPCOMING
    scheduling.take_attendance(db_session, world.tenant, world.tutor, ts, "absent", now=later)
    assert ts.status == SessionStatus.COMPLETED
    assert ts.charged_minutes == 60  # an absent student still uses the hours


def test_attendance_waits_for_the_session_to_start(world, db_session):
    give(db_session, world, "5")
    ts = book(db_session, world, 60)
    with pytest.raises(DomainError, match="once the session has started"):
        scheduling.take_attendance(db_session, world.tenant, world.tutor, ts, "present", now=NOW)


def test_pending_session_cannot_take_attendance(world, db_session):
    ts = propose(db_session, world, 60)
    with pytest.raises(DomainError, match="pending"):
        scheduling.take_attendance(
            db_session, world.tenant, world.tutor, ts, "present", now=TOMORROW + timedelta(hours=1)
        )


def test_other_staff_cannot_record_or_cancel(world, db_session):
    give(db_session, world, "5")
    ts = book(db_session, world, 60)
    with pytest.raises(NotFound):
        scheduling.take_attendance(
            db_session, world.tenant, world.counselor, ts, "present", now=TOMORROW
        )
    with pytest.raises(NotFound):
        scheduling.cancel_session(db_session, world.tenant, world.counselor, ts)
    scheduling.cancel_session(db_session, world.tenant, world.admin, ts)  # admins may


# --- rule 5: which package pays --------------------------------------------------------


def test_package_choice(world, db_session):
    counseling = give(db_session, world, "10", service="counseling", start=date(2026, 1, 1))
    future = give(db_session, world, "10", name="Starts later", start=date(2026, 12, 20))
    small = give(db_session, world, "0.5", name="Too small", start=date(2026, 2, 1))
    paused = give(db_session, world, "10", name="Paused", start=date(2026, 3, 1))
    packages.set_package_active(db_session, world.admin, paused, False)
    expired = give(
        db_session,
        world,
        "10",
        name="Expired",
        start=date(2026, 4, 1),
        expires_on=date(2026, 11, 30),
    )
    other_student = give(db_session, world, "10", student=1, start=date(2026, 5, 1))
    payer = give(db_session, world, "10", name="Payer", start=date(2026, 6, 1))
    later = give(db_session, world, "10", name="Later", start=date(2026, 7, 1))
    ts = book(db_session, world, 60)
    assert ts.package_id == payer.id
    for untouched in (counseling, future, small, paused, expired, other_student, later):
        db_session.refresh(untouched)
        assert untouched.remaining_minutes == untouched.total_minutes


def test_session_is_never_split(world, db_session):
    give(db_session, world, "0.5", name="A")
    give(db_session, world, "0.5", name="B")
    with pytest.raises(
        scheduling.NotEnoughHours,
        match=r"has 1 hour of Tutoring left and this session needs 1\.5 hours",
    ):
        book(db_session, world, 90)


def test_not_enough_hours_changes_nothing(world, db_session):
    package = give(db_session, world, "1")
    db_session.commit()
    with pytest.raises(scheduling.NotEnoughHours, match="renewal package"):
        book(db_session, world, 90)
    db_session.rollback()
    db_session.refresh(package)
    assert package.remaining_minutes == 60
    assert (
        db_session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.DEBIT)).all()
        == []
    )


def test_staff_must_offer_the_service(world, db_session):
    give(db_session, world, "5", service="counseling")
    with pytest.raises(DomainError, match="does not offer Counseling"):
        book(db_session, world, 60, service="counseling", staff=world.tutor)
    ts = book(db_session, world, 60, service="counseling", staff=world.counselor)
    assert ts.status == SessionStatus.UPCOMING


# --- rule 6: duration and time changes ---------------------------------------------------


def test_changing_duration_debits_or_refunds_the_difference(world, db_session):
    package = give(db_session, world, "3")
    ts = book(db_session, world, 60)
    scheduling.change_duration(db_session, world.tenant, world.tutor, ts, 90)
    db_session.refresh(package)
    assert (package.remaining_minutes, ts.charged_minutes) == (90, 90)
    scheduling.change_duration(db_session, world.tenant, world.tutor, ts, 45)
    db_session.refresh(package)
    assert (package.remaining_minutes, ts.charged_minutes) == (135, 45)
    with pytest.raises(scheduling.NotEnoughHours):
        scheduling.change_duration(db_session, world.tenant, world.tutor, ts, 240)
    assert ledger_sum(db_session, package) == 135


def test_moving_a_session_moves_no_hours(world, db_session):
    package = give(db_session, world, "3")
    ts = book(db_session, world, 60)
    scheduling.reschedule(
        db_session, world.tenant, world.tutor, ts, TOMORROW + timedelta(days=2), now=NOW
    )
    db_session.refresh(package)
    assert package.remaining_minutes == 120
    assert ts.ends_at == TOMORROW + timedelta(days=2, minutes=60)


@pytest.mark.parametrize("minutes", [0, -30, 4, 721])
def test_absurd_durations_are_refused(world, db_session, minutes):
    give(db_session, world, "20")
    with pytest.raises(DomainError, match="A session lasts"):
        book(db_session, world, minutes)


def test_past_times_are_refused(world, db_session):
    give(db_session, world, "20")
    with pytest.raises(DomainError, match="future"):
        book(db_session, world, 60, at=NOW - timedelta(minutes=1))


# --- rule 7: no overlaps ------------------------------------------------------------------


def test_staff_and_student_cannot_overlap(world, db_session):
    give(db_session, world, "20")
    give(db_session, world, "20", student=1)
    book(db_session, world, 60)
    with pytest.raises(DomainError, match="Tara Tutor already has a session"):
        book(db_session, world, 60, at=TOMORROW + timedelta(minutes=30), student=1)
    with pytest.raises(DomainError, match="Ada already has a session"):
        book(db_session, world, 60, at=TOMORROW + timedelta(minutes=59), staff=world.admin)
    # back to back is fine
    book(db_session, world, 60, at=TOMORROW + timedelta(minutes=60), student=1)


def test_cancelled_and_declined_sessions_free_the_time(world, db_session):
    give(db_session, world, "20")
    ts = book(db_session, world, 60)
    scheduling.cancel_session(db_session, world.tenant, world.parent, ts, now=NOW)
    book(db_session, world, 60)


# --- rule 9: staff confirm family bookings ----------------------------------------------


def test_staff_confirm_or_reject_family_bookings(world, db_session, mailbox):
    package = give(db_session, world, "5")
    ts = book(db_session, world, 60)
    assert ts.confirmed_at is None
    scheduling.confirm_session(db_session, world.tenant, world.tutor, ts)
    assert ts.confirmed_at is not None
    db_session.refresh(package)
    assert package.remaining_minutes == 240
    other = book(db_session, world, 60, at=TOMORROW + timedelta(days=1))
    with pytest.raises(DomainError, match="why"):
        scheduling.reject_booking(db_session, world.tenant, world.tutor, other, " ")
    scheduling.reject_booking(db_session, world.tenant, world.tutor, other, "Away that day")
    assert other.status == SessionStatus.CANCELLED
    db_session.refresh(package)
    assert package.remaining_minutes == 240
    # The bookings' own e-mails ("Booked: …") aside: the one that says it was declined.
    mails = db_session.scalars(
        select(OutboundEmail).where(OutboundEmail.subject.not_like("Booked:%"))
    ).all()
    # parents (the invited one too) and the student with a login
    assert {m.to_addr for m in mails} == {
        world.parent.email,
        world.invitee.email,
        world.student_user.email,
    }
    assert all("Away that day" in m.body for m in mails)


# --- family permissions ----------------------------------------------------------------


def test_family_acts_only_for_its_students(world, db_session):
    give(db_session, world, "5", student=1)
    with pytest.raises(NotFound):
        book(db_session, world, 60, student=1, actor=world.student_user)  # Ada may not book for Ben
    book(db_session, world, 60, student=1, actor=world.parent)


# --- §4 running low --------------------------------------------------------------------


def test_low_balance_and_zero_notify_once_per_crossing(world, db_session):
    # Each booking's own e-mail ("Booked: …", with its invitation) aside.
    about_hours = (
        select(OutboundEmail)
        .where(OutboundEmail.subject.not_like("Booked:%"))
        .order_by(OutboundEmail.id)
    )
    give(db_session, world, "4")
    book(db_session, world, 60)  # 3 h left: above the 2 h line
    assert db_session.scalars(about_hours).all() == []
    book(db_session, world, 60, at=TOMORROW + timedelta(hours=2))  # 2 h left: crosses
    low = db_session.scalars(about_hours).all()
    assert len(low) == 3 and all("running low" in m.subject for m in low)
    book(db_session, world, 60, at=TOMORROW + timedelta(hours=4))  # 1 h: still low, no repeat
    assert len(db_session.scalars(about_hours).all()) == 3
    book(db_session, world, 60, at=TOMORROW + timedelta(hours=6))  # 0 h
    mails = db_session.scalars(about_hours).all()
    ada = world.students[0].first_name
    assert len(mails) == 6 and mails[-1].subject == f"{ada} has no Tutoring hours left"
    assert f"{ada} has no Tutoring hours left." in mails[-1].body


def test_zero_hours_email_speaks_of_the_other_packages(world, db_session):
    give(db_session, world, "1", name="SAT Intensive")
    give(db_session, world, "24", start=date(2026, 11, 2))  # Growth Package, started later
    give(db_session, world, "2", service="counseling", name="Counsel")  # another service
    book(db_session, world, 60)  # the older SAT Intensive pays (rule 5) and is used up
    mail = db_session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.subject.not_like("Booked:%"))  # the booking's own e-mail aside
        .order_by(OutboundEmail.id.desc())
    ).first()
    ada = world.students[0].first_name
    assert mail.subject == f"{ada}'s SAT Intensive is used up"
    assert f"{ada}'s SAT Intensive is used up; 24 Tutoring hours remain on Growth Package." in (
        mail.body
    )


def test_out_of_hours_sentence():
    assert hours.out_of_hours_sentence("Mia", "SAT", "Tutoring", [("A", 0)]) == (
        "Mia has no Tutoring hours left."
    )
    assert hours.out_of_hours_sentence("Mia", "SAT", "Tutoring", [("A", 60), ("B", 30)]) == (
        "Mia's SAT is used up; 1.5 Tutoring hours remain on A and B."
    )
    assert hours.out_of_hours_sentence("Mia", "SAT", "Tutoring", [("A", 60)]) == (
        "Mia's SAT is used up; 1 Tutoring hour remains on A."
    )


# --- §2 packages -----------------------------------------------------------------------


def test_adjustment_needs_a_note_and_cannot_go_below_zero(world, db_session):
    package = give(db_session, world, "2")
    with pytest.raises(DomainError, match="note is required"):
        hours.adjust(db_session, package, 30, world.admin, " ")
    hours.adjust(db_session, package, 30, world.admin, "Make-up for a short session")
    db_session.refresh(package)
    assert (package.total_minutes, package.remaining_minutes) == (150, 150)
    with pytest.raises(DomainError, match=r"Only 2\.5 hours are left"):
        hours.adjust(db_session, package, -200, world.admin, "Typo")
    hours.adjust(db_session, package, -50, world.admin, "Correction")
    db_session.refresh(package)
    assert (package.total_minutes, package.remaining_minutes) == (150, 100)


def test_ledger_entries_cannot_be_changed(world, db_session):
    package = give(db_session, world, "2")
    entry = db_session.scalars(
        select(LedgerEntry).where(LedgerEntry.package_id == package.id)
    ).one()
    entry.note = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db_session.flush()
    db_session.rollback()


def test_inactive_package_cannot_be_booked_against(world, db_session):
    package = give(db_session, world, "5")
    packages.set_package_active(db_session, world.admin, package, False)
    with pytest.raises(scheduling.NotEnoughHours, match="has 0 hours of Tutoring"):
        book(db_session, world, 60)


def test_weekly_renewal_happens_once_per_period(world, db_session):
    package = give(
        db_session, world, "2", package_type="recurring", period="weekly", start=date(2026, 11, 2)
    )
    book(db_session, world, 60)
    for _ in range(3):
        report = packages.renew_due(db_session, date(2026, 11, 10))
    db_session.refresh(package)
    # two periods began (Nov 9 and... only Nov 9 by the 10th); unused hour does not roll over
    assert package.current_period_start == date(2026, 11, 9)
    assert package.remaining_minutes == 120
    assert package.total_minutes == 240
    renewals = db_session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == EntryKind.RENEWAL)
    ).all()
    assert [r.renewal_period for r in renewals] == [date(2026, 11, 9)]
    assert report.renewed == 0
    assert ledger_sum(db_session, package) == package.remaining_minutes


def test_monthly_renewal_with_rollover_catches_up(world, db_session):
    package = give(
        db_session,
        world,
        "1",
        package_type="recurring",
        period="monthly",
        start=date(2026, 1, 31),
        rollover=True,
    )
    report = packages.renew_due(db_session, date(2026, 4, 1))
    db_session.refresh(package)
    assert report.renewed == 2  # Feb 28, Mar 31 (Apr 30 not yet)
    assert package.current_period_start == date(2026, 3, 31)
    assert package.remaining_minutes == 180


def test_expiry_turns_packages_inactive(world, db_session):
    package = give(db_session, world, "5", expires_on=date(2026, 11, 30))
    report = packages.renew_due(db_session, date(2026, 12, 1))
    db_session.refresh(package)
    assert report.expired == 1
    assert (package.active, package.inactive_reason) == (False, "expired")


def test_switching_a_package_on_uses_the_business_day_not_the_machines(world, db_session):
    # 02:00 UTC on 1 Dec is still 30 Nov, 9 PM, for the business in New York.
    last_day = give(db_session, world, "5", expires_on=date(2026, 11, 30))
    gone = give(db_session, world, "5", name="Gone", expires_on=date(2026, 11, 29))
    for package in (last_day, gone):
        packages.set_package_active(db_session, world.admin, package, False)
    with time_machine.travel(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), tick=False):
        packages.set_package_active(db_session, world.admin, last_day, True)
        with pytest.raises(DomainError, match="has expired"):
            packages.set_package_active(db_session, world.admin, gone, True)
    assert (last_day.active, gone.active) == (True, False)


def test_usable_on_reads_the_same_in_python_and_sql(world, db_session):
    made = [
        give(db_session, world, "1", name="Open-ended", start=date(2026, 11, 1)),
        give(db_session, world, "1", name="Starts later", start=date(2026, 12, 2)),
        give(db_session, world, "1", name="Ends 1 Dec", expires_on=date(2026, 12, 1)),
        give(db_session, world, "1", name="Ended", expires_on=date(2026, 11, 30)),
        give(db_session, world, "1", name="Paused"),
    ]
    packages.set_package_active(db_session, world.admin, made[-1], False)
    day = date(2026, 12, 1)
    for rule in ("not_expired_on", "active_on", "usable_on"):
        in_python = {p.name for p in made if getattr(p, rule)(day)}
        in_sql = set(db_session.scalars(select(Package.name).where(getattr(Package, rule)(day))))
        assert in_python == in_sql, rule
    assert in_python == {"Open-ended", "Ends 1 Dec"}
    assert [p.inactive_reason_on(day) for p in made] == [None, None, None, "expired", "paused"]


def test_active_packages_are_what_the_status_column_says_oldest_first(world, db_session):
    made = [
        give(db_session, world, "1", name="Starts later", start=date(2026, 12, 2)),
        give(db_session, world, "1", name="Open-ended", start=date(2026, 11, 1)),
        give(db_session, world, "1", name="Ended", expires_on=date(2026, 11, 30)),
        give(db_session, world, "1", name="Paused"),
        give(db_session, world, "1", name="Ben's", student=1),
    ]
    packages.set_package_active(db_session, world.admin, made[3], False)
    day = date(2026, 12, 1)
    shown = packages.active_packages(db_session, [world.students[0].id], day)
    # Active (not yet usable) packages show too: staff and families see them coming.
    assert [p.name for p in shown] == ["Open-ended", "Starts later"]
    assert all(p.active_on(day) for p in shown)
    both = packages.active_packages(db_session, [s.id for s in world.students], day)
    assert [p.name for p in both] == ["Open-ended", "Ben's", "Starts later"]
    assert packages.active_packages(db_session, [], day) == []


def test_running_low_reads_the_same_in_python_and_sql(world, db_session):
    made = [give(db_session, world, text, name=text) for text in ("1", "2", "2.5")]
    threshold = world.tenant.low_balance_minutes  # 2 hours
    in_python = {p.name for p in made if p.running_low(threshold)}
    in_sql = set(db_session.scalars(select(Package.name).where(Package.running_low(threshold))))
    assert in_python == in_sql == {"1", "2"}


def test_accept_is_offered_only_where_a_package_can_pay(world, db_session):
    give(db_session, world, "1", name="Small")
    fits = propose(db_session, world, 60)
    too_long = propose(db_session, world, 90, at=TOMORROW + timedelta(hours=3))
    active = packages.active_packages(db_session, [world.students[0].id], date(2026, 12, 1))
    previews = scheduling.accept_previews(world.tenant, [fits, too_long], active)
    assert [(p.package.name if p.package else None, p.minutes_left) for p in previews] == [
        ("Small", 60),
        (None, 60),
    ]
    offered = scheduling.family_actions([fits, too_long], previews, world.parent, NOW)
    assert offered[fits.id] == {"accept", "decline", "cancel"}
    assert offered[too_long.id] == {"decline", "cancel"}  # accepting would be refused
    with pytest.raises(scheduling.NotEnoughHours):
        scheduling.accept_session(db_session, world.tenant, world.parent, too_long, now=NOW)


@pytest.mark.tampers_ledger
def test_audit_reports_a_tampered_balance(world, db_session):
    from sqlalchemy import text

    package = give(db_session, world, "5")
    assert hours.audit(db_session) == []
    db_session.execute(
        text("UPDATE package SET remaining_minutes = 1 WHERE id = :id"), {"id": package.id}
    )
    mismatches = hours.audit(db_session)
    assert [(m.package_id, m.remaining, m.ledger_sum) for m in mismatches] == [(package.id, 1, 300)]


def test_dst_gap_time_is_refused(world, db_session):
    with pytest.raises(DomainError, match="does not exist"):
        localtime.local_to_utc(world.tenant, date(2027, 3, 14), time(2, 30))
    assert localtime.local_to_utc(world.tenant, date(2027, 3, 14), time(3, 30)).hour == 7


def test_past_proposal_cannot_be_accepted(world, db_session):
    give(db_session, world, "5")
    ts = propose(db_session, world, 60)
    with pytest.raises(DomainError, match="time has passed"):
        scheduling.accept_session(
            db_session, world.tenant, world.parent, ts, now=ts.starts_at + timedelta(minutes=1)
        )


def test_lengthening_names_the_paying_package(world, db_session):
    give(db_session, world, "1", name="Small")
    give(db_session, world, "10", name="Big", start=date(2026, 11, 20))
    ts = book(db_session, world, 60)
    with pytest.raises(scheduling.NotEnoughHours, match="Small has 0 hours left"):
        scheduling.change_duration(db_session, world.tenant, world.tutor, ts, 90)


def test_session_with_attendance_cannot_be_cancelled(world, db_session):
    package = give(db_session, world, "5")
    ts = book(db_session, world, 60)
    later = ts.starts_at + timedelta(minutes=5)
    scheduling.take_attendance(db_session, world.tenant, world.tutor, ts, "absent", now=later)
    with pytest.raises(DomainError, match="took place"):
        scheduling.cancel_session(db_session, world.tenant, world.parent, ts, now=NOW)
    db_session.refresh(package)
    assert package.remaining_minutes == 240


def test_not_enough_hours_offers_buy_hours_when_the_business_sells_online(
    world, db_session, monkeypatch
):
    give(db_session, world, "0.5")
    monkeypatch.setattr("prepbase.business.sells_online", lambda tenant: True)
    with pytest.raises(scheduling.NotEnoughHours, match="Buy Hours on your dashboard"):
        book(db_session, world, 60)
