"""The business (tenant) itself: the only table that is not tenant-scoped besides its children."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from prepbase.models.base import Base, UTCDateTime, utcnow


class Tenant(Base):
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # How families reach the business (Settings): shown wherever they are told to contact
    # it, and the Reply-To of every e-mail. Sign-up starts with the owner's e-mail.
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    # Families and admins are told when a package falls to this many minutes or fewer.
    low_balance_minutes: Mapped[int] = mapped_column(Integer, default=120, server_default="120")
    # Self-service booking (prepbase.availability): how soon, how far ahead, on what grid.
    booking_notice_minutes: Mapped[int] = mapped_column(
        Integer, default=24 * 60, server_default="1440"
    )
    booking_horizon_days: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    slot_step_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # E-mail reminders this many hours before a session; 0 = off (prepbase.mail.sessions).
    reminder_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Online payments (design §5): prices are in this currency (ISO code, lower case).
    currency: Mapped[str] = mapped_column(String(3), default="usd", server_default="usd")
    # The business's own Stripe account (Connect); charges go straight to it.
    stripe_account_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Kept in step by the return from onboarding and by `account.updated` events.
    stripe_charges_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Set when the business disconnects Stripe (Settings → Online Payments): online
    # payments stay off and no Checkout completes into a package; the account id is kept
    # so refunds and subscription events of past purchases still find the business.
    stripe_disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The admin's switch; Buy Hours shows only while it is on *and* Stripe takes charges.
    online_payments: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Cancellation Policy (design §12, `prepbase.cancellation`). The defaults are today's
    # behaviour: a late cancellation costs nothing, a no-show uses the hours.
    # A family cancellation less than this many hours before the start is "late".
    late_cancel_window_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # The share of the session's hours a late family cancellation keeps: 0 = none,
    # 100 = all, anything between a percentage (rounded to whole minutes, half up).
    late_cancel_keep_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Free late cancellations per student per calendar month (the business's); None = none.
    late_cancel_free_per_month: Mapped[int | None] = mapped_column(Integer)
    # The business's own words about its policy, shown beside the computed cost.
    cancellation_policy_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # An absent student's session uses its hours (True, as before the policy existed).
    no_show_uses_hours: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # A proposal the family has not answered expires after this many hours; 0 = never.
    proposal_expiry_hours: Mapped[int] = mapped_column(Integer, default=72, server_default="72")
    # How money is written on its pages (Babel locale id, Settings): "$240.50", "240,50 €".
    locale: Mapped[str] = mapped_column(String(20), default="en_US", server_default="en_US")
    # The last receipt number given (`package_payments.next_receipt_number`).
    last_receipt_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The event types some active webhook endpoint receives, space-separated ("*": all);
    # kept by `prepbase.webhook_delivery.endpoints`, so that `webhooks.events.emit` costs a
    # business without endpoints no statement at all (the row is loaded every request).
    webhook_types: Mapped[str] = mapped_column(Text, default="", server_default="")

    @property
    def phone_uri(self) -> str | None:
        """The contact phone as a `tel:` link (digits and a leading +)."""
        if not self.contact_phone:
            return None
        digits = "".join(c for c in self.contact_phone if c.isdigit())
        return f"tel:{'+' if self.contact_phone.lstrip().startswith('+') else ''}{digits}"

    def how_to_reach(self) -> str:
        """The plain-text sentence that tells a family how to reach the business
        ("E-mail … or call …."), or "" while Settings has neither."""
        email, phone = self.contact_email, self.contact_phone
        if email and phone:
            return f"E-mail {email} or call {phone}."
        if email:
            return f"E-mail {email}."
        if phone:
            return f"Call {phone}."
        return ""

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"
