"""Session categories, the business's locations, and subjects (design §11).

A category says what kind of session it is and where it happens (its location type); a
subject (SAT, Algebra II …) belongs to one category, and staff list the subjects they
teach. Every session has a category; a business starts with one ("Session") so nothing
changes for it until it adds more. `capacity` and `families_may_join` are kept for group
sessions (a later part of issue 14); today a session holds one student.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.people import User
from prepbase.tenancy import TenantScoped


class LocationType(StrEnum):
    """Where a category's sessions take place."""

    STUDENT_ADDRESS = "student_address"
    CUSTOM_ADDRESS = "custom_address"
    CENTER = "center"
    VIRTUAL = "virtual"

    @property
    def label(self) -> str:
        return LOCATION_TYPE_LABELS[self]


LOCATION_TYPE_LABELS = {
    LocationType.STUDENT_ADDRESS: "Student Address",
    LocationType.CUSTOM_ADDRESS: "Custom Address",
    LocationType.CENTER: "Center",
    LocationType.VIRTUAL: "Virtual Meeting",
}

# The category every business starts with (sign-up, the demo, and migration 0009 for
# businesses that existed before categories).
DEFAULT_CATEGORY_NAME = "Session"
DEFAULT_CATEGORY_COLOUR = "#1d4ed8"
DEFAULT_LINK_LEAD_MINUTES = 30
# The longest buffer a category may keep (Settings refuses more); overlap queries widen
# their window by it.
MAX_BUFFER_MINUTES = 240

Buffers = tuple[int, int]  # minutes kept free (before, after) a session
NO_BUFFERS: Buffers = (0, 0)


def buffers_clash(
    start: datetime,
    end: datetime,
    buffers: Buffers,
    other_start: datetime,
    other_end: datetime,
    other_buffers: Buffers,
) -> bool:
    """Two sessions of one staff member are too close (design §11): either overlaps the
    other's time together with the other's buffers. Buffers may touch each other: the
    gap between two sessions must be the larger of the two buffers that face it, not
    their sum."""
    before, after = (timedelta(minutes=m) for m in buffers)
    other_before, other_after = (timedelta(minutes=m) for m in other_buffers)
    return (start - before < other_end and end + after > other_start) or (
        start < other_end + other_after and end > other_start - other_before
    )


class Location(TenantScoped, Base):
    """A place of the business (a center, a library room) where Center sessions happen."""

    __tablename__ = "location"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SessionCategory(TenantScoped, Base):
    """What kind of session, shown in its colour, and where it takes place."""

    __tablename__ = "session_category"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers_not_negative"
        ),
        CheckConstraint("link_lead_minutes >= 0", name="link_lead_not_negative"),
        CheckConstraint(
            "reminder_hours IS NULL OR reminder_hours >= 0", name="reminder_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    colour: Mapped[str] = mapped_column(String(7))  # "#rrggbb", white text must read on it
    location_type: Mapped[str] = mapped_column(String(20))
    # Center sessions: where (optional for the other types: a fixed place they name).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    # Time kept free around each session of the category (open slots, overlap checks).
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Overrides the business's reminder time (Settings → Scheduling); None = the default.
    reminder_hours: Mapped[int | None] = mapped_column(Integer)
    # Virtual Meeting: the link is shown this long before the start.
    link_lead_minutes: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_LINK_LEAD_MINUTES, server_default=str(DEFAULT_LINK_LEAD_MINUTES)
    )
    # Group sessions (not built yet): seats per session, and whether families may add
    # their student to an open group session themselves.
    capacity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    families_may_join: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Its own Cancellation Policy (design §12, `prepbase.cancellation.policy_for`): a
    # notice window and a share kept by a late cancellation; None = the business's.
    late_cancel_window_hours: Mapped[int | None] = mapped_column(Integer)
    late_cancel_keep_percent: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    location: Mapped[Location | None] = relationship()
    subjects: Mapped[list[Subject]] = relationship(
        back_populates="category", order_by="Subject.name", viewonly=True
    )

    @property
    def location_type_label(self) -> str:
        return LocationType(self.location_type).label

    @property
    def is_virtual(self) -> bool:
        return self.location_type == LocationType.VIRTUAL

    @property
    def is_plain(self) -> bool:
        """The category a business starts with, as it started: pages show no chip for it,
        so nothing changes for a business that did not add categories."""
        return (
            self.name == DEFAULT_CATEGORY_NAME
            and self.location_type == LocationType.CENTER
            and self.location_id is None
        )

    @property
    def has_session_place(self) -> bool:
        """Each session has its own place: an address (Custom Address) or a link (Virtual)."""
        return self.location_type in (LocationType.CUSTOM_ADDRESS, LocationType.VIRTUAL)

    @property
    def buffers(self) -> Buffers:
        """Minutes kept free before and after each of its sessions."""
        return (self.buffer_before_minutes, self.buffer_after_minutes)


class Subject(TenantScoped, Base):
    """What a session is about (Test Prep → SAT); staff list the subjects they teach."""

    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("category_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    category_id: Mapped[int] = mapped_column(ForeignKey("session_category.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[SessionCategory] = relationship(back_populates="subjects")


class StaffSubject(TenantScoped, Base):
    """A subject a staff member teaches (the staff ↔ subject association)."""

    __tablename__ = "staff_subject"
    __table_args__ = (UniqueConstraint("user_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subject.id", ondelete="CASCADE"), index=True
    )

    user: Mapped[User] = relationship()
    subject: Mapped[Subject] = relationship()


def starter_category() -> SessionCategory:
    """The one category a new business starts with: nothing changes until it adds more."""
    return SessionCategory(
        name=DEFAULT_CATEGORY_NAME,
        colour=DEFAULT_CATEGORY_COLOUR,
        location_type=LocationType.CENTER,
    )
