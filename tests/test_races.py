"""Hours under concurrent requests: exactly the sessions that fit succeed, never below zero.

These tests commit for real (other connections must see the rows), each on a business of
its own that is deleted afterwards. On PostgreSQL the guards are conditional UPDATEs and
row locks; on SQLite, BEGIN IMMEDIATE serializes the writers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import hours, packages, scheduling
from prepbase.errors import DomainError
from prepbase.models import LedgerEntry, Package, SessionStatus, Tenant, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.factories import Business

THREADS = 20
START = datetime(2031, 3, 3, 14, 0, tzinfo=UTC)


def run_threads(count: int, work: Callable[[int], str]) -> list[str]:
    """Run `work(i)` in `count` threads released at the same moment; collect outcomes."""
    barrier = threading.Barrier(count)
    results: list[str] = [""] * count

    def runner(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # recorded, so the assertion shows it
            results[i] = f"error: {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def in_tenant(engine, business: Business, fn: Callable[[Session], str]) -> str:
    """One transaction of one request: its own session, committed or rolled back."""
    with as_tenant(business.tenant.id), Session(engine) as session:
        try:
            outcome = fn(session)
            session.commit()
            return outcome
        except DomainError as exc:
            session.rollback()
            return f"refused: {exc.message}"


def load(session: Session, model, ident: int):
    return session.scalar(sa.select(model).where(model.id == ident))


def give_package(app, engine, business: Business, minutes: int) -> int:
    with app.app_context(), as_tenant(business.tenant.id), Session(engine) as session:
        package = packages.assign_package(
            session,
            load(session, User, business.admin.id),
            load(session, type(business.students[0]), business.students[0].id),
            name="Last hours",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=minutes,
            start_date=date(2020, 1, 1),
        )
        session.commit()
        return package.id


def check_books(engine, business: Business, package_id: int) -> Package:
    with as_tenant(business.tenant.id), Session(engine) as session:
        package = load(session, Package, package_id)
        entries = session.scalars(
            sa.select(LedgerEntry).where(LedgerEntry.package_id == package_id)
        ).all()
        assert package.remaining_minutes >= 0
        assert package.remaining_minutes == sum(e.minutes for e in entries)
        session.expunge(package)
    with Session(engine) as session:
        assert [m for m in hours.audit(session) if m.package_id == package_id] == []
    return package


def book(engine, business: Business, i: int) -> str:
    def work(session: Session) -> str:
        ts = scheduling.book_session(
            session,
            load(session, Tenant, business.tenant.id),
            load(session, User, business.parent.id),
            student=load(session, type(business.students[0]), business.students[0].id),
            staff=load(session, User, business.tutor.id),
            service="tutoring",
            starts_at=START + timedelta(hours=2 * i),
            duration_minutes=60,
            now=START - timedelta(days=1),
        )
        return f"booked {ts.id}"

    return in_tenant(engine, business, work)


def test_twenty_families_race_for_the_last_hours(app, engine, committed):
    package_id = give_package(app, engine, committed, 5 * 60)
    results = run_threads(THREADS, lambda i: book(engine, committed, i))
    booked = [r for r in results if r.startswith("booked")]
    refused = [r for r in results if r.startswith("refused")]
    assert len(booked) == 5, results
    assert len(refused) == THREADS - 5, results
    assert all("Not enough hours" in r and "has 0 hours of Tutoring left" in r for r in refused)
    package = check_books(engine, committed, package_id)
    assert package.remaining_minutes == 0


def test_concurrent_cancels_refund_once(app, engine, committed):
    package_id = give_package(app, engine, committed, 3 * 60)
    session_id = int(book(engine, committed, 0).split()[1])

    def cancel(i: int) -> str:
        def work(session: Session) -> str:
            ts = load(session, TutoringSession, session_id)
            actor = load(session, User, (committed.parent if i % 2 else committed.tutor).id)
            scheduling.cancel_session(
                session, load(session, Tenant, committed.tenant.id), actor, ts
            )
            return "cancelled"

        return in_tenant(engine, committed, work)

    results = run_threads(THREADS, cancel)
    assert results.count("cancelled") == 1, results
    assert all(r.startswith("refused") for r in results if r != "cancelled"), results
    package = check_books(engine, committed, package_id)
    assert package.remaining_minutes == 180


def test_accept_racing_cancel_keeps_hours_consistent(app, engine, committed):
    package_id = give_package(app, engine, committed, 10 * 60)
    for round_ in range(5):
        with as_tenant(committed.tenant.id), Session(engine) as session:
            ts = scheduling.propose_session(
                session,
                load(session, Tenant, committed.tenant.id),
                load(session, User, committed.tutor.id),
                student=load(session, type(committed.students[0]), committed.students[0].id),
                staff=load(session, User, committed.tutor.id),
                service="tutoring",
                starts_at=START + timedelta(days=round_),
                duration_minutes=60,
                now=START - timedelta(days=1),
            )
            session.commit()
            session_id = ts.id

        def act(i: int, session_id: int = session_id) -> str:
            def work(session: Session) -> str:
                tenant = load(session, Tenant, committed.tenant.id)
                ts = load(session, TutoringSession, session_id)
                if i == 0:
                    scheduling.accept_session(
                        session, tenant, load(session, User, committed.parent.id), ts
                    )
                    return "accepted"
                scheduling.cancel_session(
                    session, tenant, load(session, User, committed.tutor.id), ts
                )
                return "cancelled"

            return in_tenant(engine, committed, work)

        results = run_threads(2, act)
        assert "cancelled" in results, results
        with as_tenant(committed.tenant.id), Session(engine) as session:
            ts = load(session, TutoringSession, session_id)
            assert ts.status == SessionStatus.CANCELLED
            assert ts.charged_minutes == 0
        package = check_books(engine, committed, package_id)
        assert package.remaining_minutes == 600  # accepted-then-cancelled was refunded


def test_overlapping_bookings_race_one_wins(app, engine, committed):
    give_package(app, engine, committed, 50 * 60)

    def same_slot(i: int) -> str:
        return book(engine, committed, 0)

    results = run_threads(10, same_slot)
    assert sum(r.startswith("booked") for r in results) == 1, results
    assert all("already has a session" in r for r in results if not r.startswith("booked"))


def test_twenty_accepts_race_for_the_last_hours(app, engine, committed):
    """Twenty accepts for one student queue on the people locks (one lock order for
    every verb); the conditional UPDATE refuses those the hours no longer cover."""
    package_id = give_package(app, engine, committed, 5 * 60)
    ids = []
    with as_tenant(committed.tenant.id), Session(engine) as session:
        tenant = load(session, Tenant, committed.tenant.id)
        tutor = load(session, User, committed.tutor.id)
        student = load(session, type(committed.students[0]), committed.students[0].id)
        for i in range(THREADS):
            ts = scheduling.propose_session(
                session,
                tenant,
                tutor,
                student=student,
                staff=tutor,
                service="tutoring",
                starts_at=START + timedelta(hours=2 * i),
                duration_minutes=60,
                now=START - timedelta(days=1),
            )
            ids.append(ts.id)
        session.commit()

    def accept(i: int) -> str:
        def work(session: Session) -> str:
            scheduling.accept_session(
                session,
                load(session, Tenant, committed.tenant.id),
                load(session, User, committed.parent.id),
                load(session, TutoringSession, ids[i]),
            )
            return "accepted"

        return in_tenant(engine, committed, work)

    results = run_threads(THREADS, accept)
    assert results.count("accepted") == 5, results
    assert all(r.startswith("refused: Not enough hours") for r in results if r != "accepted"), (
        results
    )
    package = check_books(engine, committed, package_id)
    assert package.remaining_minutes == 0
    with as_tenant(committed.tenant.id), Session(engine) as session:
        statuses = session.scalars(
            sa.select(TutoringSession.status).where(TutoringSession.id.in_(ids))
        ).all()
    assert sorted(statuses).count("upcoming") == 5 and statuses.count("pending") == 15
