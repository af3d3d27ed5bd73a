"""The business at a glance: what the owner's dashboard shows (design §4), and the new
owner's Get going checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql import ColumnElement

from prepbase.models import (
    STAFF_ROLES,
    Family,
    Offering,
    Package,
    StaffService,
    Student,
    Tenant,
    TutoringSession,
    User,
    WorkingHours,
)
from prepbase.people import ever_invited


@dataclass(frozen=True)
class Overview:
    """Counts of students, families and active staff; invitations nobody has accepted
    yet; and the packages running low."""

    students: int
    families: int
    staff: int
    pending: list[User]
    running_low: list[Package]
    not_invited: int = 0  # people an import added, not invited yet (Settings → Import)


def running_low(session: Session, tenant: Tenant, today: date) -> list[Package]:
    """§4: Active packages (`Package.active_on` the business's `today`) at or below the
    business's low-balance threshold, emptiest first, with their students."""
    return list(
        session.scalars(
            select(Package)
            .where(
                Package.active_on(today),
                Package.remaining_minutes <= tenant.low_balance_minutes,
            )
            .options(joinedload(Package.student))
            .order_by(Package.remaining_minutes, Package.id)
        )
    )


def business_overview(session: Session, tenant: Tenant, today: date) -> Overview:
    """Everything the dashboard shows, for the business whose rows `session` sees."""
    return Overview(
        students=session.scalar(select(func.count(Student.id))) or 0,
        families=session.scalar(select(func.count(Family.id))) or 0,
        staff=session.scalar(
            select(func.count(User.id)).where(User.role.in_(STAFF_ROLES), User.active.is_(True))
        )
        or 0,
        # Invited people who have not set a password yet (deactivated ones are left out;
        # people an import added and nobody invited yet are counted apart).
        pending=list(
            session.scalars(
                select(User)
                .where(User.password_hash.is_(None), User.active.is_(True), ever_invited())
                .order_by(User.name)
            )
        ),
        not_invited=session.scalar(
            select(func.count(User.id)).where(
                User.password_hash.is_(None), User.active.is_(True), ~ever_invited()
            )
        )
        or 0,
        running_low=running_low(session, tenant, today),
    )


# --- Get going: the first day of a business ----------------------------------------------


@dataclass(frozen=True)
class GetGoing:
    """What a new business has done of the steps that make it work, read from its data
    (so an item ticks itself off whichever page did it).

    Booking needs all the required steps: someone who delivers sessions, a student, and
    hours for that student (a package; an offering makes giving one a click). Online
    payments are optional: many businesses invoice by hand."""

    staff: bool  # an active staff member offers a service (an invited tutor, or the owner)
    working_hours: bool  # one of them has set working hours
    family: bool
    student: bool
    offering: bool  # one not archived
    package: bool  # a student has hours: the step without which nothing can be booked
    session: bool  # a session was booked or proposed
    online_payments: bool  # optional
    first_student_id: int | None  # where "give a student a package" leads
    first_teacher_id: int | None  # whose working hours "set working hours" leads to

    REQUIRED = ("staff", "working_hours", "student", "offering", "package", "session")

    @property
    def done(self) -> int:
        """How many of the required steps are done."""
        return sum(bool(getattr(self, step)) for step in self.REQUIRED)

    @property
    def total(self) -> int:
        return len(self.REQUIRED)

    @property
    def complete(self) -> bool:
        """Every required step is done: the checklist folds away."""
        return self.done == self.total


def _teaches() -> ColumnElement[bool]:
    # An active staff member (the owner included) who offers at least one service.
    return (
        User.active.is_(True)
        & User.role.in_(STAFF_ROLES)
        & User.service_rows.any(StaffService.id.is_not(None))
    )


def get_going(session: Session, *, online_payments: bool) -> GetGoing:
    """The Get going checklist of the business whose rows `session` sees, in one
    statement (the dashboard costs a fixed number of them). `online_payments`: whether
    the business sells online (`business.sells_online`, asked by the caller)."""
    has_hours = exists().where(WorkingHours.staff_id == User.id)
    row = session.execute(
        # A tenant-owned entity at the top (the first student), so the statement is
        # scoped, and refused with no tenant in scope, like any other; the scoping
        # reaches the EXISTS subqueries too.
        select(
            func.min(Student.id),
            exists().where(_teaches()),
            exists().where(_teaches(), has_hours),
            exists().where(Family.id.is_not(None)),
            exists().where(Offering.archived.is_(False)),
            exists().where(Package.id.is_not(None)),
            exists().where(TutoringSession.id.is_not(None)),
            select(User.id)
            .where(_teaches())
            .order_by(User.name, User.id)
            .limit(1)
            .scalar_subquery(),
        )
    ).one()
    first_student, staff, hours, family, offering, package, booked, teacher = row
    return GetGoing(
        staff=staff,
        working_hours=hours,
        family=family,
        student=first_student is not None,
        offering=offering,
        package=package,
        session=booked,
        online_payments=online_payments,
        first_student_id=first_student,
        first_teacher_id=teacher,
    )
