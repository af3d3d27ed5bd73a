"""Imports from a spreadsheet (`prepbase.importing`): one record per uploaded file."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.people import User
from prepbase.tenancy import TenantScoped


class ImportKind(StrEnum):
    FAMILIES = "families"
    STAFF = "staff"
    BALANCES = "balances"

    @property
    def label(self) -> str:
        return IMPORT_KIND_LABELS[self]


IMPORT_KIND_LABELS = {
    ImportKind.FAMILIES: "Families and students",
    ImportKind.STAFF: "Staff",
    ImportKind.BALANCES: "Opening balances",
}


class ImportStatus(StrEnum):
    # Uploaded and shown as a preview; nothing of it is written yet.
    PREVIEWED = "previewed"
    # Confirmed and written (once: the confirm moves it from PREVIEWED in one UPDATE).
    IMPORTED = "imported"


class ImportRun(TenantScoped, Base):
    """An uploaded file: kept as text between preview and confirm (server-side, never in
    the cookie), then the record of what it did — who, when, counts, refused rows."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.PREVIEWED)
    file_name: Mapped[str] = mapped_column(String(255))
    # The decoded file until it is imported; emptied then (the record keeps the counts
    # and the refused rows, not a second copy of everyone's details).
    file_text: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_refused: Mapped[int] = mapped_column(Integer, default=0)
    # The refused rows as a CSV (their cells and the reason), for the admin to fix.
    refused_csv: Mapped[str] = mapped_column(Text, default="")

    created_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return ImportKind(self.kind).label
