"""Online purchases through Stripe Checkout, the log of Stripe events acted upon, and the
money paid for each package (every method, online or not) with its receipt number."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.models.hours import Offering, Package
from prepbase.models.people import Student, User
from prepbase.models.tenant import Tenant
from prepbase.tenancy import TenantScoped


class PurchaseStatus(StrEnum):
    PENDING = "pending"  # Checkout opened; no verified payment yet
    PAID = "paid"  # a verified Stripe event (or the retrieved session) says paid
    FAILED = "failed"  # Checkout could not open, or the bank refused a delayed payment
    CANCELLED = "cancelled"  # the family left Checkout, or the session expired

    @property
    def label(self) -> str:
        return self.value.title()


class PromoKind(StrEnum):
    PERCENT = "percent"  # value: whole percent, 1-100
    FIXED = "fixed"  # value: minor units off the total

    @property
    def label(self) -> str:
        return {"percent": "Percentage", "fixed": "Fixed amount"}[self.value]


promo_code_offering = Table(
    "promo_code_offering",
    Base.metadata,
    Column("promo_code_id", ForeignKey("promo_code.id", ondelete="CASCADE"), primary_key=True),
    Column("offering_id", ForeignKey("offering.id", ondelete="CASCADE"), primary_key=True),
)


class PromoCode(TenantScoped, Base):
    """A business's own discount code for Buy Hours (not a Stripe coupon): the Checkout
    line item is the discounted amount, and the limits are counted here."""

    __tablename__ = "promo_code"
    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        Index("uq_promo_code_tenant_code", "tenant_id", "code_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))  # as the admin typed it
    code_key: Mapped[str] = mapped_column(String(40))  # upper-cased: unique per business
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer)
    all_offerings: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_family: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    offerings: Mapped[list[Offering]] = relationship(secondary=promo_code_offering)


class Purchase(TenantScoped, Base):
    """A family's purchase of an offering for one student.

    The offering's terms and price are copied at the moment of buying: what the family
    paid for does not change when the offering is edited or archived later. A paid
    purchase becomes exactly one package (`package_id` is unique).
    """

    __tablename__ = "purchase"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("minutes > 0", name="minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offering.id"), index=True)
    # The offering's terms when it was bought.
    name: Mapped[str] = mapped_column(String(120))
    service: Mapped[str] = mapped_column(String(20))
    package_type: Mapped[str] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)
    rollover: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=PurchaseStatus.PENDING, index=True)
    failure_message: Mapped[str | None] = mapped_column(Text)
    # Stripe's ids (on the business's connected account).
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    checkout_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # A subscription's invoice Stripe could not collect: the package does not renew for
    # its period until an invoice is paid (which clears it). The family and admins are
    # told once per invoice (`payments.invoice_payment_failed`).
    payment_failed_invoice_id: Mapped[str | None] = mapped_column(String(255))
    # The subscription ends at the end of its current period (the family cancelled it).
    cancel_at_period_end: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Set once, when the purchase is fulfilled: one purchase, one package.
    package_id: Mapped[int | None] = mapped_column(ForeignKey("package.id"), unique=True)
    # Promo code and hour extension (prepbase/promotions.py): `amount_minor` is the total
    # after the discount; `minutes` includes `extra_minutes`.
    promo_code_id: Mapped[int | None] = mapped_column(ForeignKey("promo_code.id"), index=True)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    student: Mapped[Student] = relationship()
    offering: Mapped[Offering] = relationship()
    package: Mapped[Package | None] = relationship()
    promo_code: Mapped[PromoCode | None] = relationship()

    @property
    def status_label(self) -> str:
        return PurchaseStatus(self.status).label

    @property
    def stripe_payment_id(self) -> str | None:
        """The payment intent (One-Time) or subscription (Recurring) behind the purchase."""
        return self.subscription_id or self.payment_intent_id


class StripeEvent(Base):
    """Every verified Stripe event, recorded once by Stripe's own event id.

    Not tenant-scoped on purpose: the row is written before (and even without) finding
    the business — events for unknown accounts are recorded too — and Stripe's event ids
    are unique across all accounts, so the unique constraint must span every business.
    `tenant_id` still names the business when known, and goes away with it.
    """

    __tablename__ = "stripe_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tenant: Mapped[Tenant | None] = relationship()


class PaymentMethod(StrEnum):
    """How a package was paid for; `stripe` is only ever recorded from a Stripe event."""

    CASH = "cash"
    CHEQUE = "cheque"
    BANK_TRANSFER = "bank_transfer"
    CARD_OUTSIDE = "card_outside"
    OTHER = "other"
    STRIPE = "stripe"

    @property
    def label(self) -> str:
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    PaymentMethod.CASH: "Cash",
    PaymentMethod.CHEQUE: "Cheque",
    PaymentMethod.BANK_TRANSFER: "Bank transfer",
    PaymentMethod.CARD_OUTSIDE: "Card (outside PrepBase)",
    PaymentMethod.OTHER: "Other",
    PaymentMethod.STRIPE: "Online (Stripe)",
}


class PackagePayment(TenantScoped, Base):
    """Money received for a package, with the receipt number the family is given.

    Never deleted: a mistaken payment is voided (who, when, why) and stops counting.
    `receipt_number` comes from the business's counter (`Tenant.last_receipt_number`), so
    receipts are numbered 1, 2, 3 … per business with no duplicate. A Stripe payment
    names what it came from: the purchase (first payment) or the renewal invoice; both
    are unique, so a replayed event cannot record it twice.
    """

    __tablename__ = "package_payment"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("tenant_id", "receipt_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))
    paid_on: Mapped[date] = mapped_column(Date, index=True)  # the business's day
    reference: Mapped[str | None] = mapped_column(String(120))
    receipt_number: Mapped[int] = mapped_column(Integer)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"), unique=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    void_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    package: Mapped[Package] = relationship()
    purchase: Mapped[Purchase | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])

    @property
    def method_label(self) -> str:
        return PaymentMethod(self.method).label

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


class StripeRefund(TenantScoped, Base):
    """Money given back for an online purchase, once per Stripe refund id.

    Made from PrepBase (the admin's Refund) or in the Stripe Dashboard (its event): the
    unique `stripe_refund_id` makes either path, replays and concurrent deliveries apply
    it once. `minutes_due` is the refunded share of the purchase's hours; `minutes_removed`
    what the package still had unused to give back (never more than its balance).
    """

    __tablename__ = "stripe_refund"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("minutes_removed >= 0", name="minutes_removed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    stripe_refund_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    minutes_due: Mapped[int] = mapped_column(Integer)
    minutes_removed: Mapped[int] = mapped_column(Integer)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    purchase: Mapped[Purchase] = relationship()
    package: Mapped[Package] = relationship()
    refunded_by: Mapped[User | None] = relationship()
