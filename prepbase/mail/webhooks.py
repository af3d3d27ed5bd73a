"""E-mail about webhooks: an endpoint turned off because it kept failing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.mail.links import mail_link
from prepbase.mail.outbox import queue_message
from prepbase.models import Role, Tenant, User, WebhookEndpoint

ENDPOINT_PAGE = "tenant.admin.webhook_detail"


def endpoint_disabled(session: Session, tenant: Tenant, endpoint: WebhookEndpoint) -> int:
    """Tell the business's admins that `endpoint` was turned off; how many were told."""
    link = mail_link(tenant, ENDPOINT_PAGE, endpoint_id=endpoint.id)
    admins = session.scalars(
        select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    ).all()
    for person in admins:
        queue_message(
            session,
            tenant,
            person,
            "A webhook endpoint was turned off",
            "webhook_disabled",
            endpoint=endpoint,
            link=link,
            link_label="The endpoint",
        )
    return len(admins)
