"""A session as an iCalendar event (RFC 5545), for the invitations e-mailed with a
booking, an accepted proposal, a move or a cancellation, and for the subscribed feeds.

One event per session, whoever reads it: the UID is the session's for its whole life (a
calendar updates the event it already has), SEQUENCE is `TutoringSession.ical_sequence`
(bumped by every change, so the newest version wins), LOCATION is where the session is
for that reader (`places.place_of`: a Student Address never reaches a family, a meeting
link only from the category's lead time), URL the session's page for them.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

from prepbase.hours import hours_phrase
from prepbase.models import SessionStatus, Tenant, TutoringSession, User
from prepbase.places import place_of, sees_as_staff

STATUS = {
    SessionStatus.PENDING: "TENTATIVE",
    SessionStatus.UPCOMING: "CONFIRMED",
    SessionStatus.COMPLETED: "CONFIRMED",
    SessionStatus.CANCELLED: "CANCELLED",
    SessionStatus.DECLINED: "CANCELLED",
    SessionStatus.WAITING: "TENTATIVE",
}
REQUEST, CANCEL = "REQUEST", "CANCEL"


def uid(tenant: Tenant, ts: TutoringSession) -> str:
    """The event's UID: the same for a session whatever changes."""
    return f"session-{ts.id}@{tenant.slug}.prepbase"


def kind_of(ts: TutoringSession) -> str:
    """ "Test Prep · SAT": the category, and the subject when there is one."""
    return f"{ts.category.name} · {ts.subject.name}" if ts.subject else ts.category.name


def summary(ts: TutoringSession, for_staff: bool) -> str:
    """The event's title as its reader sees it."""
    subject = f" {ts.subject.name}" if ts.subject else ""
    service = ts.service.title()
    what = (
        f"{service}{subject}: {ts.student.full_name}"
        if for_staff
        else f"{service}{subject} with {ts.staff.name} ({ts.student.first_name})"
    )
    if ts.status == SessionStatus.PENDING:
        return f"Proposed: {what}"
    if ts.status == SessionStatus.WAITING:
        return f"Waiting for hours: {what}"
    if ts.status in (SessionStatus.CANCELLED, SessionStatus.DECLINED):
        return f"Cancelled: {what}"
    return what


def location_text(ts: TutoringSession, viewer: User, now: datetime) -> str:
    """Where, in one line, as `viewer` may read it now."""
    place = place_of(ts, viewer, now)
    return place.link or place.text or place.kind


def session_event(
    tenant: Tenant, ts: TutoringSession, viewer: User, now: datetime, url: str | None
) -> icalendar.Event:
    """The session as `viewer`'s calendar holds it."""
    zone = ZoneInfo(tenant.timezone)
    closed = ts.status in (SessionStatus.CANCELLED, SessionStatus.DECLINED)
    place = place_of(ts, viewer, now)
    event = icalendar.Event()
    event.add("uid", uid(tenant, ts))
    event.add("dtstamp", now)
    event.add("dtstart", ts.starts_at.astimezone(zone))
    event.add("dtend", ts.ends_at.astimezone(zone))
    event.add("summary", summary(ts, sees_as_staff(viewer, ts)))
    event.add("status", STATUS[SessionStatus(ts.status)])
    event.add("sequence", ts.ical_sequence)
    changed = ts.cancelled_at or ts.declined_at or ts.completed_at or ts.created_at
    if changed is not None:
        event.add("last-modified", max(changed, ts.created_at))
    event.add("location", place.link or place.text or place.kind)
    if url:
        event.add("url", url)
    lines = [
        f"{kind_of(ts)} · {hours_phrase(ts.duration_minutes)} · {SessionStatus(ts.status).label}",
        f"{ts.service.title()} with {ts.staff.name} for {ts.student.full_name}",
    ]
    if place.link:
        lines.append(f"Meeting link: {place.link}")
    elif place.note:
        lines.append(place.note)
    event.add("description", "\n".join(lines))
    if closed or ts.status == SessionStatus.WAITING:  # holds no time
        event.add("transp", "TRANSPARENT")
    return event


def calendar(name: str, method: str, zone_name: str, now: datetime) -> icalendar.Calendar:
    """An empty calendar object of PrepBase's, for a feed (PUBLISH) or an invitation."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//PrepBase//Sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone_name)
    return cal


def with_timezones(cal: icalendar.Calendar, zone_name: str, now: datetime) -> bytes:
    """The calendar as bytes, with the VTIMEZONE of its events where icalendar's
    `add_missing_timezones` would put them (first among its components), from the
    process's serialized copies: a zone's five years of rules are a hundred folded lines,
    the larger part of an invitation's cost when built and written for every e-mail."""
    year = now.astimezone(ZoneInfo(zone_name)).year
    zones = b"".join(vtimezone(tzid, year) for tzid in sorted(cal.get_missing_tzids()))
    ical: bytes = cal.to_ical()
    if not zones:
        return ical
    # Before the first component's BEGIN line (there is one: an event uses the zone); a
    # property value never holds one (folded lines go on with a space, text escapes its
    # line breaks).
    first = ical.index(b"\r\nBEGIN:", len(b"BEGIN:VCALENDAR")) + 2
    return ical[:first] + zones + ical[first:]


@lru_cache(maxsize=64)
def vtimezone(tzid: str, year: int) -> bytes:
    """A zone's VTIMEZONE from the year before `year` to three years after, serialized
    (empty for a zone icalendar does not know): worked out once per process and year."""
    try:
        component = icalendar.Timezone.from_tzid(
            tzid, first_date=date(year - 1, 1, 1), last_date=date(year + 3, 1, 1)
        )
    except ValueError:
        return b""
    ical: bytes = component.to_ical()
    return ical


def invitation(
    tenant: Tenant,
    ts: TutoringSession,
    viewer: User,
    method: str,
    now: datetime,
    url: str | None,
) -> str:
    """The text/calendar attachment of an e-mail to `viewer`: REQUEST (add or update the
    event) or CANCEL (drop it)."""
    cal = calendar(tenant.name, method, tenant.timezone, now)
    event = session_event(tenant, ts, viewer, now, url)
    if method == CANCEL:
        event["status"] = icalendar.vText("CANCELLED")
    if tenant.contact_email:
        organizer = icalendar.vCalAddress(f"mailto:{tenant.contact_email}")
        organizer.params["cn"] = icalendar.vText(tenant.name)
        event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{viewer.email}")
    attendee.params["cn"] = icalendar.vText(viewer.name)
    attendee.params["partstat"] = icalendar.vText("ACCEPTED")
    event.add("attendee", attendee)
    cal.add_component(event)
    return with_timezones(cal, tenant.timezone, now).decode()
