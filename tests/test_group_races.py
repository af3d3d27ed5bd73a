"""Group sessions under concurrent requests (issue 14): families racing for the last seat
get exactly the free seats, and one student racing into several groups with hours for
some gets exactly those. Committed for real, each on a business of its own (see
test_races.py); on PostgreSQL the staff member's row lock serializes the seat count, on
SQLite BEGIN IMMEDIATE does."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import accounts, categories, hours, packages, people, scheduling
from prepbase.models import (
    Package,
    Role,
    SessionGroup,
    SessionStatus,
    Student,
    Tenant,
    TutoringSession,
    User,
)
from prepbase.tenancy import as_tenant
from tests.factories import Business
from tests.test_races import START, in_tenant, load, run_threads

FAMILIES = 8


def open_groups(app, engine, business: Business, count: int) -> list[int]:
    """`count` three-seat groups families may join, each proposed to Ada and Ben (one seat
    left), an hour apart."""
    with app.app_context(), as_tenant(business.tenant.id), Session(engine) as session:
        category = categories.save_category(
            session, None, name="Trio", colour="#1d4ed8", location_type="virtual",
            location=None, buffer_before_minutes=0, buffer_after_minutes=0,
            reminder_hours=None, link_lead_minutes=30, capacity=3, families_may_join=True,
        )  # fmt: skip
        students = [load(session, Student, s.id) for s in business.students]
        made = [
            scheduling.propose_group(
                session,
                load(session, Tenant, business.tenant.id),
                load(session, User, business.admin.id),
                students=students,
                staff=load(session, User, business.tutor.id),
                service="tutoring",
                starts_at=START + timedelta(hours=2 * i),
                duration_minutes=60,
                category=category,
                now=START - timedelta(days=1),
            )[0].group_id
            for i in range(count)
        ]
        session.commit()
        return [group_id for group_id in made if group_id is not None]


def families(app, engine, business: Business, count: int, minutes: int) -> list[tuple[int, int]]:
    """`count` families, each a parent and a student with `minutes` of tutoring."""
    made = []
    with app.app_context(), as_tenant(business.tenant.id), Session(engine) as session:
        admin = load(session, User, business.admin.id)
        for i in range(count):
            family = people.create_family(session, admin, name=f"Family {i}")
            student = people.save_student(
                session, admin, None, family=family, first_name=f"Kid{i}", last_name="Race",
                grade="", school="", notes="",
            )  # fmt: skip
            parent = User(
                name=f"Parent {i}", email=f"parent{i}@{business.tenant.slug}.example.com",
                role=Role.PARENT, family=family, password_hash=accounts.hash_password("x" * 12),
            )  # fmt: skip
            session.add(parent)
            packages.assign_package(
                session, admin, student, name="Hours", service="tutoring",
                package_type="one_time", period=None, minutes=minutes,
                start_date=date(2020, 1, 1),
            )  # fmt: skip
            session.flush()
            made.append((parent.id, student.id))
        session.commit()
    return made


def join(engine, business: Business, group_id: int, parent_id: int, student_id: int) -> str:
    def work(session: Session) -> str:
        ts = scheduling.join_group(
            session, load(session, Tenant, business.tenant.id), load(session, User, parent_id),
            load(session, SessionGroup, group_id), load(session, Student, student_id),
            now=START - timedelta(days=1),
        )  # fmt: skip
        return f"joined {ts.id}"

    return in_tenant(engine, business, work)


def seats(engine, business: Business, group_id: int) -> int:
    with as_tenant(business.tenant.id), Session(engine) as session:
        return session.scalar(
            sa.select(sa.func.count()).where(
                TutoringSession.group_id == group_id,
                TutoringSession.status.in_((SessionStatus.PENDING, SessionStatus.UPCOMING)),
            )
        )


def test_families_race_for_the_last_seat_and_exactly_one_gets_it(app, engine, committed):
    (group_id,) = open_groups(app, engine, committed, 1)
    racers = families(app, engine, committed, FAMILIES, 600)
    results = run_threads(FAMILIES, lambda i: join(engine, committed, group_id, *racers[i]))
    joined = [r for r in results if r.startswith("joined")]
    assert len(joined) == 1, results
    assert all("full now" in r for r in results if r not in joined), results
    assert seats(engine, committed, group_id) == 3
    with Session(engine) as session:
        assert hours.audit(session) == []


def test_one_student_racing_into_groups_gets_exactly_the_hours_it_has(app, engine, committed):
    group_ids = open_groups(app, engine, committed, 5)
    ((parent_id, student_id),) = families(app, engine, committed, 1, 120)  # two hours
    results = run_threads(
        len(group_ids), lambda i: join(engine, committed, group_ids[i], parent_id, student_id)
    )
    joined = [r for r in results if r.startswith("joined")]
    assert len(joined) == 2, results
    assert all("Not enough hours" in r for r in results if r not in joined), results
    with as_tenant(committed.tenant.id), Session(engine) as session:
        left = session.scalars(
            sa.select(Package.remaining_minutes).where(Package.student_id == student_id)
        ).all()
        assert left == [0]
    with Session(engine) as session:
        assert hours.audit(session) == []
