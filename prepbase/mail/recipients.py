"""Who in a family is e-mailed about a student."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.models import Role, User


def family_recipients(session: Session, student_id: int, family_id: int) -> list[User]:
    """The student's parents, and the student if they have a login; active accounts only."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                ((User.role == Role.PARENT) & (User.family_id == family_id))
                | ((User.role == Role.STUDENT) & (User.student_id == student_id)),
            )
            .order_by(User.id)
        )
    )
