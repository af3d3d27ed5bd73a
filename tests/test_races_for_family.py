"""The business's booking and accepting for a family (issue 19) racing the family's own,
on committed data: the same locks in the same order, so one wins, the hours are taken
once, and the books balance."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from prepbase import scheduling
from prepbase.models import Tenant, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.test_races import START, check_books, give_package, in_tenant, load, run_threads


def _book(engine, business, i: int, *, by_admin: bool, at) -> str:
    def work(session: Session) -> str:
        verb = scheduling.book_for_family if by_admin else scheduling.book_session
        who = business.admin if by_admin else business.parent
        ts = verb(
            session,
            load(session, Tenant, business.tenant.id),
            load(session, User, who.id),
            student=load(session, type(business.students[0]), business.students[0].id),
            staff=load(session, User, business.tutor.id),
            service="tutoring",
            starts_at=at,
            duration_minutes=60,
            now=START - timedelta(days=1),
        )
        return f"booked by {'admin' if by_admin else 'family'} {ts.id}"

    return in_tenant(engine, business, work)


def test_admin_and_family_bookings_race_for_the_last_hours(app, engine, committed):
    package_id = give_package(app, engine, committed, 3 * 60)
    results = run_threads(
        8,
        lambda i: _book(
            engine, committed, i, by_admin=i % 2 == 0, at=START + timedelta(hours=2 * i)
        ),
    )
    booked = [r for r in results if r.startswith("booked")]
    assert len(booked) == 3, results
    assert all(r.startswith("refused: Not enough hours") for r in results if r not in booked)
    assert check_books(engine, committed, package_id).remaining_minutes == 0


def test_admin_and_family_book_the_same_time_one_wins(app, engine, committed):
    package_id = give_package(app, engine, committed, 10 * 60)
    results = run_threads(4, lambda i: _book(engine, committed, i, by_admin=i % 2 == 0, at=START))
    assert sum(r.startswith("booked") for r in results) == 1, results
    assert all("already has a session" in r for r in results if not r.startswith("booked"))
    assert check_books(engine, committed, package_id).remaining_minutes == 9 * 60


def test_family_and_admin_accept_one_proposal_at_once_it_is_paid_once(app, engine, committed):
    package_id = give_package(app, engine, committed, 10 * 60)
    for round_ in range(3):
        with as_tenant(committed.tenant.id), Session(engine) as session:
            tutor = load(session, User, committed.tutor.id)
            ts = scheduling.propose_session(
                session,
                load(session, Tenant, committed.tenant.id),
                tutor,
                student=load(session, type(committed.students[0]), committed.students[0].id),
                staff=tutor,
                service="tutoring",
                starts_at=START + timedelta(days=round_),
                duration_minutes=60,
                now=START - timedelta(days=1),
            )
            session.commit()
            session_id = ts.id

        def accept(i: int, session_id: int = session_id) -> str:
            def work(session: Session) -> str:
                tenant = load(session, Tenant, committed.tenant.id)
                ts = load(session, TutoringSession, session_id)
                if i == 0:
                    who = load(session, User, committed.parent.id)
                    scheduling.accept_session(session, tenant, who, ts)
                else:
                    who = load(session, User, committed.admin.id)
                    scheduling.accept_for_family(session, tenant, who, ts)
                return "accepted"

            return in_tenant(engine, committed, work)

        results = run_threads(2, accept)
        assert results.count("accepted") == 1, results
        refused = next(r for r in results if r != "accepted")
        assert refused == "refused: This session is upcoming; it cannot be accepted now.", results
        package = check_books(engine, committed, package_id)
        assert package.remaining_minutes == 600 - 60 * (round_ + 1)
