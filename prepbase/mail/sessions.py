"""E-mails about sessions: proposals, cancellations, declined bookings, reassignments,
and a reminder before each one.

Everything goes through the outbox (`prepbase.mail.outbox`), written in the transaction
of the change it reports. Reminders are sent by `flask prepbase remind`: each session's
reminder is claimed with a conditional UPDATE of `reminder_sent_at` in the same
transaction that queues its e-mails, so it goes out once however often, and on however
many hosts, the command runs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from prepbase.hours import hours_phrase
from prepbase.localtime import format_when
from prepbase.mail.links import mail_link
from prepbase.mail.outbox import deliver_pending, queue_message
from prepbase.mail.recipients import family_recipients
from prepbase.models import (
    STAFF_ROLES,
    Service,
    SessionStatus,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.tenancy import as_tenant

log = logging.getLogger(__name__)

FAMILY_DASHBOARD = "tenant.family.dashboard"
STAFF_SESSION = "tenant.tutor.session_detail"


def _about(tenant: Tenant, ts: TutoringSession) -> str:
    """The session in words, as every message names it."""
    return (
        f"{ts.student.full_name}'s {Service(ts.service).label.lower()} session with "
        f"{ts.staff.name} on {format_when(tenant.timezone, ts.starts_at)} "
        f"({hours_phrase(ts.duration_minutes)})"
    )


def _family_link(tenant: Tenant, ts: TutoringSession, **args: object) -> str | None:
    return mail_link(tenant, FAMILY_DASHBOARD, anchor=f"session-{ts.id}", **args)


def _staff_link(tenant: Tenant, ts: TutoringSession) -> str | None:
    return mail_link(tenant, STAFF_SESSION, session_id=ts.id)


def _to_family(
    session: Session,
    tenant: Tenant,
    ts: TutoringSession,
    subject: str,
    template: str,
    **context: object,
) -> None:
    for person in family_recipients(session, ts.student_id, ts.student.family_id):
        queue_message(session, tenant, person, subject, template, ts=ts, **context)


def session_proposed(session: Session, tenant: Tenant, ts: TutoringSession) -> None:
    """Tell the family that a staff member proposed a session, with Accept/Decline links
    to their dashboard (a link in an e-mail only opens the page; the buttons there act)."""
    _to_family(
        session,
        tenant,
        ts,
        f"{ts.staff.name} proposed a session for {ts.student.first_name}",
        "session_proposed",
        about=_about(tenant, ts),
        accept=_family_link(tenant, ts, accept=ts.id),
        decline=_family_link(tenant, ts, decline=ts.id),
    )


def session_cancelled(session: Session, tenant: Tenant, actor: User, ts: TutoringSession) -> None:
    """Tell the other side that a session is cancelled: the family when staff cancel, the
    staff member when the family (or an admin) does."""
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"Cancelled: {ts.student.first_name}'s session of {when}"
    about = _about(tenant, ts)
    if actor.role in STAFF_ROLES:
        _to_family(
            session,
            tenant,
            ts,
            subject,
            "session_cancelled",
            actor=actor,
            about=about,
            reason=ts.cancel_reason,
            # A late cancellation under the policy leaves the session holding what it kept.
            refunded=ts.duration_minutes - ts.charged_minutes if ts.package_id is not None else 0,
            kept=ts.charged_minutes if ts.package_id is not None else 0,
            link=_family_link(tenant, ts),
            link_label="Your dashboard",
        )
    staff = ts.staff
    if actor.id != staff.id and staff.active:
        queue_message(
            session,
            tenant,
            staff,
            subject,
            "session_cancelled",
            actor=actor,
            about=about,
            reason=ts.cancel_reason,
            refunded=0,
            kept=0,
            link=_staff_link(tenant, ts),
            link_label="The session",
        )


def booking_declined(session: Session, tenant: Tenant, ts: TutoringSession, reason: str) -> None:
    """Tell the family that the staff member cannot take their booking (rule 9)."""
    _to_family(
        session,
        tenant,
        ts,
        f"{ts.staff.name} cannot take {ts.student.first_name}'s session",
        "booking_declined",
        when=format_when(tenant.timezone, ts.starts_at),
        reason=reason,
        refunded=ts.duration_minutes,
        link=mail_link(tenant, FAMILY_DASHBOARD),
    )


def session_reassigned(
    session: Session, tenant: Tenant, actor: User, ts: TutoringSession, previous: User
) -> None:
    """Tell the family, the staff member who had the session and the one who has it now
    that an admin gave it to someone else (the actor is not told what they did)."""
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"{ts.student.first_name}'s session of {when} is now with {ts.staff.name}"
    about = _about(tenant, ts)
    common = {"actor": actor, "about": about, "previous": previous}
    _to_family(
        session,
        tenant,
        ts,
        subject,
        "session_reassigned",
        audience="family",
        link=_family_link(tenant, ts),
        link_label="Your dashboard",
        **common,
    )
    for staff, audience, link in (
        (previous, "previous", None),  # no longer theirs: its page would be a 404
        (ts.staff, "new", _staff_link(tenant, ts)),
    ):
        if staff.id != actor.id and staff.active:
            queue_message(
                session,
                tenant,
                staff,
                subject,
                "session_reassigned",
                ts=ts,
                audience=audience,
                link=link,
                link_label="The session",
                **common,
            )


def proposal_expiring(
    session: Session, tenant: Tenant, ts: TutoringSession, expires_at: datetime
) -> None:
    """Halfway to its expiry (design §12), remind the family of a proposal they have not
    answered, once (`scheduling.expire_proposals` claims it)."""
    _to_family(
        session,
        tenant,
        ts,
        f"Waiting for your answer: {ts.student.first_name}'s proposed session",
        "proposal_expiring",
        about=_about(tenant, ts),
        expires=format_when(tenant.timezone, expires_at),
        accept=_family_link(tenant, ts, accept=ts.id),
        decline=_family_link(tenant, ts, decline=ts.id),
    )


def proposal_expired(session: Session, tenant: Tenant, ts: TutoringSession) -> None:
    """Tell the staff member that their proposal expired unanswered (design §12)."""
    staff = ts.staff
    if not staff.active:
        return
    queue_message(
        session,
        tenant,
        staff,
        f"Expired: your proposal for {ts.student.first_name}",
        "proposal_expired",
        about=_about(tenant, ts),
        link=_staff_link(tenant, ts),
        link_label="The session",
    )


def _queue_reminder(session: Session, tenant: Tenant, ts: TutoringSession) -> None:
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"Reminder: {ts.student.first_name}'s session on {when}"
    about = _about(tenant, ts)
    _to_family(
        session,
        tenant,
        ts,
        subject,
        "session_reminder",
        about=about,
        family=True,
        link=_family_link(tenant, ts),
        link_label="Your dashboard",
    )
    if ts.staff.active:
        queue_message(
            session,
            tenant,
            ts.staff,
            subject,
            "session_reminder",
            about=about,
            family=False,
            link=_staff_link(tenant, ts),
            link_label="The session",
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
        updated = session.execute(
            update(TutoringSession)
            .where(
                TutoringSession.id == session_id,
                TutoringSession.reminder_sent_at.is_(None),
                TutoringSession.status == SessionStatus.UPCOMING,
            )
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        claimed = cast(CursorResult[Any], updated).rowcount
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
