"""Calendar feeds (RFC 5545): a secret address per person that calendar apps subscribe to.

A staff member's feed lists their sessions; a parent's lists their family's students'
sessions; a student's lists their own — what each sees in their portal. The token in
the address is the credential: only its SHA-256 hash is stored, it is shown once, and
its owner can revoke it or make a new one (which revokes the old). The feed is served
under the business's URL prefix, so a token only ever finds a feed of that business.

Events: pending sessions are TENTATIVE, upcoming and completed ones CONFIRMED, cancelled
and declined ones CANCELLED (so subscribed calendars drop them); times carry the
business's time zone (TZID, with its VTIMEZONE). A series occurrence waiting for hours
(§10) is TENTATIVE and TRANSPARENT ("Waiting for hours: …"): it is shown, so the family
and the staff member see the lesson planned, but it does not mark the time busy, as it
reserves none. Every occurrence of a series is an event of its own.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, joinedload

from prepbase.errors import DomainError
from prepbase.hours import hours_phrase
from prepbase.models import (
    CalendarFeed,
    Role,
    SessionStatus,
    Student,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)

PAST_DAYS = 30  # recent history kept in the feed, so calendars do not lose it at once
MAX_EVENTS = 2000
STATUS = {
    SessionStatus.PENDING: "TENTATIVE",
    SessionStatus.UPCOMING: "CONFIRMED",
    SessionStatus.COMPLETED: "CONFIRMED",
    SessionStatus.CANCELLED: "CANCELLED",
    SessionStatus.DECLINED: "CANCELLED",
    SessionStatus.WAITING: "TENTATIVE",
}
STAFF_FEED_ROLES = {Role.ADMIN, Role.TUTOR, Role.COUNSELOR}


def hash_token(raw: str) -> str:
    """The stored form of a feed token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def live_feed(session: Session, user: User) -> CalendarFeed | None:
    """The person's feed that still works, if any."""
    return session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None)
        )
    )


def revoke_feed(session: Session, user: User) -> bool:
    """Stop the person's feed from working; True if there was one."""
    result = session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return bool(cast(CursorResult[Any], result).rowcount)


def create_feed(session: Session, user: User) -> str:
    """A new secret feed address token for `user` (revoking the old one); the raw token is
    returned once and never stored."""
    if not user.active:
        raise DomainError("This account is deactivated.")
    revoke_feed(session, user)
    raw = secrets.token_urlsafe(32)
    session.add(CalendarFeed(user_id=user.id, token_hash=hash_token(raw)))
    session.flush()
    return raw


def feed_owner(session: Session, raw: str) -> User | None:
    """The active person whose live feed `raw` opens, in the current business; else None."""
    if not raw or len(raw) > 200:
        return None
    feed = session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.token_hash == hash_token(raw), CalendarFeed.revoked_at.is_(None))
        .options(joinedload(CalendarFeed.user))
    )
    if feed is None or not feed.user.active:
        return None
    return feed.user


def feed_sessions(session: Session, user: User, now: datetime) -> list[TutoringSession]:
    """The sessions `user`'s feed shows: theirs (staff) or their family's (family), from
    30 days ago on."""
    stmt = select(TutoringSession).where(
        TutoringSession.starts_at >= now - timedelta(days=PAST_DAYS)
    )
    if user.role in STAFF_FEED_ROLES:
        stmt = stmt.where(TutoringSession.staff_id == user.id)
    elif user.role == Role.STUDENT and user.student_id is not None:
        stmt = stmt.where(TutoringSession.student_id == user.student_id)
    elif user.role == Role.PARENT and user.family_id is not None:
        stmt = stmt.join(Student, Student.id == TutoringSession.student_id).where(
            Student.family_id == user.family_id
        )
    else:
        return []
    return list(
        session.scalars(
            stmt.options(joinedload(TutoringSession.student), joinedload(TutoringSession.staff))
            .order_by(TutoringSession.starts_at, TutoringSession.id)
            .limit(MAX_EVENTS)
        )
    )


def _summary(ts: TutoringSession, for_staff: bool) -> str:
    service = ts.service.title()
    what = (
        f"{service}: {ts.student.full_name}"
        if for_staff
        else f"{service} with {ts.staff.name} ({ts.student.first_name})"
    )
    if ts.status == SessionStatus.PENDING:
        return f"Proposed: {what}"
    if ts.status == SessionStatus.WAITING:
        return f"Waiting for hours: {what}"
    if ts.status in (SessionStatus.CANCELLED, SessionStatus.DECLINED):
        return f"Cancelled: {what}"
    return what


def build_calendar(
    tenant: Tenant, user: User, sessions: list[TutoringSession], now: datetime
) -> bytes:
    """The iCalendar file of a feed."""
    zone = ZoneInfo(tenant.timezone)
    for_staff = user.role in STAFF_FEED_ROLES
    cal = icalendar.Calendar()
    cal.add("prodid", "-//PrepBase//Sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{tenant.name}: {user.name}")
    cal.add("x-wr-timezone", tenant.timezone)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for ts in sessions:
        event = icalendar.Event()
        event.add("uid", f"session-{ts.id}@{tenant.slug}.prepbase")
        event.add("dtstamp", now)
        event.add("dtstart", ts.starts_at.astimezone(zone))
        event.add("dtend", ts.ends_at.astimezone(zone))
        event.add("summary", _summary(ts, for_staff))
        event.add("status", STATUS[SessionStatus(ts.status)])
        closed = ts.status in (SessionStatus.CANCELLED, SessionStatus.DECLINED)
        event.add("sequence", 1 if closed else 0)
        changed = ts.cancelled_at or ts.declined_at or ts.completed_at or ts.created_at
        if changed is not None:
            event.add("last-modified", changed)
        event.add(
            "description",
            f"{hours_phrase(ts.duration_minutes)} · {SessionStatus(ts.status).label} · "
            f"{ts.service.title()} with {ts.staff.name} for {ts.student.full_name}",
        )
        if closed or ts.status == SessionStatus.WAITING:  # holds no time
            event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    today = now.astimezone(zone).date()
    cal.add_missing_timezones(
        first_date=date(today.year - 1, 1, 1), last_date=date(today.year + 3, 1, 1)
    )
    ical: bytes = cal.to_ical()
    return ical
