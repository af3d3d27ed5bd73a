"""GET /students, /families, /staff (and one of each by id)."""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from prepbase.api.auth import api_blueprint, errors_documented, rate_limited
from prepbase.api.pagination import CursorPage, PageArgs, paginate
from prepbase.api.schemas import (
    FamilySchema,
    StaffSchema,
    StudentFilter,
    StudentSchema,
    page_of,
)
from prepbase.extensions import db
from prepbase.models import STAFF_ROLES, Family, Student, User
from prepbase.problems import API_PREFIX
from prepbase.tenant_url import get_or_404

students_bp = api_blueprint("students", f"{API_PREFIX}/students", "The business's students.")
families_bp = api_blueprint("families", f"{API_PREFIX}/families", "Families and their students.")
staff_bp = api_blueprint("staff", f"{API_PREFIX}/staff", "Admins, tutors and counselors.")


@students_bp.route("", methods=["GET"])
@errors_documented(students_bp, 422)
@rate_limited
@students_bp.arguments(PageArgs, location="query", as_kwargs=True)
@students_bp.arguments(StudentFilter, location="query", as_kwargs=True)
@students_bp.response(200, page_of(StudentSchema, "StudentPage"))
def list_students(family: int | None, **page: Any) -> CursorPage[Student]:
    """Students, by last name, first name and id."""
    stmt = select(Student)
    if family is not None:
        stmt = stmt.where(Student.family_id == family)
    return paginate(db.session, stmt, [Student.last_name, Student.first_name, Student.id], page)


@students_bp.route("/<id:student_id>", methods=["GET"])
@errors_documented(students_bp, 404)
@rate_limited
@students_bp.response(200, StudentSchema)
def get_student(student_id: int) -> Student:
    """One student."""
    return get_or_404(Student, student_id)


@families_bp.route("", methods=["GET"])
@errors_documented(families_bp, 422)
@rate_limited
@families_bp.arguments(PageArgs, location="query", as_kwargs=True)
@families_bp.response(200, page_of(FamilySchema, "FamilyPage"))
def list_families(**page: Any) -> CursorPage[Family]:
    """Families with their students' ids, by name and id."""
    stmt = select(Family).options(selectinload(Family.students))
    return paginate(db.session, stmt, [Family.name, Family.id], page)


@families_bp.route("/<id:family_id>", methods=["GET"])
@errors_documented(families_bp, 404)
@rate_limited
@families_bp.response(200, FamilySchema)
def get_family(family_id: int) -> Family:
    """One family."""
    return get_or_404(Family, family_id, selectinload(Family.students))


def _staff() -> Select[User]:
    return select(User).where(User.role.in_(STAFF_ROLES)).options(selectinload(User.service_rows))


@staff_bp.route("", methods=["GET"])
@errors_documented(staff_bp, 422)
@rate_limited
@staff_bp.arguments(PageArgs, location="query", as_kwargs=True)
@staff_bp.response(200, page_of(StaffSchema, "StaffPage"))
def list_staff(**page: Any) -> CursorPage[User]:
    """Staff (admins, tutors, counselors), active or not, by name and id."""
    return paginate(db.session, _staff(), [User.name, User.id], page)


@staff_bp.route("/<id:user_id>", methods=["GET"])
@errors_documented(staff_bp, 404)
@rate_limited
@staff_bp.response(200, StaffSchema)
def get_staff(user_id: int) -> User:
    """One staff member (a family member's id is a 404)."""
    user = db.session.scalars(_staff().where(User.id == user_id)).one_or_none()
    if user is None:
        abort(404)
    return user
