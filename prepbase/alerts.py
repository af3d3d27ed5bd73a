"""Telling families about their hours: running low, out of hours, declined bookings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.hours import Change, format_hours, hours_phrase
from prepbase.localtime import format_when
from prepbase.models import Package, Role, Tenant, TutoringSession, User
from prepbase.notify import queue_email


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


def crossing(tenant: Tenant, before: int, after: int) -> str | None:
    """Which line a debit crossed: "empty" (reached zero), "low" (reached the threshold)."""
    if after == 0 < before:
        return "empty"
    if after <= tenant.low_balance_minutes < before:
        return "low"
    return None


def after_debit(session: Session, tenant: Tenant, package: Package, change: Change) -> None:
    """Queue one e-mail to the family for each threshold a debit crosses (§4)."""
    line = crossing(tenant, change.before, change.after)
    if line is None:
        return
    session.refresh(package)
    student = package.student
    left = format_hours(change.after)
    if line == "empty":
        subject = f"{student.first_name} has no {package.name} hours left"
        detail = f"{package.name} has no hours left after the latest booking."
    else:
        subject = f"{student.first_name} is running low on hours"
        detail = (
            f"{package.name} has {left} hours left "
            f"(your reminder is at {hours_phrase(tenant.low_balance_minutes)})."
        )
    from prepbase.payments import sells_online  # payments → scheduling → alerts

    if sells_online(tenant):
        renewal = "buy more hours with Buy Hours on your dashboard"
    else:
        renewal = f"contact {tenant.name} about a renewal package"
    for person in family_recipients(session, student.id, student.family_id):
        queue_email(
            session,
            person.email,
            subject,
            f"Hello {person.name},\n\n{detail}\n\nTo keep sessions going, {renewal}.\n",
        )


def booking_declined(session: Session, tenant: Tenant, ts: TutoringSession, reason: str) -> None:
    """Tell the family that the staff member cannot take their booking (rule 9)."""
    student = ts.student
    when = format_when(tenant.timezone, ts.starts_at)
    for person in family_recipients(session, student.id, student.family_id):
        queue_email(
            session,
            person.email,
            f"{ts.staff.name} cannot take {student.first_name}'s session",
            f"Hello {person.name},\n\n{ts.staff.name} cannot take the session of {when} "
            f"and cancelled it: {reason}\n\n{hours_phrase(ts.duration_minutes)} went back to "
            "the package. Book another time from your dashboard.\n",
        )
