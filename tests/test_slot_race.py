"""Two families race for one open slot: exactly one booking, one debit (issue 7).

Committed for real on a business of its own (see tests/test_races.py): each thread is a
request with its own connection; the staff member's row lock (PostgreSQL) or BEGIN
IMMEDIATE (SQLite) orders them, and the loser's re-check sees the winner's session.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import availability, packages, people, scheduling
from prepbase.models import LedgerEntry, Package, Role, Student, Tenant, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.test_races import in_tenant, load, run_threads

SLOT = datetime(2031, 3, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 AM EST
NOW = SLOT - timedelta(days=3)
THREADS = 10


def test_two_families_race_for_one_slot_exactly_one_wins(app, engine, committed):
    b = committed
    with app.app_context(), as_tenant(b.tenant.id), Session(engine) as session:
        admin = load(session, User, b.admin.id)
        family = people.create_family(session, admin, name="Other family")
        olga = people.save_student(
            session, admin, None, family=family, first_name="Olga", last_name="Other",
            grade="9", school="", notes="",
        )  # fmt: skip
        opal = User(name="Opal Other", email="opal@race.example.com", role=Role.PARENT)
        opal.family = family
        session.add(opal)
        ada = load(session, Student, b.students[0].id)
        for student in (ada, olga):
            packages.assign_package(
                session, admin, student, name="Growth Package", service="tutoring",
                package_type="one_time", period=None, minutes=600, start_date=date(2020, 1, 1),
            )  # fmt: skip
        tutor = load(session, User, b.tutor.id)
        availability.set_weekly_hours(
            session, load(session, Tenant, b.tenant.id), admin, tutor, {0: [(540, 1020)]}
        )
        session.commit()
        racers = [(b.parent.id, ada.id), (opal.id, olga.id)]

    def book(i: int) -> str:
        parent_id, student_id = racers[i % 2]

        def work(session: Session) -> str:
            ts = scheduling.book_session(
                session,
                load(session, Tenant, b.tenant.id),
                load(session, User, parent_id),
                student=load(session, Student, student_id),
                staff=load(session, User, b.tutor.id),
                service="tutoring",
                starts_at=SLOT,
                duration_minutes=60,
                now=NOW,
            )
            return f"booked {ts.id}"

        return in_tenant(engine, b, work)

    results = run_threads(THREADS, book)
    booked = [r for r in results if r.startswith("booked")]
    assert len(booked) == 1, results
    assert all(r == f"refused: {availability.TAKEN}" for r in results if r not in booked), results
    assert "that time was just taken" in availability.TAKEN
    with as_tenant(b.tenant.id), Session(engine) as session:
        sessions = session.scalars(sa.select(TutoringSession)).all()
        debits = session.scalars(sa.select(LedgerEntry).where(LedgerEntry.kind == "debit")).all()
        balances = sorted(session.scalars(sa.select(Package.remaining_minutes)).all())
    assert len(sessions) == 1 and sessions[0].starts_at == SLOT
    assert len(debits) == 1 and debits[0].session_id == sessions[0].id
    assert balances == [540, 600]
