"""Weekly series (design §10): the rule that made a run of ordinary sessions.

A series holds no hours and no status of its own. Each of its occurrences is an ordinary
`TutoringSession` (its own status, package and ledger entries) linked by `series_id`,
numbered by `series_position`; the series only remembers the rule, so pages can say
"3 of 10 · every Tue" and "this and following" knows what follows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.categories import SessionCategory, Subject
from prepbase.models.people import Student, User
from prepbase.tenancy import TenantScoped

WEEKDAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_EVERY_WEEKS = 4


def weekday_mask(weekdays: set[int] | frozenset[int] | list[int]) -> int:
    """Weekdays (0 = Monday, as `date.weekday()`) as the stored bit mask."""
    return sum(1 << day for day in set(weekdays))


def weekdays_of(mask: int) -> list[int]:
    """The weekdays of a stored bit mask, Monday first."""
    return [day for day in range(7) if mask & (1 << day)]


def rhythm_text(every_weeks: int, mask: int) -> str:
    """ "every Tue", "every Tue and Thu", "every 2 weeks on Mon, Wed and Fri"."""
    names = [WEEKDAY_ABBREVIATIONS[day] for day in weekdays_of(mask)]
    days = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"every {days}" if every_weeks == 1 else f"every {every_weeks} weeks on {days}"


class SessionSeries(TenantScoped, Base):
    """Every `every_weeks` weeks on `weekdays`, at `start_minute` of the business's wall
    clock, from `first_day` until `until` or for `count` sessions (at most a year)."""

    __tablename__ = "session_series"
    __table_args__ = (
        CheckConstraint("every_weeks >= 1 AND every_weeks <= 4", name="every_weeks_valid"),
        CheckConstraint("weekdays > 0 AND weekdays < 128", name="weekdays_valid"),
        CheckConstraint("start_minute >= 0 AND start_minute < 1440", name="start_minute_valid"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("occurrences >= 0", name="occurrences_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    service: Mapped[str] = mapped_column(String(20))
    every_weeks: Mapped[int] = mapped_column(Integer)
    weekdays: Mapped[int] = mapped_column(Integer)  # bit mask, `weekday_mask`
    start_minute: Mapped[int] = mapped_column(Integer)  # wall clock, minutes after midnight
    duration_minutes: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    # The sessions the series is made of (the "of 10"); "this and following" moved to a
    # new series of their own take theirs with them.
    occurrences: Mapped[int] = mapped_column(Integer, default=0)
    booked_by_family: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Every occurrence is of this category and subject.
    category_id: Mapped[int] = mapped_column(ForeignKey("session_category.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"))

    student: Mapped[Student] = relationship()
    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
    category: Mapped[SessionCategory] = relationship()
    subject: Mapped[Subject | None] = relationship()

    @property
    def rhythm(self) -> str:
        """ "every Tue" (see `rhythm_text`)."""
        return rhythm_text(self.every_weeks, self.weekdays)
