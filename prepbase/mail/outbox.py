"""The outbox: messages written inside the user's transaction, delivered after the commit.

Writing the message in the same transaction as the change means an invitation is never
sent for a user that was rolled back. A message whose delivery fails is tried again,
later each time (`BACKOFF`), by the next request that sends mail or by `flask prepbase
send-mail`; after `MAX_ATTEMPTS` it is `failed` and waits under Settings → E-mail for
an admin to resend it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr
from functools import cache
from typing import Any, cast

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import CursorResult, Integer, Update, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from prepbase.errors import DomainError
from prepbase.mail import smtp
from prepbase.mail.render import render
from prepbase.models import OutboundEmail, Tenant, User, utcnow
from prepbase.models.base import UTCDateTime
from prepbase.tenancy import current_tenant_id

log = logging.getLogger(__name__)

# How long to wait after the 1st, 2nd… failed attempt; the attempt after the last
# wait is the final one (about 21 hours in all, enough for a mail server's outage).
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# A message claimed longer ago than this was left by a sender that crashed mid-send.
STALE_CLAIM = timedelta(minutes=15)
FAILED_SHOWN = 100  # Settings → E-mail lists this many of the latest failures


def _sender_domain() -> str:
    # Outside the app (domain code called from some tests) there is no MAIL_FROM to read.
    address = parseaddr(current_app.config["MAIL_FROM"] if has_app_context() else "")[1]
    return address.rpartition("@")[2] or "localhost"


def _send_after_request() -> None:
    # prepbase.create_app's after_request hook delivers once the request has committed.
    if has_request_context():
        g.outbox_pending = True


def queue_email(
    session: Session,
    to_addr: str,
    subject: str,
    body: str,
    html: str | None = None,
    ical: str | None = None,
) -> OutboundEmail:
    """Add a message (plain text, and HTML if given, and an iCalendar invitation if
    given) to the outbox of the current tenant; it is sent after commit."""
    message = OutboundEmail(
        to_addr=to_addr,
        subject=smtp.one_line(subject),
        body=body,
        html_body=html,
        ical=ical,
        message_id=make_msgid(domain=_sender_domain()),
    )
    session.add(message)
    _send_after_request()
    return message


def queue_message(
    session: Session,
    tenant: Tenant,
    person: User,
    subject: str,
    template: str,
    *,
    ical: str | None = None,
    **context: Any,
) -> OutboundEmail:
    """Render `templates/email/<template>` for `person` and queue it (with `ical`, the
    calendar invitation, attached)."""
    text, html = render(template, tenant=tenant, person=person, subject=subject, **context)
    return queue_email(session, person.email, subject, text, html, ical)


def retry_at(attempts: int, now: datetime) -> datetime:
    """When a message that failed its `attempts`-th try is tried again."""
    return now + BACKOFF[min(attempts, len(BACKOFF)) - 1]


def requeue_stale(session: Session, now: datetime | None = None) -> int:
    """Put back messages whose sender died after claiming them (they may go out twice,
    which beats never: SMTP gives no way to know whether the crashed send happened)."""
    cutoff = (now or utcnow()) - STALE_CLAIM
    updated = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.status == "sending", OutboundEmail.claimed_at < cutoff)
        .values(status=case((OutboundEmail.attempts >= MAX_ATTEMPTS, "failed"), else_="pending"))
        .execution_options(synchronize_session=False)
    )
    requeued = cast(CursorResult[Any], updated).rowcount
    session.commit()
    return requeued or 0


def _reply_address(session: Session) -> str | None:
    tenant = session.execute(
        select(Tenant.name, Tenant.contact_email).where(Tenant.id == current_tenant_id())
    ).one_or_none()
    return smtp.reply_to(tenant.name, tenant.contact_email) if tenant else None


@cache
def _claim_statement() -> Update:
    """`deliver_pending`'s claim, built once (every request that queues mail runs it): the
    due messages' ids in a subquery, so two senders never claim the same one."""
    now = bindparam("claim_now", type_=UTCDateTime)
    due = (
        select(OutboundEmail.id)
        .where(
            OutboundEmail.status == "pending",
            OutboundEmail.attempts < MAX_ATTEMPTS,
            or_(OutboundEmail.next_attempt_at.is_(None), OutboundEmail.next_attempt_at <= now),
        )
        .order_by(OutboundEmail.id)
        .limit(bindparam("claim_limit", type_=Integer))
    )
    return (
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(due.scalar_subquery()), OutboundEmail.status == "pending")
        .values(status="sending", attempts=OutboundEmail.attempts + 1, claimed_at=now)
        .returning(
            OutboundEmail.id,
            OutboundEmail.to_addr,
            OutboundEmail.subject,
            OutboundEmail.body,
            OutboundEmail.html_body,
            OutboundEmail.ical,
            OutboundEmail.message_id,
            OutboundEmail.created_at,
            OutboundEmail.attempts,
        )
        .execution_options(synchronize_session=False)
    )


def deliver_pending(
    session: Session, limit: int = 50, now: datetime | None = None, tenant: Tenant | None = None
) -> int:
    """Send the due messages of the tenant in scope; returns how many went out.

    Due: pending, and its retry time (if any) has come. The batch is claimed with one
    conditional UPDATE, so two processes running this at once never send the same
    message twice, and the results are written in one transaction after sending.
    `tenant`, when the caller has it loaded, is the tenant in scope (its name and contact
    address make the Reply-To).
    """
    now = now or utcnow()
    claimed = session.execute(_claim_statement(), {"claim_now": now, "claim_limit": limit}).all()
    if not claimed:
        session.commit()
        return 0
    if tenant is not None and tenant.id == current_tenant_id():
        reply_address = smtp.reply_to(tenant.name, tenant.contact_email)
    else:
        reply_address = _reply_address(session)
    session.commit()
    claimed = sorted(claimed, key=lambda m: m.id)
    outgoing = [
        smtp.Outgoing(
            m.id, m.to_addr, m.subject, m.body, m.html_body, m.message_id, m.created_at, m.ical
        )
        for m in claimed
    ]
    sent, failed = smtp.send_all(outgoing, reply_address=reply_address)
    if sent:
        session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(sent))
            .values(status="sent", sent_at=utcnow(), next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
    for m in claimed:
        if m.id in failed:
            final = m.attempts >= MAX_ATTEMPTS
            session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id == m.id)
                .values(
                    status="failed" if final else "pending",
                    last_error=failed[m.id][:1000],
                    next_attempt_at=None if final else retry_at(m.attempts, now),
                )
                .execution_options(synchronize_session=False)
            )
            if final:
                log.error("e-mail %s to %s failed for good: %s", m.id, m.to_addr, failed[m.id])
    session.commit()
    return len(sent)


# --- Settings → E-mail ---------------------------------------------------------------


def failed_messages(session: Session, limit: int = FAILED_SHOWN) -> list[OutboundEmail]:
    """The latest messages of the tenant in scope that finally failed, newest first."""
    return list(
        session.scalars(
            select(OutboundEmail)
            .where(OutboundEmail.status == "failed")
            .order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc())
            .limit(limit)
        )
    )


def count_by_status(session: Session) -> dict[str, int]:
    """How many messages of the tenant in scope are pending, sending, sent, failed."""
    rows = session.execute(
        select(OutboundEmail.status, func.count(OutboundEmail.id)).group_by(OutboundEmail.status)
    ).all()
    return {status: count for status, count in rows}


def resend(session: Session, message: OutboundEmail) -> None:
    """An admin's Resend: a failed message goes back to pending with its attempts reset
    (same Message-ID: it is still that message); it is sent after the commit."""
    updated = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == message.id, OutboundEmail.status == "failed")
        .values(
            status="pending", attempts=0, next_attempt_at=None, claimed_at=None, last_error=None
        )
        .execution_options(synchronize_session=False)
    )
    moved = cast(CursorResult[Any], updated).rowcount
    if not moved:
        raise DomainError("This message is not waiting to be resent any more.")
    _send_after_request()
