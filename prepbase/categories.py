"""Session categories, locations and subjects (design §11): what the admin may set, and
what Book Session and Propose Session may choose.

A business starts with one category; while it has a single active one, the choosers stay
hidden and every session gets it (`default_category`). A subject belongs to a category;
only staff who teach a subject are offered for it (`staff_teaching`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase.colour import check_category_colour
from prepbase.errors import DomainError
from prepbase.lifecycle import Action, check
from prepbase.models import (
    STAFF_ROLES,
    Location,
    LocationType,
    SessionCategory,
    StaffSubject,
    Subject,
    TutoringSession,
    User,
)
from prepbase.models.categories import MAX_BUFFER_MINUTES, Buffers

MAX_REMINDER_HOURS = 168
MAX_LINK_LEAD_MINUTES = 24 * 60
MAX_CAPACITY = 50


# --- what may be chosen -------------------------------------------------------------------


def active_categories(session: Session) -> list[SessionCategory]:
    """The categories a new session may have, by name."""
    return list(
        session.scalars(
            select(SessionCategory)
            .where(SessionCategory.active)
            .order_by(SessionCategory.name, SessionCategory.id)
        )
    )


def default_category(session: Session) -> SessionCategory:
    """The category a session gets when none is chosen: the business's oldest active one
    (the "Session" category it started with, unless the admin turned it off)."""
    category = session.scalar(
        select(SessionCategory).where(SessionCategory.active).order_by(SessionCategory.id).limit(1)
    )
    return default_of([category] if category is not None else [])


def default_of(active: list[SessionCategory]) -> SessionCategory:
    """`default_category` among the active categories already loaded."""
    if not active:  # `save_category` never lets the last active one go
        raise DomainError("This business has no active session category.", field="category")
    return min(active, key=lambda c: c.id)


def active_subjects(session: Session) -> list[Subject]:
    """Active subjects of active categories, by category then name."""
    return list(
        session.scalars(
            select(Subject)
            .join(Subject.category)
            .where(Subject.active, SessionCategory.active)
            .order_by(SessionCategory.name, Subject.name, Subject.id)
        )
    )


def staff_teaching(session: Session, subject_id: int) -> set[int]:
    """Ids of the staff members who list `subject_id` among the subjects they teach."""
    return set(
        session.scalars(select(StaffSubject.user_id).where(StaffSubject.subject_id == subject_id))
    )


@dataclass(frozen=True)
class Choice:
    """A session's category and (optional) subject, checked together."""

    category: SessionCategory
    subject: Subject | None


def check_choice(
    session: Session,
    category: SessionCategory | None,
    subject: Subject | None,
    staff: User | None = None,
) -> Choice:
    """The category and subject a new session may have: both active, the subject one of the
    category's, and (when given) a staff member who teaches it. No category: the default."""
    if category is None:
        category = subject.category if subject is not None else default_category(session)
    if not category.active:
        raise DomainError(f"{category.name} is no longer offered.", field="category")
    if subject is not None:
        if subject.category_id != category.id:
            raise DomainError(f"{subject.name} is not a {category.name} subject.", field="subject")
        if not subject.active:
            raise DomainError(f"{subject.name} is no longer offered.", field="subject")
        if staff is not None and staff.id not in staff_teaching(session, subject.id):
            raise DomainError(f"{staff.name} does not teach {subject.name}.", field="staff")
    return Choice(category, subject)


def buffers_of_choice(
    session: Session, category: SessionCategory | None, subject: Subject | None
) -> Buffers:
    """The buffers of the category a new session would get, for showing open times; a
    choice that cannot be falls back to the default (booking it says why)."""
    try:
        return check_choice(session, category, subject).category.buffers
    except DomainError:
        return default_category(session).buffers


def who_teaches(session: Session, staff: list[User], subject_id: int | None) -> list[User]:
    """Of `staff`, those who teach the subject (all of them when no subject is chosen)."""
    if subject_id is None:
        return staff
    teaching = staff_teaching(session, subject_id)
    return [member for member in staff if member.id in teaching]


# --- Settings → Session Categories, Locations, Subjects -------------------------------------


def _name(text: str, what: str, limit: int) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise DomainError(f"Give the {what} a name.", field="name")
    if len(name) > limit:
        raise DomainError(f"A {what} name has at most {limit} characters.", field="name")
    return name


def _whole(value: int | None, field: str, low: int, high: int, words: str) -> int:
    if value is None or not low <= value <= high:
        raise DomainError(f"{words} is a whole number from {low} to {high}.", field=field)
    return value


def save_category(
    session: Session,
    category: SessionCategory | None,
    *,
    name: str,
    colour: str,
    location_type: str,
    location: Location | None,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    reminder_hours: int | None,
    link_lead_minutes: int,
    capacity: int,
    families_may_join: bool,
) -> SessionCategory:
    """Create a category, or change one; sessions already made keep their category and
    show its new colour and place."""
    name = _name(name, "category", 80)
    taken = select(SessionCategory.id).where(func.lower(SessionCategory.name) == name.lower())
    if category is not None:
        taken = taken.where(SessionCategory.id != category.id)
    if session.scalar(taken) is not None:
        raise DomainError("Another category already has that name.", field="name")
    colour = check_category_colour(colour)
    try:
        kind = LocationType(location_type)
    except ValueError:
        raise DomainError("Choose where the sessions take place.", field="location_type") from None
    if (
        location is not None
        and not location.active
        and (category is None or category.location_id != location.id)
    ):
        raise DomainError(f"{location.name} is no longer in use.", field="location")
    if kind is not LocationType.CENTER:
        location = None  # only Center sessions take place at one of the business's locations
    values = dict(
        name=name,
        colour=colour,
        location_type=kind.value,
        location=location,
        buffer_before_minutes=_whole(
            buffer_before_minutes, "buffer_before_minutes", 0, MAX_BUFFER_MINUTES, "A buffer"
        ),
        buffer_after_minutes=_whole(
            buffer_after_minutes, "buffer_after_minutes", 0, MAX_BUFFER_MINUTES, "A buffer"
        ),
        reminder_hours=None
        if reminder_hours is None
        else _whole(reminder_hours, "reminder_hours", 0, MAX_REMINDER_HOURS, "The reminder time"),
        link_lead_minutes=_whole(
            link_lead_minutes, "link_lead_minutes", 0, MAX_LINK_LEAD_MINUTES, "The link's lead time"
        ),
        capacity=_whole(capacity, "capacity", 1, MAX_CAPACITY, "Capacity"),
        families_may_join=bool(families_may_join),
    )
    if category is None:
        category = SessionCategory(**values)
        session.add(category)
    else:
        for key, value in values.items():
            setattr(category, key, value)
    session.flush()
    return category


def set_category_active(session: Session, category: SessionCategory, active: bool) -> None:
    """Turn a category off (new sessions cannot choose it; existing ones keep it) or on.
    The last active category stays: every new session needs one."""
    if not active and category.active:
        others = session.scalar(
            select(func.count(SessionCategory.id)).where(
                SessionCategory.active, SessionCategory.id != category.id
            )
        )
        if not others:
            raise DomainError(
                f"{category.name} is your only active category; add or turn on another first.",
                field="category",
            )
    category.active = active
    session.flush()


def save_location(
    session: Session, location: Location | None, *, name: str, address: str
) -> Location:
    """Create or change one of the business's locations."""
    name = _name(name, "location", 120)
    address = " ".join((address or "").split())
    if not address:
        raise DomainError("Give the location's address.", field="address")
    if len(address) > 300:
        raise DomainError("An address has at most 300 characters.", field="address")
    taken = select(Location.id).where(func.lower(Location.name) == name.lower())
    if location is not None:
        taken = taken.where(Location.id != location.id)
    if session.scalar(taken) is not None:
        raise DomainError("Another location already has that name.", field="name")
    if location is None:
        location = Location(name=name, address=address)
        session.add(location)
    else:
        location.name, location.address = name, address
    session.flush()
    return location


def set_location_active(session: Session, location: Location, active: bool) -> None:
    """Retire a location (or bring it back). An active category of Center sessions that
    holds it keeps it until the admin moves it: a session needs to say where it is."""
    if not active:
        user = session.scalar(
            select(SessionCategory.name).where(
                SessionCategory.active, SessionCategory.location_id == location.id
            )
        )
        if user is not None:
            raise DomainError(
                f"The category {user} takes place at {location.name}; choose another "
                "location for it first.",
                field="location",
            )
    location.active = active
    session.flush()


def save_subject(
    session: Session, subject: Subject | None, *, name: str, category: SessionCategory
) -> Subject:
    """Create or change a subject (a name under one category)."""
    name = _name(name, "subject", 80)
    taken = select(Subject.id).where(
        Subject.category_id == category.id, func.lower(Subject.name) == name.lower()
    )
    if subject is not None:
        taken = taken.where(Subject.id != subject.id)
    if session.scalar(taken) is not None:
        raise DomainError(f"{category.name} already has a subject of that name.", field="name")
    if subject is None:
        subject = Subject(name=name, category=category)
        session.add(subject)
    else:
        subject.name, subject.category = name, category
    session.flush()
    return subject


def set_subject_active(session: Session, subject: Subject, active: bool) -> None:
    """Retire a subject (new sessions cannot choose it; existing ones keep it) or bring it back."""
    subject.active = active
    session.flush()


def subjects_of(session: Session, staff: User) -> list[Subject]:
    """The subjects a staff member teaches, by category then name."""
    return list(
        session.scalars(
            select(Subject)
            .join(StaffSubject, StaffSubject.subject_id == Subject.id)
            .join(Subject.category)
            .where(StaffSubject.user_id == staff.id)
            .order_by(SessionCategory.name, Subject.name)
        )
    )


def set_staff_subjects(session: Session, staff: User, subject_ids: Iterable[int]) -> None:
    """The subjects a staff member teaches (Staff → Edit); unknown ids are refused."""
    if staff.role not in STAFF_ROLES:
        raise DomainError("Only staff teach subjects.", field="subjects")
    wanted = set(subject_ids)
    known = set(session.scalars(select(Subject.id).where(Subject.id.in_(wanted))))
    if known != wanted:
        raise DomainError("Choose subjects from the list.", field="subjects")
    rows = list(session.scalars(select(StaffSubject).where(StaffSubject.user_id == staff.id)))
    for row in rows:
        if row.subject_id not in wanted:
            session.delete(row)
    have = {row.subject_id for row in rows}
    for subject_id in sorted(wanted - have):
        session.add(StaffSubject(user_id=staff.id, subject_id=subject_id))
    session.flush()


def check_meeting_link(text: str | None) -> str | None:
    """A meeting link people can open (http or https, no spaces), or None when empty."""
    link = (text or "").strip()
    if not link:
        return None
    if (
        not link.lower().startswith(("https://", "http://"))
        or any(c.isspace() for c in link)
        or len(link) > 500
        or len(link) <= len("https://")
    ):
        raise DomainError(
            "Paste the whole meeting link, starting with https://.", field="meeting_link"
        )
    return link


def update_staff_teaching(
    session: Session, staff: User, *, subject_ids: Iterable[int], default_meeting_link: str | None
) -> None:
    """Staff → Edit: the subjects the staff member teaches and their default meeting link."""
    try:
        staff.default_meeting_link = check_meeting_link(default_meeting_link)
    except DomainError as exc:
        raise DomainError(exc.message, field="default_meeting_link") from None
    set_staff_subjects(session, staff, subject_ids)


def set_session_place(
    session: Session,
    actor: User,
    ts: TutoringSession,
    *,
    custom_address: str | None,
    meeting_link: str | None,
    now: datetime,
) -> None:
    """The session's own address (Custom Address) or meeting link (Virtual Meeting), set
    by its staff member or an admin while the session may still be moved."""
    check(ts, actor, Action.RESCHEDULE, now)  # its staff member or an admin, still to come
    address = " ".join((custom_address or "").split()) or None
    if address is not None and len(address) > 300:
        raise DomainError("An address has at most 300 characters.", field="custom_address")
    ts.custom_address = address
    ts.meeting_link = check_meeting_link(meeting_link)
    ts.ical_sequence += 1
    session.flush()
