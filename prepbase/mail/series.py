"""E-mails about weekly series (design §10): a series proposed, sessions of a series
cancelled together, and occurrences waiting for hours that hours arrived for.

One message per change, however many sessions it touched, listing them: a family told
of ten cancellations gets one e-mail, not ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from prepbase.localtime import format_when
from prepbase.mail.links import mail_link
from prepbase.mail.outbox import queue_message
from prepbase.mail.recipients import family_recipients
from prepbase.models import STAFF_ROLES, Service, SessionSeries, Tenant, TutoringSession, User

FAMILY_DASHBOARD = "tenant.family.dashboard"
ACCEPT_SERIES = "tenant.family.series_accept"
STAFF_DASHBOARD = "tenant.tutor.dashboard"


def _whens(tenant: Tenant, sessions: Sequence[TutoringSession]) -> list[str]:
    return [format_when(tenant.timezone, ts.starts_at) for ts in sessions]


def _what(ts: TutoringSession) -> str:
    """ "Ada Acme's weekly tutoring sessions with Tara Tutor" """
    return (
        f"{ts.student.full_name}'s weekly {Service(ts.service).label.lower()} sessions "
        f"with {ts.staff.name}"
    )


def series_proposed(
    session: Session, tenant: Tenant, series: SessionSeries, sessions: Sequence[TutoringSession]
) -> None:
    """Tell the family that staff proposed a weekly series, with a link to the page that
    shows what accepting it would do (the link only opens it; the button there acts)."""
    first = sessions[0]
    subject = (
        f"{first.staff.name} proposed {len(sessions)} weekly sessions for "
        f"{first.student.first_name}"
    )
    for person in family_recipients(session, first.student_id, first.student.family_id):
        queue_message(
            session,
            tenant,
            person,
            subject,
            "series_proposed",
            what=_what(first),
            rhythm=series.rhythm,
            whens=_whens(tenant, sessions),
            minutes=series.duration_minutes,
            link=mail_link(tenant, ACCEPT_SERIES, session_id=first.id),
            link_label="Review and accept",
        )


def series_cancelled(
    session: Session,
    tenant: Tenant,
    actor: User,
    cancelled: Sequence[TutoringSession],
    reason: str,
) -> None:
    """Tell the other side that sessions of a series were cancelled "this and following":
    the family when staff cancel, the staff member when the family (or an admin) does."""
    first = cancelled[0]
    subject = f"Cancelled: {len(cancelled)} of {first.student.first_name}'s weekly sessions"
    context: dict[str, Any] = {
        "actor": actor,
        "what": _what(first),
        "whens": _whens(tenant, cancelled),
        "reason": reason.strip() or None,
    }
    if actor.role in STAFF_ROLES:
        refunded = sum(ts.duration_minutes for ts in cancelled if ts.package_id is not None)
        for person in family_recipients(session, first.student_id, first.student.family_id):
            queue_message(
                session,
                tenant,
                person,
                subject,
                "series_cancelled",
                refunded=refunded,
                link=mail_link(tenant, FAMILY_DASHBOARD),
                link_label="Your dashboard",
                **context,
            )
    staff = first.staff
    if actor.id != staff.id and staff.active:
        queue_message(
            session,
            tenant,
            staff,
            subject,
            "series_cancelled",
            refunded=0,
            link=mail_link(tenant, STAFF_DASHBOARD),
            link_label="My Sessions",
            **context,
        )


def waiting_filled(
    session: Session,
    tenant: Tenant,
    booked: Sequence[TutoringSession],
    taken: Sequence[tuple[TutoringSession, str]],
    still_waiting: int,
) -> None:
    """Hours arrived for sessions waiting for them: tell the family which are booked now
    (and from which package), which stay waiting because their time was taken (and why),
    and how many still wait for hours; tell each staff member about theirs."""
    first = booked[0] if booked else taken[0][0]
    student = first.student
    if booked:
        subject = f"{len(booked)} of {student.first_name}'s waiting sessions are booked"
    else:
        subject = f"{student.first_name}'s waiting sessions: a time was taken"
    booked_rows = [
        (format_when(tenant.timezone, ts.starts_at), ts.staff.name, ts.package.name)
        for ts in booked
        if ts.package is not None
    ]
    taken_rows = [(format_when(tenant.timezone, ts.starts_at), why) for ts, why in taken]
    for person in family_recipients(session, student.id, student.family_id):
        queue_message(
            session,
            tenant,
            person,
            subject,
            "waiting_filled",
            family=True,
            booked=booked_rows,
            taken=taken_rows,
            still_waiting=still_waiting,
            link=mail_link(tenant, FAMILY_DASHBOARD),
            link_label="Your dashboard",
        )
    by_staff: dict[int, tuple[User, list[str], list[tuple[str, str]]]] = {}
    for ts in booked:
        entry = by_staff.setdefault(ts.staff_id, (ts.staff, [], []))
        entry[1].append(format_when(tenant.timezone, ts.starts_at))
    for ts, why in taken:
        entry = by_staff.setdefault(ts.staff_id, (ts.staff, [], []))
        entry[2].append((format_when(tenant.timezone, ts.starts_at), why))
    for staff, staff_booked, staff_taken in by_staff.values():
        if not staff.active:
            continue
        queue_message(
            session,
            tenant,
            staff,
            f"{student.first_name}'s waiting sessions with you: hours arrived",
            "waiting_filled",
            family=False,
            student=student,
            booked=staff_booked,
            taken=staff_taken,
            still_waiting=0,
            link=mail_link(tenant, STAFF_DASHBOARD),
            link_label="My Sessions",
        )
