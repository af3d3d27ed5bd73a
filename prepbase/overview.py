"""The business at a glance: what the owner's dashboard shows (design §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from prepbase.models import STAFF_ROLES, Family, Package, Student, Tenant, User


@dataclass(frozen=True)
class Overview:
    """Counts of students, families and active staff; invitations nobody has accepted
    yet; and the packages running low."""

    students: int
    families: int
    staff: int
    pending: list[User]
    running_low: list[Package]


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
        # Invited people who have not set a password yet (deactivated ones are left out).
        pending=list(
            session.scalars(
                select(User)
                .where(User.password_hash.is_(None), User.active.is_(True))
                .order_by(User.name)
            )
        ),
        running_low=running_low(session, tenant, today),
    )
