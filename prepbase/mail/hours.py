"""E-mails about a family's hours: running low, and out of hours (design §4)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.hours import Change, out_of_hours_sentence
from prepbase.localtime import business_today
from prepbase.mail.links import mail_link
from prepbase.mail.outbox import queue_message
from prepbase.mail.recipients import family_recipients
from prepbase.models import EventType, Package, Service, Tenant
from prepbase.webhooks.events import emit

FAMILY_DASHBOARD = "tenant.family.dashboard"
BUY_HOURS = "tenant.family.buy_hours"
# The webhook of each line a debit crosses (`crossing`): the e-mail's decision, reused.
WEBHOOK = {"empty": EventType.PACKAGE_DEPLETED, "low": EventType.PACKAGE_LOW_BALANCE}


def crossing(tenant: Tenant, before: int, after: int) -> str | None:
    """Which line a debit crossed: "empty" (reached zero), "low" (reached the threshold)."""
    if after == 0 < before:
        return "empty"
    if after <= tenant.low_balance_minutes < before:
        return "low"
    return None


def after_debit(
    session: Session, tenant: Tenant, package: Package, change: Change, *, sells_online: bool
) -> None:
    """Queue one e-mail to the family for each threshold a debit crosses (§4).

    `sells_online` (the caller asks `business.sells_online`) says whether the e-mail
    points to Buy Hours or tells the family how to reach the business."""
    line = crossing(tenant, change.before, change.after)
    if line is None:
        return
    session.refresh(package)
    emit(session, tenant, WEBHOOK[line], package, change.before, change.after)
    student = package.student
    empty = None
    if line == "empty":
        # The student's other hours of the service, usable today (§2, `usable_on`).
        others = session.execute(
            select(Package.name, Package.remaining_minutes)
            .where(
                Package.student_id == student.id,
                Package.service == package.service,
                Package.id != package.id,
                Package.usable_on(business_today(tenant)),
            )
            .order_by(Package.start_date, Package.id)
        ).all()
        empty = out_of_hours_sentence(
            student.first_name,
            package.name,
            Service(package.service).label,
            [(name, minutes) for name, minutes in others],
        )
        subject = empty.split(";")[0].rstrip(".")
    else:
        subject = f"{student.first_name} is running low on hours"
    link = mail_link(tenant, BUY_HOURS if sells_online else FAMILY_DASHBOARD)
    for person in family_recipients(session, student.id, student.family_id):
        queue_message(
            session,
            tenant,
            person,
            subject,
            "hours_running_low",
            package=package,
            empty=empty,
            minutes_left=change.after,
            sells_online=sells_online,
            link=link,
        )
