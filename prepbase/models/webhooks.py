"""Webhooks out (issue 19): the business's endpoints, the events written in the same
transaction as the change they report, and one delivery per event and endpoint."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.tenancy import TenantScoped


class EventType(StrEnum):
    """The events a business's endpoints may subscribe to (README, Webhooks)."""

    SESSION_BOOKED = "session.booked"
    SESSION_PROPOSED = "session.proposed"
    SESSION_ACCEPTED = "session.accepted"
    SESSION_CANCELLED = "session.cancelled"
    SESSION_COMPLETED = "session.completed"
    PACKAGE_CREATED = "package.created"
    PACKAGE_LOW_BALANCE = "package.low_balance"
    PACKAGE_DEPLETED = "package.depleted"
    HOURS_REFUNDED = "hours.refunded"
    PURCHASE_PAID = "purchase.paid"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed; an admin may resend it


class WebhookEndpoint(TenantScoped, Base):
    """A URL of the business's that receives signed events (Settings → Webhooks)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The event types it receives, space-separated; "*" = every type, new ones included.
    event_types: Mapped[str] = mapped_column(Text, default="*", server_default="*")
    # `whsec_<base64>` (Standard Webhooks): the receiver verifies signatures with it.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Why it is off: an admin turned it off, or it kept failing (`webhooks.delivery`).
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Failed attempts since its last success, and when the first of them was.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def subscribes_to(self, event_type: str) -> bool:
        types = self.event_types.split()
        return "*" in types or event_type in types


class WebhookEvent(TenantScoped, Base):
    """One change, as the JSON body every endpoint receives (the same bytes on a retry)."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The `webhook-id` header: receivers dedupe on it (a retry or a resend reuses it).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    # The whole body, {"type", "timestamp", "data"}, as sent.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(TenantScoped, Base):
    """One event for one endpoint: tried until the endpoint answers 2xx, backing off."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint_log", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    # A worker holds it until then; a worker that died lets it go when the time passes.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[WebhookEvent] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
