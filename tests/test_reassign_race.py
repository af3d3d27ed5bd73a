"""Reassigning under concurrent requests (issue 13): two sessions given to the same staff
member at once at overlapping times, exactly one wins; reassignments in both directions
between two staff members at once never deadlock.

Committed data, one transaction per request, as in tests/test_races.py: on PostgreSQL the
row locks of `scheduling._lock_for_change` (both staff members in id order, then the
student, then the session) decide; on SQLite, BEGIN IMMEDIATE serializes the writers.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import scheduling
from prepbase.models import Role, Service, StaffService, Student, Tenant, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.factories import Business
from tests.test_races import START, in_tenant, load, run_threads

BEFORE = START - timedelta(days=1)  # "now" for the verbs: every session is ahead


def hire(engine: sa.Engine, business: Business, name: str = "Nora New") -> int:
    with as_tenant(business.tenant.id), Session(engine) as session:
        user = User(
            name=name,
            email=f"{name.split()[0].lower()}@{business.tenant.slug}.example.com",
            role=Role.TUTOR,
            password_hash=None,
        )
        user.service_rows = [StaffService(service=Service.TUTORING)]
        session.add(user)
        session.commit()
        return user.id


def propose(engine: sa.Engine, business: Business, staff_id: int, student: int, at) -> int:
    with as_tenant(business.tenant.id), Session(engine) as session:
        staff = load(session, User, staff_id)
        ts = scheduling.propose_session(
            session,
            load(session, Tenant, business.tenant.id),
            staff,
            student=load(session, Student, business.students[student].id),
            staff=staff,
            service="tutoring",
            starts_at=at,
            duration_minutes=60,
            now=BEFORE,
        )
        session.commit()
        return ts.id


def reassign(engine: sa.Engine, business: Business, session_id: int, to_id: int) -> str:
    def work(session: Session) -> str:
        ts = load(session, TutoringSession, session_id)
        scheduling.reassign_session(
            session,
            load(session, Tenant, business.tenant.id),
            load(session, User, business.admin.id),
            ts,
            load(session, User, to_id),
            now=BEFORE,
        )
        return f"reassigned {session_id}"

    return in_tenant(engine, business, work)


def staff_of(engine: sa.Engine, business: Business, *session_ids: int) -> list[int]:
    with as_tenant(business.tenant.id), Session(engine) as session:
        return [load(session, TutoringSession, i).staff_id for i in session_ids]


def test_two_overlapping_sessions_given_to_one_staff_member_at_once_one_wins(
    app, engine, committed
):
    nora = hire(engine, committed)
    for round_ in range(3):  # a few rounds: either request may come first
        at = START + timedelta(days=round_)
        # Tara with Ada at `at`; the owner (who teaches) with Ben half an hour later.
        first = propose(engine, committed, committed.tutor.id, 0, at)
        second = propose(engine, committed, committed.admin.id, 1, at + timedelta(minutes=30))
        ids = (first, second)
        results = run_threads(2, lambda i, ids=ids: reassign(engine, committed, ids[i], nora))
        won = [r for r in results if r.startswith("reassigned")]
        lost = [r for r in results if r.startswith("refused")]
        assert len(won) == 1 and len(lost) == 1, results
        assert "Nora New already has a session then" in lost[0]
        owners = staff_of(engine, committed, first, second)
        assert owners.count(nora) == 1, owners
        for owner, before in zip(owners, (committed.tutor.id, committed.admin.id), strict=True):
            assert owner in (nora, before)


def test_reassignments_both_ways_between_two_staff_members_never_deadlock(app, engine, committed):
    tutor, owner = committed.tutor.id, committed.admin.id
    pairs = []
    for n in range(4):
        at = START + timedelta(days=10 + n)
        # Tara's session goes to the owner while the owner's goes to Tara, at once.
        pairs.append((propose(engine, committed, tutor, 0, at), owner))
        pairs.append((propose(engine, committed, owner, 1, at + timedelta(hours=3)), tutor))
    results = run_threads(len(pairs), lambda i: reassign(engine, committed, *pairs[i]))
    assert all(r.startswith("reassigned") for r in results), results
    assert staff_of(engine, committed, *(sid for sid, _ in pairs)) == [to for _, to in pairs]
