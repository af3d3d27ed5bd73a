"""What a family member may see: a parent their family's students, a student themself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.models import Role, Student, User


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
