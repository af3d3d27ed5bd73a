"""When staff work: weekly working hours and time off, in the business's time zone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.people import User
from prepbase.tenancy import TenantScoped

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUTES_PER_DAY = 24 * 60


class WorkingHours(TenantScoped, Base):
    """One range of a staff member's week, e.g. Monday 9:00–12:00 (wall-clock, local).

    Minutes since local midnight (0–1440, so a range may end at 24:00); a day may have
    several ranges, which never overlap (`availability.set_weekly_hours` refuses it).
    """

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_valid"),
        CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
            name="range_valid",
        ),
        Index("ix_working_hours_staff_day", "staff_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday, as date.weekday()
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)

    staff: Mapped[User] = relationship(back_populates="working_hours")


class TimeOff(TenantScoped, Base):
    """A stretch when a staff member cannot be booked: whole days or part of a day.

    Stored as wall-clock times of the business (naive; end exclusive), so "all of
    Friday" stays all of Friday whatever the clocks do.
    """

    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint("ends_local > starts_local", name="ends_after_start"),
        Index("ix_time_off_staff_end", "staff_id", "ends_local"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    starts_local: Mapped[datetime] = mapped_column(DateTime())
    ends_local: Mapped[datetime] = mapped_column(DateTime())
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    staff: Mapped[User] = relationship(back_populates="time_off")

    @property
    def whole_days(self) -> bool:
        return self.starts_local.time() == self.ends_local.time() == datetime.min.time()
