"""E-mails about sessions: bookings, proposals, accepted proposals, moves,
cancellations, declined bookings, reassignments, and a reminder before each one.

Each names the session's category and subject and where it is, as its reader may read it
(`places.place_of`). Bookings, accepted proposals, moves and cancellations carry an
iCalendar invitation (`invites.invitation`, REQUEST or CANCEL) so the session lands in
the person's calendar at once.

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

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from prepbase import invites
from prepbase.hours import hours_phrase
from prepbase.localtime import format_when
from prepbase.mail.links import mail_link
from prepbase.mail.outbox import deliver_pending, queue_message
from prepbase.mail.recipients import family_recipients
from prepbase.models import (
    STAFF_ROLES,
    Service,
    SessionCategory,
    SessionStatus,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.tenancy import as_tenant

log = logging.getLogger(__name__)

FAMILY_DASHBOARD = "tenant.family.dashboard"
FAMILY_SESSION = "tenant.family.session_page"
STAFF_SESSION = "tenant.tutor.session_detail"


def _about(tenant: Tenant, ts: TutoringSession) -> str:
    """The session in words, as every message names it."""
    kind = "group session" if ts.group_id is not None else "session"  # design §11
    return (
        f"{ts.student.full_name}'s {Service(ts.service).label.lower()} {kind} with "
        f"{ts.staff.name} on {format_when(tenant.timezone, ts.starts_at)} "
        f"({hours_phrase(ts.duration_minutes)})"
    )


def _family_link(tenant: Tenant, ts: TutoringSession, **args: object) -> str | None:
    return mail_link(tenant, FAMILY_DASHBOARD, anchor=f"session-{ts.id}", **args)


def _staff_link(tenant: Tenant, ts: TutoringSession) -> str | None:
    return mail_link(tenant, STAFF_SESSION, session_id=ts.id)


def session_link(tenant: Tenant, ts: TutoringSession, person: User) -> str | None:
    """The session's page for `person`: the staff session page, or the family's."""
    if person.role in STAFF_ROLES:
        return mail_link(tenant, STAFF_SESSION, session_id=ts.id)
    return mail_link(tenant, FAMILY_SESSION, session_id=ts.id)


def _queue(
    session: Session,
    tenant: Tenant,
    person: User,
    ts: TutoringSession,
    subject: str,
    template: str,
    invite: str | None = None,
    **context: object,
) -> None:
    """One message about `ts` to `person`: its kind and place as they may read them, and
    with `invite` (REQUEST or CANCEL) the calendar invitation."""
    now = utcnow()
    page = session_link(tenant, ts, person)
    ical = invites.invitation(tenant, ts, person, invite, now, page) if invite else None
    context.setdefault("link", page)
    context.setdefault("link_label", "The session")
    queue_message(
        session,
        tenant,
        person,
        subject,
        template,
        ical=ical,
        ts=ts,
        kind=invites.kind_of(ts),
        where=invites.location_text(ts, person, now),
        **context,
    )


def _to_family(
    session: Session,
    tenant: Tenant,
    ts: TutoringSession,
    subject: str,
    template: str,
    invite: str | None = None,
    **context: object,
) -> None:
    for person in family_recipients(session, ts.student_id, ts.student.family_id):
        _queue(session, tenant, person, ts, subject, template, invite, **context)


def _to_staff(
    session: Session,
    tenant: Tenant,
    ts: TutoringSession,
    subject: str,
    template: str,
    invite: str | None = None,
    **context: object,
) -> None:
    if ts.staff.active:
        _queue(session, tenant, ts.staff, ts, subject, template, invite, **context)


def session_booked(
    session: Session, tenant: Tenant, ts: TutoringSession, *, by_business: bool = False
) -> None:
    """A family booked a session (rule 1), or the business booked it for them
    (`by_business`): the family and the staff member get it in their calendars."""
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"Booked: {ts.student.first_name}'s session of {when}"
    for send in (_to_family, _to_staff):
        send(
            session,
            tenant,
            ts,
            subject,
            "session_booked",
            invites.REQUEST,
            about=_about(tenant, ts),
            for_family_by=tenant.name if by_business else None,
        )


def session_accepted(
    session: Session, tenant: Tenant, ts: TutoringSession, *, by_business: bool = False
) -> None:
    """The family accepted a proposal (rule 2), or the business accepted it for them
    (`by_business`): both sides get it in their calendars."""
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"Accepted: {ts.student.first_name}'s session of {when}"
    for send in (_to_family, _to_staff):
        send(
            session,
            tenant,
            ts,
            subject,
            "session_accepted",
            invites.REQUEST,
            about=_about(tenant, ts),
            for_family_by=tenant.name if by_business else None,
        )


def session_moved(session: Session, tenant: Tenant, actor: User, ts: TutoringSession) -> None:
    """A session moved (rule 6): the updated invitation (same UID, next SEQUENCE) to the
    family and the staff member. Pending proposals are not in calendars yet: no e-mail."""
    if ts.status != SessionStatus.UPCOMING:
        return
    when = format_when(tenant.timezone, ts.starts_at)
    subject = f"Moved: {ts.student.first_name}'s session is now on {when}"
    for send in (_to_family, _to_staff):
        send(
            session, tenant, ts, subject, "session_moved", invites.REQUEST, about=_about(tenant, ts)
        )


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
    # Only a session that was in their calendars (booked or accepted) has one to drop.
    invite = invites.CANCEL if ts.package_id is not None else None
    if actor.role in STAFF_ROLES:
        _to_family(
            session,
            tenant,
            ts,
            subject,
            "session_cancelled",
            invite,
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
        _queue(
            session,
            tenant,
            staff,
            ts,
            subject,
            "session_cancelled",
            invite,
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
    common: dict[str, Any] = {"actor": actor, "about": about, "previous": previous}
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


def _first_of_its_group(session: Session, ts: TutoringSession) -> bool:
    """A group session's staff member is reminded once, with the first participation
    claimed (design §11); each family is reminded of its own."""
    if ts.group_id is None:
        return True
    others = session.scalar(
        select(func.count()).where(
            TutoringSession.group_id == ts.group_id,
            TutoringSession.id != ts.id,
            TutoringSession.reminder_sent_at.is_not(None),
        )
    )
    return not others


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
    if ts.staff.active and _first_of_its_group(session, ts):
        _queue(
            session,
            tenant,
            ts.staff,
            ts,
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
    # A category's own reminder time overrides the business's (design §11; 0 = none).
    overrides: dict[int, int] = {
        category_id: hours or 0  # never None: the query keeps only set overrides
        for category_id, hours in session.execute(
            select(SessionCategory.id, SessionCategory.reminder_hours).where(
                SessionCategory.reminder_hours.is_not(None)
            )
        )
    }
    longest = max([tenant.reminder_hours, *overrides.values()])
    if not longest:
        return 0
    now = now or utcnow()
    candidates = session.execute(
        select(TutoringSession.id, TutoringSession.starts_at, TutoringSession.category_id)
        .where(
            TutoringSession.status == SessionStatus.UPCOMING,
            TutoringSession.reminder_sent_at.is_(None),
            TutoringSession.starts_at > now,
            TutoringSession.starts_at <= now + timedelta(hours=longest),
        )
        .order_by(TutoringSession.starts_at, TutoringSession.id)
    ).all()
    due = []
    for session_id, starts_at, category_id in candidates:
        lead = overrides.get(category_id, tenant.reminder_hours)
        if lead and starts_at <= now + timedelta(hours=lead):
            due.append(session_id)
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
