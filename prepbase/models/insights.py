"""Calendar feeds, and the indexes the reports read by time.

The indexes are declared here, next to the feature that needs them, so that the models of
hours (prepbase/models/hours.py) stay as they are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.hours import LedgerEntry, TutoringSession
from prepbase.models.people import User
from prepbase.tenancy import TenantScoped


class CalendarFeed(TenantScoped, Base):
    """A secret calendar (iCalendar) address of one person: a staff member's sessions, or
    what a parent or student sees in the family portal.

    Only a SHA-256 hash of the token is kept; the address is shown once, when it is made.
    A person has at most one live feed: making a new one revokes the old.
    """

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


# Reports bucket ledger entries and sessions of one business by time.
Index("ix_ledger_entry_tenant_created", LedgerEntry.tenant_id, LedgerEntry.created_at)
Index("ix_tutoring_session_tenant_starts", TutoringSession.tenant_id, TutoringSession.starts_at)
