"""What a family member may see: a parent their family's students, a student themself."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from prepbase.models import Package, Role, Student, TutoringSession, User


def visible_students(session: Session, user: User) -> list[Student]:
    """The students whose data `user` (a parent or a student) may see."""
    if user.role == Role.STUDENT:
        return [user.student] if user.student is not None else []
    if user.role == Role.PARENT and user.family_id is not None:
        return list(
            session.scalars(
                select(Student)
                .where(Student.family_id == user.family_id)
                .order_by(Student.first_name)
            )
        )
    return []


def guards(user: User, student: Student) -> bool:
    """True when `user` may act for `student`: a parent of the family, or the student."""
    if user.role == Role.STUDENT:
        return user.student_id == student.id
    return user.role == Role.PARENT and user.family_id == student.family_id


def _ids(students: Iterable[Student]) -> list[int]:
    return [s.id for s in students]


def shown_to_family(package: Package, today: date) -> bool:
    """Design §2: a family sees a package only while it is Active (`Package.active_on`)."""
    return package.active_on(today)


def family_sessions(
    session: Session,
    students: Sequence[Student],
    status: str | tuple[str, ...],
    *,
    newest_first: bool = False,
    limit: int | None = None,
    for_actions: bool = False,
) -> list[TutoringSession]:
    """The students' sessions of one or more statuses, with student and staff; with
    `for_actions`, also the package and category that the buttons of open sessions read
    (the hours an acceptance draws, what a cancellation may cost), in the same statement."""
    if not students:
        return []
    statuses = (status,) if isinstance(status, str) else tuple(status)
    statement = _sessions_statement(statuses, newest_first, limit, for_actions)
    return list(session.scalars(statement, {"family_student_ids": _ids(students)}))


@lru_cache(maxsize=64)
def _sessions_statement(
    statuses: tuple[str, ...], newest_first: bool, limit: int | None, for_actions: bool
) -> Select[TutoringSession]:
    """`family_sessions`' statement, built once per shape with the students as a
    parameter: its eager loads made building it cost more Python than running it."""
    order = TutoringSession.starts_at.desc() if newest_first else TutoringSession.starts_at
    query = (
        select(TutoringSession)
        .where(
            TutoringSession.student_id.in_(bindparam("family_student_ids", expanding=True)),
            TutoringSession.status.in_(statuses),
        )
        .options(
            # The students are in the session already (identity map: no join, no query).
            joinedload(TutoringSession.staff).load_only(User.name),
            selectinload(TutoringSession.series),  # none asked when no series is listed
        )
        .order_by(order, TutoringSession.id)
    )
    if for_actions:
        query = query.options(
            joinedload(TutoringSession.package), joinedload(TutoringSession.category)
        )
    if limit is not None:
        query = query.limit(limit)
    return query
