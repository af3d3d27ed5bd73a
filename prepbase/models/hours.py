"""Offerings, packages of hours, the append-only hours ledger, and sessions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.categories import SessionCategory, Subject
from prepbase.models.groups import SessionGroup
from prepbase.models.people import Student, User
from prepbase.models.series import SessionSeries
from prepbase.tenancy import TenantScoped


class PackageType(StrEnum):
    ONE_TIME = "one_time"
    RECURRING = "recurring"

    @property
    def label(self) -> str:
        return "One-Time" if self is PackageType.ONE_TIME else "Recurring"


class Period(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def label(self) -> str:
        return self.value.title()


class EntryKind(StrEnum):
    GRANT = "grant"
    DEBIT = "debit"
    REFUND = "refund"
    RENEWAL = "renewal"
    ADJUSTMENT = "adjustment"
    # A balance brought from the system a business used before (`prepbase.importing`):
    # the package's hours as that system had them, then what was already used there.
    OPENING_BALANCE = "opening_balance"
    USED_BEFORE_IMPORT = "used_before_import"
    # The hours a late family cancellation keeps (design §12): after the session's full
    # refund, this negative entry takes back the policy's share, linked to the session.
    LATE_CANCELLATION = "late_cancellation"
    # An admin gives a late-cancellation charge back, with a note (design §12). A kind of
    # its own rather than a REFUND with a note: a cancelled session already has a REFUND
    # (the cancellation's), and "was this charge waived?" must be a plain query.
    WAIVER = "waiver"
    # The unused hours taken back when an online purchase is refunded (all or part):
    # a kind of its own, linked from the refund row (`StripeRefund.ledger_entry_id`).
    REFUND_REMOVAL = "refund_removal"

    @property
    def label(self) -> str:
        if self is EntryKind.REFUND_REMOVAL:
            return "Refund of purchase"
        return self.value.replace("_", " ").capitalize()


class SessionStatus(StrEnum):
    PENDING = "pending"
    UPCOMING = "upcoming"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    # A series occurrence no package could pay for when it was booked or accepted: it
    # holds no hours and reserves no time (not in OPEN_STATUSES) until hours arrive
    # (`scheduling.fill_waiting`).
    WAITING = "waiting"

    @property
    def label(self) -> str:
        return "Waiting for hours" if self is SessionStatus.WAITING else self.value.title()


# A session still to happen (design §3): it holds its time on the calendar and may
# still be cancelled, moved or resized.
OPEN_STATUSES = (SessionStatus.PENDING, SessionStatus.UPCOMING)


class Attendance(StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"

    @property
    def label(self) -> str:
        return self.value.title()


class InactiveReason(StrEnum):
    PAUSED = "paused"
    EXPIRED = "expired"
    UNASSIGNED = "unassigned"

    @property
    def label(self) -> str:
        return self.value.title()


class Offering(TenantScoped, Base):
    """A package the business sells or assigns: its catalogue entry."""

    __tablename__ = "offering"
    __table_args__ = (
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    service: Mapped[str] = mapped_column(String(20))
    package_type: Mapped[str] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)
    rollover: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Price in the currency's minor units (cents): per package, or per period if Recurring.
    price_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="usd", server_default="usd")
    # "Families may buy online": offered under Buy Hours while online payments are on.
    sold_online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Hour extensions at Buy Hours (One-Time only): N extra hours within the bounds, at
    # `extension_price_minor` per hour, granted with the package in one ledger entry.
    allows_extensions: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    extension_min_hours: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_max_hours: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_price_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Package(TenantScoped, Base):
    """Hours assigned to one student. `remaining_minutes` always equals its ledger's sum."""

    __tablename__ = "package"
    __table_args__ = (
        CheckConstraint("remaining_minutes >= 0", name="remaining_not_negative"),
        CheckConstraint("total_minutes >= 0", name="total_not_negative"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        Index("ix_package_student_service", "student_id", "service", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    offering_id: Mapped[int | None] = mapped_column(ForeignKey("offering.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    service: Mapped[str] = mapped_column(String(20))
    package_type: Mapped[str] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(20))
    period_minutes: Mapped[int] = mapped_column(Integer)  # granted at start and each renewal
    rollover: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    inactive_reason: Mapped[str | None] = mapped_column(String(20))
    total_minutes: Mapped[int] = mapped_column(Integer, default=0)
    remaining_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # Start of the period whose hours were granted last (recurring packages).
    current_period_start: Mapped[date | None] = mapped_column(Date)
    renewals_stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # What the package costs (design §13); None when no price was recorded. Payments are
    # `PackagePayment` rows; `package_payments.payment_state` reads the two together.
    price_minor: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))

    student: Mapped[Student] = relationship()
    offering: Mapped[Offering | None] = relationship()
    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="package", order_by="LedgerEntry.id", viewonly=True
    )

    # --- when a package counts (design §2, §3 rule 5) -------------------------------------
    # Each rule below is a hybrid: `package.usable_on(day)` answers for one loaded package,
    # `Package.usable_on(day)` is the same rule as a SQL condition for queries. Only the
    # expiry test needs a SQL form of its own (SQL's NULL is not Python's None); the
    # others are one body for both, joined with `&` (not `and`) so that it builds SQL too.
    # The renewal job also switches expired packages off, as data hygiene; nothing that
    # shows or uses a package waits for it.

    @hybrid_method
    def not_expired_on(self, day: date) -> bool:
        """No expiry date, or one that is `day` or later (the package is valid through it)."""
        return self.expires_on is None or self.expires_on >= day

    @not_expired_on.expression  # in place, as `.inplace` would be (mypy misreads that one)
    @classmethod
    def _not_expired_on_sql(cls, day: date) -> ColumnElement[bool]:
        return or_(cls.expires_on.is_(None), cls.expires_on >= day)

    @hybrid_method
    def active_on(self, day: date) -> bool:
        """Active on `day` (the Status column, what the family sees): switched on and not
        past its expiry date. It may start later; see `usable_on`."""
        return self.active & self.not_expired_on(day)

    @hybrid_method
    def usable_on(self, day: date) -> bool:
        """Its hours can pay for a session on `day` (rule 5): active then, and started."""
        return self.active_on(day) & (self.start_date <= day)

    @hybrid_method
    def running_low(self, threshold_minutes: int) -> bool:
        """At or below the business's low-balance threshold (design §4): the family's
        banner and the admins' "running low" list."""
        return self.remaining_minutes <= threshold_minutes

    def inactive_reason_on(self, day: date) -> InactiveReason | None:
        """Why the package reads Inactive on `day`, or None while it is Active. Past its
        expiry date it is Expired at once, whether or not the renewal job has run."""
        if not self.not_expired_on(day):
            return InactiveReason.EXPIRED
        if not self.active:
            return InactiveReason(self.inactive_reason or InactiveReason.PAUSED)
        return None


class LedgerEntry(TenantScoped, Base):
    """One change to a package's hours. Entries are never changed or deleted."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        # A recurring package is renewed at most once per period, whoever runs it.
        UniqueConstraint("package_id", "renewal_period"),
        CheckConstraint("minutes <> 0", name="minutes_not_zero"),
        # A package's entries of the last days, and the one before them, without reading
        # its older history (the balance charts' window, prepbase.reports).
        Index("ix_ledger_entry_package_time", "package_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("tutoring_session.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    balance_after: Mapped[int] = mapped_column(Integer)
    renewal_period: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    package: Mapped[Package] = relationship(back_populates="entries")
    session: Mapped[TutoringSession | None] = relationship()
    actor: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        """The kind as people read it ("Late cancellation")."""
        return EntryKind(self.kind).label


class PackageEdit(TenantScoped, Base):
    """One correction of a package's details by an admin (name, start date, expiry date):
    who, when, which field, before and after. Hours are never edited here (the ledger)."""

    __tablename__ = "package_edit"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    field: Mapped[str] = mapped_column(String(40))
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()

    FIELD_LABELS = {"name": "Name", "start_date": "Start Date", "expires_on": "Expiry date"}

    @property
    def field_label(self) -> str:
        """The field as the package page names it."""
        return self.FIELD_LABELS.get(self.field, self.field)

    def value(self, text: str) -> str | date | None:
        """A stored before/after as what it is: a day for the date fields (None: no date)."""
        if self.field == "name":
            return text
        return date.fromisoformat(text) if text else None


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _ledger_is_append_only(_mapper: object, _connection: object, entry: LedgerEntry) -> None:
    raise RuntimeError(f"ledger entry {entry.id} is append-only")


class TutoringSession(TenantScoped, Base):
    """A tutoring or counseling session, and the hours it holds."""

    __tablename__ = "tutoring_session"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("charged_minutes >= 0", name="charged_not_negative"),
        Index("ix_tutoring_session_staff_time", "staff_id", "starts_at"),
        Index("ix_tutoring_session_student_time", "student_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    service: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    booked_by_family: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    package_id: Mapped[int | None] = mapped_column(ForeignKey("package.id"), index=True)
    charged_minutes: Mapped[int] = mapped_column(Integer, default=0)
    attendance: Mapped[str | None] = mapped_column(String(20))
    attendance_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    plan_topics: Mapped[str | None] = mapped_column(Text)
    plan_goals: Mapped[str | None] = mapped_column(Text)
    plan_next_steps: Mapped[str | None] = mapped_column(Text)
    plan_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # A late cancellation under the business's policy (design §12, `prepbase.cancellation`):
    # the family's inside the window, or staff's who chose "apply the policy". Counted for
    # the free monthly allowance and in the reports, whatever the cancellation kept.
    cancelled_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why a proposal was declined when the family did not do it ("expired", design §12).
    declined_reason: Mapped[str | None] = mapped_column(String(20))
    # Set when `flask prepbase expire` claims the halfway reminder of a proposal (once).
    proposal_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when `flask prepbase remind` claims the reminder (once per start time).
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A weekly series' occurrence: which series, and its number in it (1, 2, …).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("session_series.id"), index=True)
    series_position: Mapped[int | None] = mapped_column(Integer)
    # What kind of session and where (design §11): every session has a category.
    category_id: Mapped[int] = mapped_column(ForeignKey("session_category.id"), index=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    # Custom Address sessions: where; Virtual Meeting sessions: the link (the staff
    # member's default link when proposed or booked, editable per session).
    custom_address: Mapped[str | None] = mapped_column(String(300))
    meeting_link: Mapped[str | None] = mapped_column(String(500))
    # iCalendar SEQUENCE of the invitations sent for this session: bumped on each change.
    ical_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A participation in a group session (design §11, `prepbase.groups`), and the staff
    # member's note on this student in the group's action plan.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("session_group.id"), index=True)
    plan_note: Mapped[str | None] = mapped_column(Text)

    student: Mapped[Student] = relationship()
    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
    scheduled_by: Mapped[User | None] = relationship(foreign_keys=[scheduled_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    package: Mapped[Package | None] = relationship()
    series: Mapped[SessionSeries | None] = relationship()
    category: Mapped[SessionCategory] = relationship()
    subject: Mapped[Subject | None] = relationship()
    group: Mapped[SessionGroup | None] = relationship()

    @property
    def status_label(self) -> str:
        """The status as people read it ("Waiting for hours")."""
        return SessionStatus(self.status).label

    @property
    def series_label(self) -> str | None:
        """ "3 of 10 · every Tue" for an occurrence of a weekly series, else None."""
        series = self.series
        if series is None:
            return None
        return f"{self.series_position} of {series.occurrences} · {series.rhythm}"
