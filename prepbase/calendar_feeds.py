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
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, joinedload

from prepbase import invites
from prepbase.errors import DomainError
from prepbase.models import (
    CalendarFeed,
    Role,
    Student,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)

PAST_DAYS = 30  # recent history kept in the feed, so calendars do not lose it at once
MAX_EVENTS = 2000
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
            stmt.options(
                joinedload(TutoringSession.student),
                joinedload(TutoringSession.staff),
                joinedload(TutoringSession.category),
                joinedload(TutoringSession.subject),
            )
            .order_by(TutoringSession.starts_at, TutoringSession.id)
            .limit(MAX_EVENTS)
        )
    )


def build_calendar(
    tenant: Tenant,
    user: User,
    sessions: list[TutoringSession],
    now: datetime,
    url_of: Callable[[TutoringSession], str | None] = lambda ts: None,
) -> bytes:
    """The iCalendar file of a feed: each session as `invites.session_event` makes it for
    this person (the same UID, SEQUENCE, LOCATION and URL as their invitations)."""
    cal = invites.calendar(f"{tenant.name}: {user.name}", "PUBLISH", tenant.timezone, now)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for ts in sessions:
        cal.add_component(invites.session_event(tenant, ts, user, now, url_of(ts)))
    return invites.with_timezones(cal, tenant.timezone, now)
