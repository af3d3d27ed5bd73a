"""E-mails about sessions: a reminder before each one, proposals, and cancellations.

Everything goes through the outbox (`prepbase.notify`), written in the transaction of the
change it reports. Reminders are sent by `flask prepbase remind`: each session's reminder
is claimed with a conditional UPDATE of `reminder_sent_at` in the same transaction that
queues its e-mails, so it goes out once however often, and on however many hosts, the
command runs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app, has_app_context, has_request_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from prepbase.alerts import family_recipients
from prepbase.hours import hours_phrase
from prepbase.links import external_url
from prepbase.localtime import format_when
from prepbase.models import (
    STAFF_ROLES,
    Service,
    SessionStatus,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.notify import deliver_pending, queue_email
from prepbase.tenancy import as_tenant

log = logging.getLogger(__name__)

FAMILY_DASHBOARD = "tenant.family.dashboard"
STAFF_SESSION = "tenant.tutor.session_detail"


def link(tenant: Tenant, endpoint: str, anchor: str = "", **values: object) -> str | None:
    """An absolute link for an e-mail: from the request, else from PUBLIC_BASE_URL (jobs);
    None when a job runs without PUBLIC_BASE_URL (or outside the app, as some tests do)."""
    values["tenant_slug"] = tenant.slug
    if has_request_context():
        return external_url(endpoint, **values) + anchor
    base = current_app.config.get("PUBLIC_BASE_URL") if has_app_context() else None
    if not base:
        return None
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base.rstrip("/") + path + anchor


def _about(tenant: Tenant, ts: TutoringSession) -> str:
    return (
        f"{ts.student.full_name}'s {Service(ts.service).label.lower()} session with "
        f"{ts.staff.name} on {format_when(tenant.timezone, ts.starts_at)} "
        f"({hours_phrase(ts.duration_minutes)})"
    )


def _see(url: str | None, tenant: Tenant, what: str) -> str:
    return f"{what}: {url}" if url else f"Sign in to {tenant.name} to see it."


def _family_link(tenant: Tenant, ts: TutoringSession, **args: object) -> str | None:
    return link(tenant, FAMILY_DASHBOARD, f"#session-{ts.id}", **args)


def _staff_link(tenant: Tenant, ts: TutoringSession) -> str | None:
    return link(tenant, STAFF_SESSION, session_id=ts.id)


def session_proposed(session: Session, tenant: Tenant, ts: TutoringSession) -> None:
    """Tell the family that a staff member proposed a session, with Accept/Decline links
    to their dashboard (a link in an e-mail only opens the page; the buttons there act)."""
    accept = _family_link(tenant, ts, accept=ts.id)
    decline = _family_link(tenant, ts, decline=ts.id)
    answer = (
        f"Accept: {accept}\nDecline: {decline}\n"
        if accept and decline
        else f"Sign in to {tenant.name} to accept or decline it.\n"
    )
    for person in family_recipients(session, ts.student_id, ts.student.family_id):
        queue_email(
            session,
            person.email,
            f"{ts.staff.name} proposed a session for {ts.student.first_name}",
            f"Hello {person.name},\n\n{ts.staff.name} proposed {_about(tenant, ts)}.\n\n"
            f"No hours are used until you accept it.\n\n{answer}",
        )


def session_cancelled(session: Session, tenant: Tenant, actor: User, ts: TutoringSession) -> None:
    """Tell the other side that a session is cancelled: the family when staff cancel, the
    staff member when the family (or an admin) does."""
    reason = f"\nReason: {ts.cancel_reason}\n" if ts.cancel_reason else ""
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"Cancelled: {ts.student.first_name}'s session of {when}"
    if actor.role in STAFF_ROLES:
        refund = (
            f"\n{hours_phrase(ts.duration_minutes)} went back to the package.\n"
            if ts.package_id is not None
            else ""
        )
        for person in family_recipients(session, ts.student_id, ts.student.family_id):
            queue_email(
                session,
                person.email,
                subject,
                f"Hello {person.name},\n\n{actor.name} cancelled {_about(tenant, ts)}.\n"
                f"{reason}{refund}\n{_see(_family_link(tenant, ts), tenant, 'Your dashboard')}\n",
            )
    staff = ts.staff
    if actor.id != staff.id and staff.active:
        queue_email(
            session,
            staff.email,
            subject,
            f"Hello {staff.name},\n\n{actor.name} cancelled {_about(tenant, ts)}.\n{reason}\n"
            f"{_see(_staff_link(tenant, ts), tenant, 'The session')}\n",
        )


def _queue_reminder(session: Session, tenant: Tenant, ts: TutoringSession) -> None:
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"Reminder: {ts.student.first_name}'s session on {when}"
    for person in family_recipients(session, ts.student_id, ts.student.family_id):
        queue_email(
            session,
            person.email,
            subject,
            f"Hello {person.name},\n\nA reminder of {_about(tenant, ts)}.\n\n"
            f"If you cannot come, cancel it from your dashboard; its hours go back to the "
            f"package.\n{_see(_family_link(tenant, ts), tenant, 'Your dashboard')}\n",
        )
    if ts.staff.active:
        queue_email(
            session,
            ts.staff.email,
            subject,
            f"Hello {ts.staff.name},\n\nA reminder of {_about(tenant, ts)}.\n\n"
            f"{_see(_staff_link(tenant, ts), tenant, 'The session')}\n",
        )


def send_due_reminders(session: Session, tenant: Tenant, now: datetime | None = None) -> int:
    """Queue the reminders of the tenant in scope that are due (upcoming sessions starting
    within the business's reminder lead); returns how many sessions were reminded.

    Commits once per session: the claim and its e-mails go together or not at all.
    """
    if not tenant.reminder_hours:
        return 0
    now = now or utcnow()
    due = session.scalars(
        select(TutoringSession.id)
        .where(
            TutoringSession.status == SessionStatus.UPCOMING,
            TutoringSession.reminder_sent_at.is_(None),
            TutoringSession.starts_at > now,
            TutoringSession.starts_at <= now + timedelta(hours=tenant.reminder_hours),
        )
        .order_by(TutoringSession.starts_at, TutoringSession.id)
    ).all()
    session.commit()
    reminded = 0
    for session_id in due:
        # Another host may have claimed it since the SELECT: the WHERE decides, and on
        # PostgreSQL the row lock makes the second UPDATE wait and then match nothing.
        claimed = session.execute(
            update(TutoringSession)
            .where(
                TutoringSession.id == session_id,
                TutoringSession.reminder_sent_at.is_(None),
                TutoringSession.status == SessionStatus.UPCOMING,
            )
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            ts = session.scalars(
                select(TutoringSession).where(TutoringSession.id == session_id)
            ).one()
            _queue_reminder(session, tenant, ts)
            reminded += 1
        session.commit()
    if reminded:
        log.info("business %s: %s session reminder(s) queued", tenant.slug, reminded)
    return reminded


def remind_everyone(session: Session) -> tuple[int, int]:
    """`flask prepbase remind`: every business's due reminders, then its outbox; returns
    (sessions reminded, e-mails sent)."""
    reminded = sent = 0
    for tenant in session.scalars(select(Tenant).order_by(Tenant.id)).all():
        with as_tenant(tenant.id):
            reminded += send_due_reminders(session, tenant)
            sent += deliver_pending(session, limit=1000)
    return reminded, sent
