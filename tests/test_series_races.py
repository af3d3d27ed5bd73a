"""Weekly series under concurrent requests (issue 13): two families booking series that
meet in one slot, a series accepted while its hours are spent elsewhere, and every series
verb in a burst with the single-session verbs. Never overdrawn, never double-booked, no
deadlock. Committed data and threads, as in tests/test_races.py and test_lock_order.py;
the point of these tests is PostgreSQL (on SQLite, BEGIN IMMEDIATE runs one writer at a
time, and the same invariants are checked)."""

from __future__ import annotations

import random
from datetime import time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import accounts, people, scheduling
from prepbase.errors import DomainError
from prepbase.localtime import local_date
from prepbase.models import (
    OPEN_STATUSES,
    Role,
    SessionStatus,
    Student,
    Tenant,
    TutoringSession,
    User,
)
from prepbase.series import NewSeries, make_rule
from prepbase.tenancy import as_tenant
from tests.factories import Business
from tests.test_lock_order import (
    BEFORE,
    OPS,
    THREADS,
    Burst,
    accept,
    book,
    burst,
    cancel,
    check_hours,
    propose_many,
)
from tests.test_races import START, check_books, give_package, load, run_threads


def another_family(engine, business: Business, i: int) -> tuple[int, int]:
    """A family of its own: a parent and a student (ids)."""
    with as_tenant(business.tenant.id), Session(engine) as session:
        admin = load(session, User, business.admin.id)
        family = people.create_family(session, admin, name=f"Family {i}")
        student = people.save_student(
            session, admin, None, family=family, first_name=f"Kid{i}", last_name="Race",
            grade="9", school="", notes="",
        )  # fmt: skip
        parent = User(
            name=f"Parent {i}",
            email=f"parent{i}@{business.tenant.slug}.example.com",
            role=Role.PARENT,
            family=family,
            password_hash=accounts.hash_password("x" * 12),
        )
        session.add(parent)
        session.commit()
        return parent.id, student.id


def give_to(app, engine, business: Business, student_id: int, minutes: int) -> int:
    """`give_package` for any student."""
    from prepbase import packages

    with app.app_context(), as_tenant(business.tenant.id), Session(engine) as session:
        package = packages.assign_package(
            session,
            load(session, User, business.admin.id),
            load(session, Student, student_id),
            name=f"Hours {student_id}",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=minutes,
            start_date=START.date() - timedelta(days=400),
        )
        session.commit()
        return package.id


def weekly(tenant: Tenant, student: Student, staff: User, count: int, weeks_later=0) -> NewSeries:
    first = local_date(tenant, START) + timedelta(weeks=weeks_later)
    return NewSeries(
        student, staff, "tutoring", make_rule(first_day=first, start=time(16), count=count), 60
    )


def open_overlaps(engine, business: Business) -> list[tuple[int, int]]:
    """Pairs of the tutor's or a student's pending/upcoming sessions that overlap."""
    with as_tenant(business.tenant.id), Session(engine) as session:
        rows = session.execute(
            sa.select(
                TutoringSession.id,
                TutoringSession.staff_id,
                TutoringSession.student_id,
                TutoringSession.starts_at,
                TutoringSession.ends_at,
            ).where(TutoringSession.status.in_(OPEN_STATUSES))
        ).all()
    return [
        (a.id, b.id)
        for a in rows
        for b in rows
        if a.id < b.id
        and (a.staff_id == b.staff_id or a.student_id == b.student_id)
        and a.starts_at < b.ends_at
        and b.starts_at < a.ends_at
    ]


def test_families_booking_series_that_meet_in_one_slot_never_double_book(app, engine, committed):
    """Eight families each saw the same free Tuesdays and confirm a 4-week series at once:
    one books; the others are refused with the new plan (the slot is taken); no two open
    sessions of the tutor overlap; no package is overdrawn."""
    families = [another_family(engine, committed, i) for i in range(8)]
    package_ids = [give_to(app, engine, committed, sid, 120) for _pid, sid in families]
    plans = []
    for parent_id, student_id in families:
        with as_tenant(committed.tenant.id), Session(engine) as session:
            tenant = load(session, Tenant, committed.tenant.id)
            tutor = load(session, User, committed.tutor.id)
            new = weekly(tenant, load(session, Student, student_id), tutor, 4)
            plans.append(
                scheduling.plan_booking_series(
                    session, tenant, load(session, User, parent_id), new, BEFORE
                ).fingerprint
            )

    def confirm(i: int) -> str:
        parent_id, student_id = families[i]
        with as_tenant(committed.tenant.id), Session(engine) as session:
            tenant = load(session, Tenant, committed.tenant.id)
            tutor = load(session, User, committed.tutor.id)
            new = weekly(tenant, load(session, Student, student_id), tutor, 4)
            try:
                made = scheduling.book_series(
                    session, tenant, load(session, User, parent_id), new, plans[i], BEFORE
                )
                session.commit()
                return "booked " + ",".join(ts.status for ts in made)
            except DomainError as exc:
                session.rollback()
                return f"refused: {exc.message}"

    results = run_threads(len(families), confirm)
    assert results.count("booked upcoming,upcoming,waiting,waiting") == 1, results
    assert all(r.startswith("refused: Something changed") for r in results if "booked" not in r)
    assert open_overlaps(engine, committed) == []
    for package_id in package_ids:
        check_books(engine, committed, package_id)


def test_a_series_accepted_while_its_hours_are_spent_never_overdraws(app, engine, committed):
    """Five proposals accepted as a series (without a confirmed plan: what fits is paid,
    the rest waits) while ten single bookings spend the same five hours: every debit is a
    conditional UPDATE under the student's lock, so the hours add up exactly."""
    package_id = give_package(app, engine, committed, 5 * 60)
    with as_tenant(committed.tenant.id), Session(engine) as session:
        tenant = load(session, Tenant, committed.tenant.id)
        tutor = load(session, User, committed.tutor.id)
        student = load(session, Student, committed.students[0].id)
        made = scheduling.propose_series(
            session, tenant, tutor, weekly(tenant, student, tutor, 5, weeks_later=10), now=BEFORE
        )
        session.commit()
        first_id = made[0].id

    def act(i: int) -> str:
        with as_tenant(committed.tenant.id), Session(engine) as session:
            tenant = load(session, Tenant, committed.tenant.id)
            parent = load(session, User, committed.parent.id)
            try:
                if i == 0:
                    ts = load(session, TutoringSession, first_id)
                    answered = scheduling.accept_series(session, tenant, parent, ts, now=BEFORE)
                    outcome = "accepted " + ",".join(p.status for p in answered)
                else:
                    scheduling.book_session(
                        session,
                        tenant,
                        parent,
                        student=load(session, Student, committed.students[0].id),
                        staff=load(session, User, committed.admin.id),
                        service="tutoring",
                        starts_at=START + timedelta(hours=2 * i),
                        duration_minutes=60,
                        now=BEFORE,
                    )
                    outcome = "booked"
                session.commit()
                return outcome
            except DomainError as exc:
                session.rollback()
                return f"refused: {exc.message}"

    results = run_threads(11, act)
    [accepted] = [r for r in results if r.startswith("accepted")]
    paid = accepted.count("upcoming") + results.count("booked")
    assert paid == 5, results
    assert all("Not enough hours" in r for r in results if r.startswith("refused")), results
    package = check_books(engine, committed, package_id)
    assert package.remaining_minutes == 0
    check_hours(engine, committed, package_id, 5 * 60)
    assert open_overlaps(engine, committed) == []


# --- every series verb in one burst with the single-session verbs ----------------------------


class SeriesBurst(Burst):
    """`Burst` plus the series made so far (any session of each)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.series_sessions: list[int] = []

    def add_series(self, session_ids: list[int]) -> None:
        with self.lock:
            self.series_sessions.extend(session_ids)
            self.sessions.extend(session_ids)

    def any_series_session(self, rng: random.Random) -> int | None:
        with self.lock:
            return rng.choice(self.series_sessions) if self.series_sessions else None


def book_series(session: Session, burst: SeriesBurst, number: int, rng: random.Random) -> str:
    tenant = burst.tenant(session)
    new = NewSeries(
        burst.student(session),
        burst.staff(session, rng),
        "tutoring",
        make_rule(
            first_day=local_date(tenant, START) + timedelta(days=30 + 3 * number),
            start=time(9),
            count=3,
        ),
        60,
    )
    made = scheduling.book_series(session, tenant, burst.parent(session), new, now=BEFORE)
    burst.add_series([ts.id for ts in made])
    return "booked a series"


def cancel_following(session: Session, burst: SeriesBurst, number: int, rng) -> str:
    session_id = burst.any_series_session(rng)
    if session_id is None:
        return "no series yet"
    ts = load(session, TutoringSession, session_id)
    actor = burst.parent(session) if rng.random() < 0.5 else burst.staff_actor(session, ts, rng)
    scheduling.cancel_following(session, burst.tenant(session), actor, ts, now=BEFORE)
    return "cancelled following"


def move_following(session: Session, burst: SeriesBurst, number: int, rng) -> str:
    session_id = burst.any_series_session(rng)
    if session_id is None:
        return "no series yet"
    ts = load(session, TutoringSession, session_id)
    scheduling.reschedule_following(
        session,
        burst.tenant(session),
        burst.staff_actor(session, ts, rng),
        ts,
        START + timedelta(days=600, hours=3 * number),
        now=BEFORE,
    )
    return "moved following"


def test_series_verbs_with_every_session_verb_at_once_have_no_deadlock(app, engine, committed):
    """Booking series (debits, waiting occurrences), cancelling this-and-following
    (refunds that pay waiting occurrences, locking their staff members in the order),
    moving this-and-following, alongside single bookings, accepts and cancels: no error
    (no deadlock on PostgreSQL), and the hours add up."""
    initial = 40 * 60  # not enough for everything: some occurrences wait for hours
    package_id = give_package(app, engine, committed, initial)
    shared = SeriesBurst(engine, committed, propose_many(engine, committed, THREADS * OPS // 4))
    verbs = [book, accept, cancel, book_series, book_series, cancel_following, move_following]
    outcomes = burst(shared, verbs, OPS)
    assert [o for o in outcomes if o.startswith("error")] == []
    assert {"booked a series", "cancelled following"} <= set(outcomes)
    check_hours(engine, committed, package_id, initial)
    assert open_overlaps(engine, committed) == []
    with as_tenant(committed.tenant.id), Session(engine) as session:
        statuses = set(session.scalars(sa.select(TutoringSession.status)).all())
    assert SessionStatus.WAITING in statuses or SessionStatus.UPCOMING in statuses
