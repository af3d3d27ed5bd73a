"""E-mails about online payments: a subscription's payment that did not go through."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.mail.links import mail_link
from prepbase.mail.outbox import queue_message
from prepbase.mail.recipients import family_recipients
from prepbase.models import Package, Role, Tenant, User

FAMILY_PURCHASES = "tenant.family.purchase_history"
ADMIN_PACKAGE = "tenant.admin.package_detail"


def subscription_payment_failed(
    session: Session, tenant: Tenant, package: Package, amount: str
) -> int:
    """Tell the family and the business's admins that Stripe could not collect `amount`
    (already written as money) for the package's next period; how many were told."""
    student = package.student
    subject = f"Payment for {package.name} did not go through"
    told = 0
    family_link = mail_link(tenant, FAMILY_PURCHASES)
    for person in family_recipients(session, student.id, student.family_id):
        queue_message(
            session,
            tenant,
            person,
            subject,
            "subscription_payment_failed",
            package=package,
            amount=amount,
            for_admin=False,
            link=family_link,
            link_label="Your purchases",
        )
        told += 1
    admin_link = mail_link(tenant, ADMIN_PACKAGE, package_id=package.id)
    admins = session.scalars(
        select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    )
    for person in admins:
        queue_message(
            session,
            tenant,
            person,
            f"{student.full_name}: {subject.lower()}",
            "subscription_payment_failed",
            package=package,
            amount=amount,
            for_admin=True,
            link=admin_link,
            link_label="The package",
        )
        told += 1
    return told
