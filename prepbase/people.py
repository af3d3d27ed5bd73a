"""The people of a business: staff and their services, families, students, and the
student search; invitations create their accounts (`prepbase.accounts` signs them in)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.sql import ColumnElement

from prepbase.accounts import issue_token, normalize_email
from prepbase.business import validate_phone
from prepbase.errors import DomainError
from prepbase.models import (
    STAFF_ROLES,
    AuthToken,
    Family,
    Role,
    Service,
    StaffService,
    Student,
    User,
)
from prepbase.paging import PER_PAGE, Page, paginate
from prepbase.session_lists import sessions_to_hand_over
from prepbase.tenancy import stamp_rows

# --- staff and family logins -------------------------------------------------------


def _email_taken(session: Session, email: str, exclude_user_id: int | None = None) -> bool:
    query = select(User.id).where(func.lower(User.email) == email)
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return session.scalar(query) is not None


def _set_services(user: User, services: Iterable[str]) -> None:
    wanted = {Service(s) for s in services}
    for row in list(user.service_rows):
        if row.service not in wanted:
            user.service_rows.remove(row)
    have = {row.service for row in user.service_rows}
    for service in Service:
        if service in wanted and service not in have:
            user.service_rows.append(StaffService(service=service))


def invite_user(
    session: Session,
    actor: User,
    *,
    name: str,
    email: str,
    role: str,
    services: Iterable[str] = (),
    family: Family | None = None,
    student: Student | None = None,
    ttl: timedelta,
) -> tuple[User, str]:
    """Create an account without a password and a 7-day single-use invitation link."""
    email = normalize_email(email)
    role = Role(role)
    if _email_taken(session, email):
        raise DomainError("Someone in this business already uses that e-mail.", field="email")
    if role == Role.PARENT and family is None:
        raise DomainError("Choose the family this parent belongs to.", field="family")
    if role == Role.STUDENT:
        if student is None:
            raise DomainError("Choose the student who will use this login.", field="student")
        if student.account is not None:
            raise DomainError("This student already has a login.")
        family = student.family
    services = list(services) if role in STAFF_ROLES else []
    if role in {Role.TUTOR, Role.COUNSELOR} and not services:
        raise DomainError("Choose at least one service.", field="services")
    user = new_account(name=name, email=email, role=role, services=services, family=family)
    user.student = student
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent invitation used the address first
        raise DomainError(
            "Someone in this business already uses that e-mail.", field="email"
        ) from exc
    return user, issue_token(session, user, "invite", ttl, created_by=actor)


def new_account(
    *,
    name: str,
    email: str,
    role: Role,
    services: Iterable[str] = (),
    family: Family | None = None,
) -> User:
    """An account with no password yet, not added to any session: the caller has checked
    the e-mail is free (one at a time, or a whole import at once) and invites it when
    the business is ready (`invite_user`, `uninvited_people`)."""
    user = User(
        email=normalize_email(email),
        name=name.strip(),
        role=role,
        password_hash=None,
        family=family,
    )
    _set_services(user, services)
    return user


@dataclass(frozen=True)
class NewHousehold:
    """A family an import adds, with its one parent (not invited yet)."""

    family_name: str
    parent_name: str
    parent_email: str


@dataclass(frozen=True)
class NewStudent:
    family_id: int
    first_name: str
    last_name: str
    grade: str = ""
    school: str = ""


def add_households(session: Session, households: Sequence[NewHousehold]) -> list[int]:
    """Families and their parents in a few statements (an import brings thousands; one
    ORM object each would take most of a minute); the families' ids, in order. The
    caller has checked that the e-mails are free."""
    if not households:
        return []
    family_ids = list(
        session.scalars(
            insert(Family).returning(Family.id, sort_by_parameter_order=True),
            stamp_rows([{"name": h.family_name.strip()} for h in households]),
        )
    )
    session.execute(
        insert(User),
        stamp_rows(
            [
                {
                    "name": h.parent_name.strip(),
                    "email": normalize_email(h.parent_email),
                    "role": Role.PARENT,
                    "password_hash": None,
                    "family_id": family_id,
                }
                for h, family_id in zip(households, family_ids, strict=True)
            ]
        ),
    )
    return family_ids


def add_students(session: Session, students: Sequence[NewStudent]) -> None:
    """Students of this business's families in one statement (an import's)."""
    if students:
        session.execute(
            insert(Student),
            stamp_rows(
                [
                    {
                        "family_id": s.family_id,
                        "first_name": s.first_name.strip(),
                        "last_name": s.last_name.strip(),
                        "grade": s.grade.strip(),
                        "school": s.school.strip(),
                        "notes": "",
                    }
                    for s in students
                ]
            ),
        )


def ever_invited() -> ColumnElement[bool]:
    """SQL: the user was sent an invitation at some point (an import adds people
    without one; every other way of adding someone invites them at once)."""
    return (
        select(AuthToken.id)
        .where(AuthToken.user_id == User.id, AuthToken.purpose == "invite")
        .exists()
    )


def uninvited_people(session: Session) -> list[User]:
    """Active accounts without a password that were never sent an invitation: the
    people an import added, until the admin sends their invitations."""
    return list(
        session.scalars(
            select(User)
            .where(User.password_hash.is_(None), User.active.is_(True), ~ever_invited())
            .order_by(User.id)
        )
    )


def never_invited_ids(session: Session, user_ids: Sequence[int]) -> set[int]:
    """Which of these people were never sent an invitation (their status reads so)."""
    if not user_ids:
        return set()
    return set(
        session.scalars(
            select(User.id).where(
                User.id.in_(user_ids), User.password_hash.is_(None), ~ever_invited()
            )
        )
    )


def invite_uninvited(session: Session, actor: User, ttl: timedelta) -> list[tuple[User, str]]:
    """Invitations for everyone an import added who was never invited: each with its
    link, for the caller to send in the same transaction."""
    return [
        (user, issue_token(session, user, "invite", ttl, created_by=actor))
        for user in uninvited_people(session)
    ]


def reissue_invite(session: Session, actor: User, user: User, ttl: timedelta) -> str:
    """A fresh invitation for someone who has not set a password yet."""
    if user.has_password:
        raise DomainError(f"{user.name} has already accepted the invitation.")
    if not user.active:
        raise DomainError(f"{user.name} is deactivated; reactivate the account first.")
    return issue_token(session, user, "invite", ttl, created_by=actor)


def update_staff(
    session: Session, actor: User, user: User, *, name: str, role: str, services: Iterable[str]
) -> None:
    """Change a staff member's name, role and services."""
    role = Role(role)
    if role not in STAFF_ROLES:
        raise DomainError("Staff can be admins, tutors or counselors.", field="role")
    services = list(services)
    if role in {Role.TUTOR, Role.COUNSELOR} and not services:
        raise DomainError("Choose at least one service.", field="services")
    if user.role == Role.ADMIN and role != Role.ADMIN:
        _ensure_another_admin(session, user)
    user.name = name.strip()
    user.role = role
    _set_services(user, services)
    session.flush()


def _ensure_another_admin(session: Session, user: User) -> None:
    others = session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.ADMIN,
            User.active.is_(True),
            User.id != user.id,
            User.password_hash.is_not(None),
        )
    )
    if not others:
        raise DomainError(
            "A business needs at least one active admin; make someone else admin first."
        )


class SessionsToHandOver(DomainError):
    """A staff member still has pending or upcoming sessions: they are reassigned or
    cancelled first (Admin → Staff → Deactivate lists them with the choices)."""


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    """Deactivate (cannot sign in, every session ends) or reactivate an account."""
    if not active:
        if user.id == actor.id:
            raise DomainError("You cannot deactivate your own account.")
        if user.role == Role.ADMIN:
            _ensure_another_admin(session, user)
        if user.role in STAFF_ROLES:
            _check_nothing_to_hand_over(session, user)
        user.rotate_session_nonce()
    user.active = active
    session.flush()


def _check_nothing_to_hand_over(session: Session, staff: User) -> None:
    # The staff member's row lock first, as every session verb takes it before it adds or
    # moves a session of theirs (`scheduling._lock_for_change`): a booking or reassignment
    # holding it now commits before this count sees their sessions; a reassignment to
    # them that comes later reads them again under the lock and finds them inactive.
    session.execute(select(User.id).where(User.id == staff.id).with_for_update(key_share=True))
    left = len(sessions_to_hand_over(session, staff.id))
    if left:
        sessions = "session" if left == 1 else "sessions"
        raise SessionsToHandOver(
            f"{staff.name} still has {left} pending or upcoming {sessions}. Reassign or "
            "cancel them first, then deactivate."
        )


# --- families and students ---------------------------------------------------------


def _address_and_phone(address: str, phone: str) -> tuple[str | None, str | None]:
    """Where a student or family lives and how to call them (both optional)."""
    cleaned = " ".join((address or "").split()) or None
    if cleaned is not None and len(cleaned) > 300:
        raise DomainError("An address has at most 300 characters.", field="address")
    try:
        number = validate_phone(phone or "")
    except DomainError as exc:
        raise DomainError(exc.message, field="phone") from None
    return cleaned, number


def create_family(
    session: Session, actor: User, *, name: str, address: str = "", phone: str = ""
) -> Family:
    """Add a household to the business."""
    family = Family(name=name.strip())
    family.address, family.phone = _address_and_phone(address, phone)
    session.add(family)
    session.flush()
    return family


def update_family(
    session: Session, actor: User, family: Family, *, name: str, address: str, phone: str
) -> None:
    """Rename a household, or change its address and phone (a Student Address session
    goes to the family's address when the student has none of their own)."""
    family.address, family.phone = _address_and_phone(address, phone)
    family.name = name.strip()
    session.flush()


def save_student(
    session: Session,
    actor: User,
    student: Student | None,
    *,
    family: Family,
    first_name: str,
    last_name: str,
    grade: str,
    school: str,
    notes: str,
    address: str = "",
    phone: str = "",
) -> Student:
    """Create or edit a student; the family must be one of this business's. The address
    is where Student Address sessions take place (empty: the family's)."""
    student_address, student_phone = _address_and_phone(address, phone)
    if student is None:
        student = Student(family=family)
        session.add(student)
    student.family = family
    student.first_name = first_name.strip()
    student.last_name = last_name.strip()
    student.grade = grade.strip()
    student.school = school.strip()
    student.notes = notes.strip()
    student.address, student.phone = student_address, student_phone
    if student.account is not None:
        student.account.family = family
    session.flush()
    return student


def search_students(
    session: Session, query: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page[Student]:
    """One page of the students whose name, school or family matches `query` (a page past
    the end is the last one), and how many match."""
    stmt = select(Student).join(Student.family)
    for word in query.split()[:5]:
        # % and _ typed by the user are literal characters, not wildcards.
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(
            func.lower(Student.first_name).like(pattern, escape="\\")
            | func.lower(Student.last_name).like(pattern, escape="\\")
            | func.lower(Student.school).like(pattern, escape="\\")
            | func.lower(Family.name).like(pattern, escape="\\")
        )
    return paginate(
        session,
        stmt.options(contains_eager(Student.family)).order_by(
            Student.last_name, Student.first_name, Student.id
        ),
        page,
        per_page=per_page,
    )
