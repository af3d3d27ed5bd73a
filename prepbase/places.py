"""Where a session takes place, for whoever is looking (design §11): one function,
`place_of`, answers it for pages, e-mails, invitations and feeds alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from prepbase.models import STAFF_ROLES, LocationType, Role, TutoringSession, User


@dataclass(frozen=True)
class Place:
    """Where a session is, as one viewer may read it now: the kind of place ("Virtual
    Meeting"), and an address, a link, or a note saying why neither is shown."""

    kind: str
    text: str | None = None
    link: str | None = None
    note: str | None = None


def sees_as_staff(viewer: User, ts: TutoringSession) -> bool:
    """The session's staff member or an admin: they read a Student Address in full."""
    return viewer.role == Role.ADMIN or (viewer.role in STAFF_ROLES and viewer.id == ts.staff_id)


def link_shown_from(ts: TutoringSession) -> datetime:
    """When a Virtual Meeting session's link starts being shown (its category's lead time)."""
    return ts.starts_at - timedelta(minutes=ts.category.link_lead_minutes)


def place_of(ts: TutoringSession, viewer: User, now: datetime) -> Place:
    """Design §11, the one answer to "where is this session, for this viewer, now":

    - Student Address: the student's address (else the family's) to the session's staff
      member and admins only; families read "At the student's address", so no address
      ever reaches another family.
    - Custom Address: the session's address, to everyone who sees the session.
    - Center: the category's location, name and address.
    - Virtual Meeting: the meeting link, to the family and the staff, from the category's
      lead time before the start; before that, when it will appear.
    """
    category = ts.category
    kind = LocationType(category.location_type)
    if kind is LocationType.STUDENT_ADDRESS:
        if not sees_as_staff(viewer, ts):
            return Place(kind.label, "At the student's address")
        address = ts.student.address or ts.student.family.address
        if address:
            return Place(kind.label, address)
        return Place(kind.label, note="No address on file for this student yet.")
    if kind is LocationType.CUSTOM_ADDRESS:
        if ts.custom_address:
            return Place(kind.label, ts.custom_address)
        return Place(kind.label, note="The address has not been set yet.")
    if kind is LocationType.CENTER:
        location = category.location
        if location is None:
            return Place(kind.label)
        return Place(kind.label, f"{location.name}, {location.address}")
    if not ts.meeting_link:
        return Place(kind.label, note="The meeting link has not been set yet.")
    shown_from = link_shown_from(ts)
    if now < shown_from:
        minutes = category.link_lead_minutes
        return Place(
            kind.label,
            note=f"The meeting link appears here {minutes} minutes before the start."
            if minutes
            else "The meeting link appears here at the start.",
        )
    return Place(kind.label, link=ts.meeting_link)
