"""Group sessions (design §11): one time, one staff member, several students.

A group holds no hours and no status of its own. Each participating student has a
participation: an ordinary `TutoringSession` row (its own status, package, charged
minutes, attendance and ledger entries) linked by `group_id`. A one-to-one session is a
session without a group (a group of one), so every rule and page of a single session
applies to each participation unchanged. What the group adds is what its students share:
the seats (the category's capacity), whether families may join it, and the one action
plan of the session (each participation keeps a note of its own for its family).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.people import User
from prepbase.tenancy import TenantScoped


class SessionGroup(TenantScoped, Base):
    """The shared part of a group session; its participations point here."""

    __tablename__ = "session_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The one action plan of the session (rule 4), copied to each participation with
    # that student's own note when submitted, so each family reads it on its own page.
    plan_topics: Mapped[str | None] = mapped_column(Text)
    plan_goals: Mapped[str | None] = mapped_column(Text)
    plan_next_steps: Mapped[str | None] = mapped_column(Text)
    plan_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()
