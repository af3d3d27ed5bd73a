"""One-time links (invitations, password resets) and the e-mail outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.people import User
from prepbase.tenancy import TenantScoped


class AuthToken(TenantScoped, Base):
    """A single-use link; only the SHA-256 of the secret is stored."""

    __tablename__ = "auth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))  # "invite" or "reset"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class OutboundEmail(TenantScoped, Base):
    """A message written in the same transaction as the change it reports.

    It is sent after the commit; what fails is tried again later (`next_attempt_at`,
    backing off) until `prepbase.mail.outbox.MAX_ATTEMPTS`, then it is `failed` and shows
    under Settings → E-mail, where an admin can resend it.
    """

    __tablename__ = "outbound_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # the plain-text part
    html_body: Mapped[str | None] = mapped_column(Text)  # the HTML alternative, if any
    ical: Mapped[str | None] = mapped_column(Text)  # a calendar invitation to attach, if any
    # The Message-ID header, chosen when queued: a retry is the same message.
    message_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A pending message is not tried before this (None: at once); set after a failure.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a sender claimed it; a claim older than STALE_CLAIM is a sender that died.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
