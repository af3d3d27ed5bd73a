"""Reading group sessions (design §11): their participations, their seats, and the ones a
family may join. The verbs that change a group live with the other session verbs in
`prepbase.scheduling`.

Privacy: a family's pages show only its own students' participations; what a family
learns of a group it may join is its time, staff member, category, subject and free
seats, never who else takes part.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, contains_eager

from prepbase.models import (
    OPEN_STATUSES,
    SessionCategory,
    Student,
    TutoringSession,
)

SEAT_STATUSES = OPEN_STATUSES  # a pending or upcoming participation holds its seat
JOIN_HORIZON = timedelta(days=90)  # how far ahead families are shown groups to join
MAX_JOINABLE = 50  # groups listed at most (the soonest)


def participations(
    session: Session, group_id: int, statuses: Sequence[str] | None = None
) -> list[TutoringSession]:
    """The group's participations (in `statuses`, if given), by student name."""
    query = (
        select(TutoringSession)
        .join(TutoringSession.student)
        .where(TutoringSession.group_id == group_id)
        .options(contains_eager(TutoringSession.student))
        .order_by(Student.first_name, Student.last_name, TutoringSession.id)
    )
    if statuses is not None:
        query = query.where(TutoringSession.status.in_(statuses))
    return list(session.scalars(query))


def may_join(category: SessionCategory, taken: int, starts_at: datetime, now: datetime) -> bool:
    """Whether a family may add its student to a group session now (design §11): the
    category lets families join, a seat is free, and it has not started."""
    return category.families_may_join and taken < category.capacity and starts_at > now


@dataclass(frozen=True)
class Joinable:
    """A group session a family may join: one participation to show its time, staff
    member and kind (never its student), the free seats, and which of the family's
    students are not in it yet."""

    group_id: int
    reference: TutoringSession
    seats_left: int
    students: list[Student]


def joinable(session: Session, students: Iterable[Student], now: datetime) -> list[Joinable]:
    """The soonest group sessions with a free seat that the family's `students` may join
    (the category allows it, not started, within `JOIN_HORIZON`), each with the students
    not in it yet. One query for the seats of every candidate group."""
    students = list(students)
    if not students:
        return []
    rows = session.scalars(
        _joinable_statement(), {"join_after": now, "join_before": now + JOIN_HORIZON}
    )
    groups: dict[int, list[TutoringSession]] = {}
    for row in rows:
        assert row.group_id is not None  # the query's condition
        groups.setdefault(row.group_id, []).append(row)
    found = []
    for group_id, members in groups.items():
        reference = members[0]
        if not may_join(reference.category, len(members), reference.starts_at, now):
            continue
        inside = {row.student_id for row in members}
        outside = [student for student in students if student.id not in inside]
        if outside:
            found.append(
                Joinable(group_id, reference, reference.category.capacity - len(members), outside)
            )
    return found[:MAX_JOINABLE]


@cache
def _joinable_statement() -> Select[TutoringSession]:
    """`joinable`'s statement, built once (the family dashboard asks it on every view)."""
    return (
        select(TutoringSession)
        .join(TutoringSession.category)
        .where(
            TutoringSession.group_id.is_not(None),
            TutoringSession.status.in_(SEAT_STATUSES),
            TutoringSession.starts_at > bindparam("join_after"),
            TutoringSession.starts_at < bindparam("join_before"),
            SessionCategory.families_may_join.is_(True),
            SessionCategory.active.is_(True),
        )
        .options(contains_eager(TutoringSession.category))
        .order_by(TutoringSession.starts_at, TutoringSession.group_id, TutoringSession.id)
    )
