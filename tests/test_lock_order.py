"""Every verb that changes a session, run at once for one student and one staff member:
no deadlock, no error, and the hours add up.

Committed data (see tests/test_races.py), one transaction per verb and no retry: on
PostgreSQL the verbs take row locks, and two that take them in different orders
deadlock. Before the lock order (`scheduling._lock_for_change`) 304 of 640 verbs of the
first test failed with `DeadlockDetected`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import scheduling
from prepbase.errors import DomainError
from prepbase.models import SessionStatus, Student, Tenant, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.conftest import TEST_DB
from tests.factories import Business
from tests.test_races import START, check_books, give_package, load, run_threads

THREADS = 8
# SQLite cannot deadlock here (BEGIN IMMEDIATE runs one writer at a time) and commits
# slowly: a shorter burst there still checks the hours.
OPS = 80 if TEST_DB == "postgres" else 20
BEFORE = START - timedelta(days=1)  # "now" for the verbs: every session is ahead

Verb = Callable[[Session, "Burst", int, random.Random], str]
Act = Callable[[Session, "Burst", TutoringSession, int, random.Random], str]


class Burst:
    """What the threads share: the business, and the session ids they act on."""

    def __init__(self, engine: sa.Engine, business: Business, proposals: list[int]) -> None:
        self.engine = engine
        self.business = business
        self.lock = threading.Lock()
        self.proposals = proposals  # pending, to accept or decline
        self.sessions: list[int] = []  # booked or accepted, to cancel, change, complete

    def take_proposal(self) -> int | None:
        with self.lock:
            return self.proposals.pop() if self.proposals else None

    def add(self, session_id: int) -> None:
        with self.lock:
            self.sessions.append(session_id)

    def any_session(self, rng: random.Random) -> int | None:
        with self.lock:
            return rng.choice(self.sessions) if self.sessions else None

    # The rows each verb needs, loaded in the verb's own transaction.
    def tenant(self, session: Session) -> Tenant:
        return load(session, Tenant, self.business.tenant.id)

    def parent(self, session: Session) -> User:
        return load(session, User, self.business.parent.id)

    def tutor(self, session: Session) -> User:
        return load(session, User, self.business.tutor.id)

    def student(self, session: Session) -> Student:
        return load(session, Student, self.business.students[0].id)

    def staff(self, session: Session, rng: random.Random) -> User:
        """The tutor, or the owner (an admin who teaches too)."""
        return load(session, User, rng.choice((self.business.tutor, self.business.admin)).id)

    def staff_actor(self, session: Session, ts: TutoringSession, rng: random.Random) -> User:
        """The session's staff member, or the admin acting for them."""
        return load(session, User, rng.choice((ts.staff_id, self.business.admin.id)))


def propose_many(engine: sa.Engine, business: Business, count: int) -> list[int]:
    """`count` one-hour proposals of the tutor, on days no booking uses."""
    with as_tenant(business.tenant.id), Session(engine) as session:
        tutor = load(session, User, business.tutor.id)
        ids = [
            scheduling.propose_session(
                session,
                load(session, Tenant, business.tenant.id),
                tutor,
                student=load(session, Student, business.students[0].id),
                staff=tutor,
                service="tutoring",
                starts_at=START + timedelta(days=200, hours=2 * i),
                duration_minutes=60,
                now=BEFORE,
            ).id
            for i in range(count)
        ]
        session.commit()
    return ids


def burst(burst: Burst, verbs: Sequence[Verb], ops: int) -> list[str]:
    """THREADS threads released together, each running `ops` verbs picked at random; one
    transaction per verb, committed, or rolled back when the domain refuses it."""
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(verb: Verb, number: int, rng: random.Random) -> str:
        with as_tenant(burst.business.tenant.id), Session(burst.engine) as session:
            try:
                outcome = verb(session, burst, number, rng)
                session.commit()
                return outcome
            except DomainError as exc:
                session.rollback()
                return f"refused: {exc.message}"
            except Exception as exc:  # recorded, so the assertion shows it
                return f"error: {type(exc).__name__}: {exc}"

    def thread(i: int) -> str:
        rng = random.Random(i)
        for k in range(ops):
            outcome = one(rng.choice(verbs), i * ops + k, rng)
            with lock:
                outcomes.append(outcome)
        return "done"

    assert run_threads(THREADS, thread) == ["done"] * THREADS
    return outcomes


def check_hours(engine: sa.Engine, business: Business, package_id: int, initial: int) -> None:
    """The ledger audit passes, the package lost exactly what the sessions hold, and only
    upcoming and completed sessions hold any."""
    package = check_books(engine, business, package_id)
    with as_tenant(business.tenant.id), Session(engine) as session:
        rows = session.execute(
            sa.select(
                TutoringSession.status,
                TutoringSession.charged_minutes,
                TutoringSession.duration_minutes,
            )
        ).all()
    assert package.remaining_minutes == initial - sum(charged for _, charged, _ in rows)
    for status, charged, duration in rows:
        paid = status in (SessionStatus.UPCOMING, SessionStatus.COMPLETED)
        assert charged == (duration if paid else 0), (status, charged, duration)


# --- the verbs, as a family and the tutor use them -------------------------------------


def book(session: Session, burst: Burst, number: int, rng: random.Random) -> str:
    return book_with(burst.tutor(session), session, burst, number)


def book_anyone(session: Session, burst: Burst, number: int, rng: random.Random) -> str:
    return book_with(burst.staff(session, rng), session, burst, number)


def book_with(staff: User, session: Session, burst: Burst, number: int) -> str:
    ts = scheduling.book_session(
        session,
        burst.tenant(session),
        burst.parent(session),
        student=burst.student(session),
        staff=staff,
        service="tutoring",
        starts_at=START + timedelta(hours=2 * number),
        duration_minutes=60,
        now=BEFORE,
    )
    burst.add(ts.id)
    return "booked"


def accept(session: Session, burst: Burst, number: int, rng: random.Random) -> str:
    session_id = burst.take_proposal()
    if session_id is None:
        return "nothing to accept"
    ts = load(session, TutoringSession, session_id)
    scheduling.accept_session(session, burst.tenant(session), burst.parent(session), ts, BEFORE)
    burst.add(session_id)
    return "accepted"


def decline(session: Session, burst: Burst, number: int, rng: random.Random) -> str:
    session_id = burst.take_proposal()
    if session_id is None:
        return "nothing to decline"
    ts = load(session, TutoringSession, session_id)
    scheduling.decline_session(session, burst.tenant(session), burst.parent(session), ts)
    return "declined"


def acting_on_a_session(act: Act) -> Verb:
    """A verb on one of the sessions booked or accepted so far, picked at random."""

    def verb(session: Session, burst: Burst, number: int, rng: random.Random) -> str:
        session_id = burst.any_session(rng)
        if session_id is None:
            return "no session yet"
        ts = load(session, TutoringSession, session_id)
        return act(session, burst, ts, number, rng)

    return verb


@acting_on_a_session
def cancel(session, burst, ts, number, rng) -> str:
    actor = burst.parent(session) if rng.random() < 0.5 else burst.staff_actor(session, ts, rng)
    scheduling.cancel_session(session, burst.tenant(session), actor, ts)
    return "cancelled"


@acting_on_a_session
def change_duration(session, burst, ts, number, rng) -> str:
    minutes = rng.choice((30, 60, 90))
    scheduling.change_duration(
        session, burst.tenant(session), burst.staff_actor(session, ts, rng), ts, minutes
    )
    return "changed duration"


@acting_on_a_session
def reschedule(session, burst, ts, number, rng) -> str:
    starts_at = START + timedelta(days=400, hours=2 * number)
    scheduling.reschedule(
        session,
        burst.tenant(session),
        burst.staff_actor(session, ts, rng),
        ts,
        starts_at,
        now=BEFORE,
    )
    return "rescheduled"


@acting_on_a_session
def confirm_or_reject(session, burst, ts, number, rng) -> str:
    tenant, staff = burst.tenant(session), burst.staff_actor(session, ts, rng)
    if rng.random() < 0.5:
        scheduling.confirm_session(session, tenant, staff, ts)
        return "confirmed"
    scheduling.reject_booking(session, tenant, staff, ts, "Away that day")
    return "rejected"


@acting_on_a_session
def complete(session, burst, ts, number, rng) -> str:
    tenant, staff = burst.tenant(session), burst.staff_actor(session, ts, rng)
    after = ts.starts_at + timedelta(minutes=5)
    scheduling.take_attendance(session, tenant, staff, ts, "present", now=after)
    scheduling.submit_action_plan(
        session, tenant, staff, ts, topics="Algebra", goals="", next_steps="", now=after
    )
    return "completed"


# --- the tests ---------------------------------------------------------------------------


def test_book_cancel_accept_burst_has_no_deadlock(app, engine, committed):
    """Issue 11: booking, accepting and cancelling at once for one student and staff
    member deadlocked on PostgreSQL. 8 threads × 80 verbs: no error, hours add up."""
    ops = OPS
    initial = 600 * 60
    package_id = give_package(app, engine, committed, initial)
    shared = Burst(engine, committed, propose_many(engine, committed, THREADS * ops // 3))
    outcomes = burst(shared, [book, accept, cancel], ops)
    assert [o for o in outcomes if o.startswith("error")] == []
    assert len(outcomes) == THREADS * ops
    assert {"booked", "accepted", "cancelled"} <= set(outcomes)
    check_hours(engine, committed, package_id, initial)


def test_every_session_verb_at_once_has_no_deadlock(app, engine, committed):
    """Every verb that changes a session locks staff member, student, session, package in
    that order, and decides on the session as it is under its lock."""
    ops = 30
    initial = 600 * 60
    package_id = give_package(app, engine, committed, initial)
    shared = Burst(engine, committed, propose_many(engine, committed, THREADS * ops // 4))
    verbs = [book_anyone, book_anyone, accept, decline, cancel, change_duration, reschedule]
    outcomes = burst(shared, [*verbs, confirm_or_reject, complete], ops)
    assert [o for o in outcomes if o.startswith("error")] == []
    assert {"booked", "accepted", "cancelled", "changed duration", "completed"} <= set(outcomes)
    check_hours(engine, committed, package_id, initial)
