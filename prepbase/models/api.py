"""API keys and the idempotency records of the REST API (`prepbase.api`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.people import User
from prepbase.tenancy import TenantScoped


class ApiScope:
    READ = "read"
    READ_WRITE = "read_write"

    LABELS = {READ: "Read only", READ_WRITE: "Read and write"}


class ApiKey(TenantScoped, Base):
    """A business's key to its REST API. Only the SHA-256 of the token is stored: the
    token is 32 random bytes, so a fast hash cannot be searched backwards (a slow,
    salted password hash would only make every API request slower)."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, shown in Settings so an admin can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()

    @property
    def scope_label(self) -> str:
        return ApiScope.LABELS.get(self.scope, self.scope)

    @property
    def writes(self) -> bool:
        return self.scope == ApiScope.READ_WRITE


class IdempotencyRecord(TenantScoped, Base):
    """A POST sent with an `Idempotency-Key`: claimed in the transaction that does the
    work (the unique constraint lets one of two concurrent copies through), and the
    response it got, replayed to a retry of the same request."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_key.id", ondelete="CASCADE"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
