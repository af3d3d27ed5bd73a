"""Money beside the hours (design §13): a package's price, the payments recorded for it
(cash, cheque, bank transfer, card outside PrepBase, other, or online through Stripe),
voids, receipt numbers, and what a package and a family still owe.

The rules:

- An amount is money actually received: more than zero, typed in the package's currency
  (the business's when the package has none), at most `money.MAX_PRICE`.
- A payment is dated by the business's calendar day: not later than its today, not before
  the year 2000 (a typo guard).
- Receipt numbers run 1, 2, 3 … per business and never repeat: each comes from the
  business's counter in a conditional UPDATE … RETURNING, whose row lock makes
  concurrent payments wait for each other (PostgreSQL; SQLite's write transactions are
  serialized anyway).
- A payment is never deleted. Voiding needs a note, happens once (a conditional UPDATE:
  a double click voids once), and the voided payment stops counting.
- A package with a price is Unpaid, Part paid or Paid; a price of 0 is Free; a package
  without a price says "No price recorded". A family's balance is the prices of its
  students' priced packages minus what was paid for them: above zero it owes, below zero
  it has a credit.

Functions flush and never commit: the view (or the webhook) commits once per action.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.orm import Session, joinedload

from prepbase import money
from prepbase.errors import DomainError
from prepbase.localtime import business_today
from prepbase.models import (
    Package,
    PackagePayment,
    PaymentMethod,
    Student,
    Tenant,
    User,
    utcnow,
)
from prepbase.paging import Page, paginate

EARLIEST_PAYMENT = date(2000, 1, 1)
MAX_REFERENCE = 120
MAX_VOID_NOTE = 1000
# What an admin may record by hand; Stripe payments come only from Stripe's events.
MANUAL_METHODS = tuple(m for m in PaymentMethod if m is not PaymentMethod.STRIPE)


class PaymentState(StrEnum):
    NO_PRICE = "No price recorded"
    FREE = "Free"
    UNPAID = "Unpaid"
    PART_PAID = "Part paid"
    PAID = "Paid"

    @property
    def label(self) -> str:
        return self.value


def payment_state(price_minor: int | None, paid_minor: int) -> PaymentState:
    """Where a package stands, from its price and what was paid for it (voids excluded)."""
    if price_minor is None:
        return PaymentState.NO_PRICE
    if price_minor == 0:
        return PaymentState.FREE
    if paid_minor <= 0:
        return PaymentState.UNPAID
    if paid_minor < price_minor:
        return PaymentState.PART_PAID
    return PaymentState.PAID


@dataclass(frozen=True)
class PackageMoney:
    """A package's price, what was paid, and the difference, in its currency."""

    price_minor: int | None
    paid_minor: int
    currency: str

    @property
    def state(self) -> PaymentState:
        return payment_state(self.price_minor, self.paid_minor)

    @property
    def owing_minor(self) -> int:
        return max((self.price_minor or 0) - self.paid_minor, 0)


@dataclass(frozen=True)
class Balance:
    """A family's standing in one currency: it owes (`owing_minor` > 0), has a credit
    (`credit_minor` > 0), or is settled (both 0). Never a negative amount owed."""

    currency: str
    owing_minor: int
    credit_minor: int


def package_currency(tenant: Tenant, package: Package) -> str:
    """The currency a package is priced and paid in: its own, else the business's."""
    return package.currency or tenant.currency


def parse_amount(text: str | None, currency: str, *, field: str = "amount") -> int:
    """An amount received, typed as "240" or "240.50", in minor units; more than zero."""
    minor = money.parse_price(text, currency, field=field)
    if minor <= 0:
        raise DomainError("Enter the amount received: more than zero.", field=field)
    return minor


def check_paid_on(tenant: Tenant, paid_on: date | None, now: datetime | None = None) -> date:
    """The day a payment was received: the business's today or earlier, from 2000 on."""
    if paid_on is None:
        raise DomainError("Enter the day the payment was received.", field="paid_on")
    today = business_today(tenant, now)
    if paid_on > today:
        raise DomainError(
            "A payment cannot be dated in the future: use today or an earlier day.",
            field="paid_on",
        )
    if paid_on < EARLIEST_PAYMENT:
        raise DomainError("Use a day from the year 2000 on.", field="paid_on")
    return paid_on


def _clean_reference(reference: str | None) -> str | None:
    text = (reference or "").strip()
    if len(text) > MAX_REFERENCE:
        raise DomainError(
            f"Keep the reference to {MAX_REFERENCE} characters or fewer.", field="reference"
        )
    return text or None


def next_receipt_number(session: Session, tenant_id: int) -> int:
    """The business's next receipt number. The UPDATE locks the business's row until the
    transaction ends, so two payments recorded at once get different numbers."""
    return session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(last_receipt_number=Tenant.last_receipt_number + 1)
        .returning(Tenant.last_receipt_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def _add(
    session: Session,
    package: Package,
    *,
    amount_minor: int,
    currency: str,
    method: PaymentMethod,
    paid_on: date,
    reference: str | None,
    recorded_by: User | None,
    purchase_id: int | None = None,
    stripe_invoice_id: str | None = None,
) -> PackagePayment:
    payment = PackagePayment(
        package_id=package.id,
        amount_minor=amount_minor,
        currency=currency,
        method=method.value,
        paid_on=paid_on,
        reference=reference,
        receipt_number=next_receipt_number(session, package.tenant_id),
        recorded_by_id=recorded_by.id if recorded_by else None,
        purchase_id=purchase_id,
        stripe_invoice_id=stripe_invoice_id,
    )
    session.add(payment)
    session.flush()
    return payment


def set_price(tenant: Tenant, package: Package, price: str | None) -> None:
    """Record what the package costs ("" leaves it without a price; "0" makes it Free)."""
    currency = package_currency(tenant, package)
    if not (price or "").strip():
        package.price_minor, package.currency = None, None
        return
    package.price_minor = money.parse_price(price, currency, field="price")
    package.currency = currency


def record_payment(
    session: Session,
    tenant: Tenant,
    package: Package,
    actor: User,
    *,
    amount: str | None,
    method: str | None,
    paid_on: date | None,
    reference: str | None = None,
    now: datetime | None = None,
) -> PackagePayment:
    """Record payment: money received for `package` outside PrepBase's online
    payments; it gets the business's next receipt number."""
    try:
        chosen = PaymentMethod(method or "")
    except ValueError:
        chosen = None
    if chosen is None or chosen not in MANUAL_METHODS:
        raise DomainError("Choose how the payment was made.", field="method")
    currency = package_currency(tenant, package)
    amount_minor = parse_amount(amount, currency)
    day = check_paid_on(tenant, paid_on, now)
    return _add(
        session,
        package,
        amount_minor=amount_minor,
        currency=currency,
        method=chosen,
        paid_on=day,
        reference=_clean_reference(reference),
        recorded_by=actor,
    )


def price_new_package(
    session: Session,
    tenant: Tenant,
    package: Package,
    actor: User,
    *,
    price: str | None,
    payment: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> PackagePayment | None:
    """+ Add Package's money: the price and, if given, a first payment (the payment's
    refusals name its fields, so the whole package is refused with them)."""
    set_price(tenant, package, price)
    session.flush()
    if payment is None:
        return None
    return record_payment(session, tenant, package, actor, **payment, now=now)


def record_stripe_payment(
    session: Session,
    package: Package,
    *,
    amount_minor: int,
    currency: str,
    paid_on: date,
    purchase_id: int | None = None,
    stripe_invoice_id: str | None = None,
) -> PackagePayment | None:
    """The payment behind a paid purchase or renewal invoice; None if it is recorded
    already (the caller holds a lock that serializes the same event's deliveries, so a
    replay finds the first one's row here)."""
    if amount_minor <= 0:
        return None  # nothing was paid (a free period): no receipt
    source = (
        PackagePayment.purchase_id == purchase_id
        if purchase_id is not None
        else PackagePayment.stripe_invoice_id == stripe_invoice_id
    )
    if session.scalar(select(PackagePayment.id).where(source)) is not None:
        return None
    return _add(
        session,
        package,
        amount_minor=amount_minor,
        currency=currency.lower(),
        method=PaymentMethod.STRIPE,
        paid_on=paid_on,
        reference=stripe_invoice_id,
        recorded_by=None,
        purchase_id=purchase_id,
        stripe_invoice_id=stripe_invoice_id,
    )


def void_payment(session: Session, payment: PackagePayment, actor: User, note: str | None) -> bool:
    """Void a payment (it stops counting; its receipt says VOID). False if it was voided
    already, e.g. by the first of a double click: the conditional UPDATE voids once."""
    text = (note or "").strip()
    if not text:
        raise DomainError("Say why the payment is voided: the note is required.", field="note")
    if len(text) > MAX_VOID_NOTE:
        raise DomainError(f"Keep the note to {MAX_VOID_NOTE} characters or fewer.", field="note")
    updated = session.execute(
        update(PackagePayment)
        .where(PackagePayment.id == payment.id, PackagePayment.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=actor.id, void_note=text)
        .execution_options(synchronize_session=False)
    )
    moved = cast(CursorResult[Any], updated).rowcount
    session.refresh(payment)
    return moved == 1


# --- reading -------------------------------------------------------------------------------


def payments_of(session: Session, package: Package) -> list[PackagePayment]:
    """Every payment of a package, voided ones included, in the order received."""
    return list(
        session.scalars(
            select(PackagePayment)
            .where(PackagePayment.package_id == package.id)
            .order_by(PackagePayment.paid_on, PackagePayment.receipt_number)
        )
    )


def money_of(tenant: Tenant, package: Package, payments: Iterable[PackagePayment]) -> PackageMoney:
    """Price, paid and state of a package, from its payments already loaded
    (`payments_of`): the package page reads them anyway, so its standing costs no
    statement."""
    paid = sum(p.amount_minor for p in payments if not p.voided)
    return PackageMoney(package.price_minor, paid, package_currency(tenant, package))


def family_balances(
    session: Session, tenant: Tenant, family_ids: Sequence[int] | None = None
) -> dict[int, list[Balance]]:
    """Each family's balance per currency, over its students' priced packages (a package
    without a price counts neither its price nor its payments). Families with no priced
    package are left out. `family_ids=None`: every family of the business."""
    paid = (
        select(
            PackagePayment.package_id.label("package_id"),
            func.sum(PackagePayment.amount_minor).label("paid"),
        )
        .where(PackagePayment.voided_at.is_(None))
        .group_by(PackagePayment.package_id)
        .subquery()
    )
    stmt = (
        select(
            Student.family_id,
            Package.currency,
            func.sum(Package.price_minor),
            func.sum(func.coalesce(paid.c.paid, 0)),
        )
        .join(Student, Student.id == Package.student_id)
        .outerjoin(paid, paid.c.package_id == Package.id)
        .where(Package.price_minor.is_not(None))
        .group_by(Student.family_id, Package.currency)
    )
    if family_ids is not None:
        stmt = stmt.where(Student.family_id.in_(family_ids))
    nets: dict[tuple[int, str], int] = defaultdict(int)
    for family_id, currency, price, received in session.execute(stmt).all():
        nets[(family_id, currency or tenant.currency)] += int(price or 0) - int(received or 0)
    balances: dict[int, list[Balance]] = defaultdict(list)
    for (family_id, currency), net in sorted(nets.items()):
        balances[family_id].append(Balance(currency, max(net, 0), max(-net, 0)))
    return dict(balances)


@dataclass(frozen=True)
class PaymentFilters:
    """The Payments list's filters: received between two days (both included), by one
    method, for one family or one student."""

    paid_from: date | None = None
    paid_to: date | None = None
    method: str | None = None
    family_id: int | None = None
    student_id: int | None = None


def _filtered(filters: PaymentFilters) -> Select[PackagePayment]:
    stmt = (
        select(PackagePayment)
        .join(Package, Package.id == PackagePayment.package_id)
        .join(Student, Student.id == Package.student_id)
        .options(
            joinedload(PackagePayment.package)
            .joinedload(Package.student)
            .joinedload(Student.family),
            joinedload(PackagePayment.recorded_by),
        )
        .order_by(PackagePayment.paid_on.desc(), PackagePayment.receipt_number.desc())
    )
    if filters.paid_from is not None:
        stmt = stmt.where(PackagePayment.paid_on >= filters.paid_from)
    if filters.paid_to is not None:
        stmt = stmt.where(PackagePayment.paid_on <= filters.paid_to)
    if filters.method:
        stmt = stmt.where(PackagePayment.method == filters.method)
    if filters.family_id is not None:
        stmt = stmt.where(Student.family_id == filters.family_id)
    if filters.student_id is not None:
        stmt = stmt.where(Package.student_id == filters.student_id)
    return stmt


def filtered_payments(
    session: Session, filters: PaymentFilters, page: int, *, per_page: int | None = 50
) -> Page[PackagePayment]:
    """Admin → Payments: the business's payments (voided ones too), newest first.
    `per_page=None`: every row (the CSV)."""
    return paginate(session, _filtered(filters), page, per_page=per_page)


def family_payments(session: Session, student_ids: Sequence[int]) -> list[PackagePayment]:
    """A family's receipts: every payment for its students' packages, newest first."""
    if not student_ids:
        return []
    return list(
        session.scalars(_filtered(PaymentFilters()).where(Package.student_id.in_(student_ids)))
    )
