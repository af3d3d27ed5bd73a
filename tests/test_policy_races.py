"""Design §12 under concurrent requests: a late cancellation keeps its share once, a charge
is waived once, and a proposal is either accepted or expired, never both. Committed for
real, each on a business of its own (see tests/test_races.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import cancellation, scheduling
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    SessionStatus,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.tenancy import as_tenant
from tests.test_races import (
    START,
    THREADS,
    book,
    check_books,
    give_package,
    in_tenant,
    load,
    run_threads,
)


def keep_half(engine, business) -> None:
    with as_tenant(business.tenant.id), Session(engine) as session:
        cancellation.update_policy(
            session,
            load(session, Tenant, business.tenant.id),
            window_hours=24,
            keep_percent=50,
            free_per_month=None,
            no_show_uses_hours=True,
            text="",
            proposal_expiry_hours=72,
        )
        session.commit()


def kinds(engine, business, session_id: int) -> list[tuple[str, int]]:
    with as_tenant(business.tenant.id), Session(engine) as session:
        return [
            (e.kind, e.minutes)
            for e in session.scalars(
                sa.select(LedgerEntry)
                .where(LedgerEntry.session_id == session_id)
                .order_by(LedgerEntry.id)
            )
        ]


def test_concurrent_late_cancels_keep_the_share_once_and_waive_once(app, engine, committed):
    keep_half(engine, committed)
    package_id = give_package(app, engine, committed, 3 * 60)
    session_id = int(book(engine, committed, 0).split()[1])
    late = START - timedelta(hours=2)

    def cancel(i: int) -> str:
        def work(session: Session) -> str:
            ts = load(session, TutoringSession, session_id)
            actor = load(session, User, (committed.parent if i % 2 else committed.admin).id)
            scheduling.cancel_session(
                session,
                load(session, Tenant, committed.tenant.id),
                actor,
                ts,
                now=late,
                apply_policy=True,
            )
            return "cancelled"

        return in_tenant(engine, committed, work)

    results = run_threads(THREADS, cancel)
    assert results.count("cancelled") == 1, results
    assert kinds(engine, committed, session_id) == [
        (EntryKind.DEBIT, -60),
        (EntryKind.REFUND, 60),
        (EntryKind.LATE_CANCELLATION, -30),
    ]
    assert check_books(engine, committed, package_id).remaining_minutes == 150

    def waive(i: int) -> str:
        def work(session: Session) -> str:
            given = scheduling.waive_late_cancellation(
                session,
                load(session, Tenant, committed.tenant.id),
                load(session, User, committed.admin.id),
                load(session, TutoringSession, session_id),
                f"waiver {i}",
            )
            return f"waived {given}"

        return in_tenant(engine, committed, work)

    results = run_threads(10, waive)
    assert results.count("waived 30") == 1, results
    assert all("no late-cancellation charge" in r for r in results if r != "waived 30"), results
    assert check_books(engine, committed, package_id).remaining_minutes == 180


def test_accept_racing_expiry_one_wins(app, engine, committed):
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
        # Its 72 hours are over for the job; the family's page still offers Accept.
        job_now = utcnow() + timedelta(hours=73)

        def act(i: int, session_id: int = session_id, job_now=job_now) -> str:
            def work(session: Session) -> str:
                tenant = load(session, Tenant, committed.tenant.id)
                ts = load(session, TutoringSession, session_id)
                if i == 0:
                    scheduling.accept_session(
                        session, tenant, load(session, User, committed.parent.id), ts
                    )
                    return "accepted"
                done = scheduling.expire_proposal(session, tenant, ts, job_now)
                return "expired" if done else "not expired"

            return in_tenant(engine, committed, work)

        results = sorted(run_threads(2, act))
        with as_tenant(committed.tenant.id), Session(engine) as session:
            ts = load(session, TutoringSession, session_id)
            status, reason, charged = ts.status, ts.declined_reason, ts.charged_minutes
        if status == SessionStatus.UPCOMING:
            assert results == ["accepted", "not expired"], results
            assert charged == 60
        else:
            assert (status, reason) == (SessionStatus.DECLINED, "expired")
            assert results[0] == "expired" and results[1].startswith("refused"), results
            assert kinds(engine, committed, session_id) == []
        check_books(engine, committed, package_id)
