"""Online payments (design §5): connecting Stripe, buying an offering, and turning a
verified payment into exactly one package.

The rules:

- A purchase is *fulfilled* — its package assigned, with the grant in the ledger — only
  when Stripe says it is paid: a verified webhook event, or the Checkout Session retrieved
  from Stripe by the success page. Never from the browser's return alone.
- Fulfilment happens once per purchase, however many events arrive, in whatever order,
  at the same time or replayed: a conditional UPDATE claims the purchase (the database
  re-checks the condition on the locked row), and `purchase.package_id` is unique.
- A subscription's later paid invoices renew the package once per period
  (`packages.renew_package`); a cancelled subscription stops its renewals.

Functions flush and never commit; views and the webhook commit once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from prepbase import (
    business,
    package_payments,
    packages,
    promotions,
    scheduling,
    stripe_gateway,
)
from prepbase.errors import DomainError
from prepbase.hours import hours_phrase
from prepbase.localtime import local_date
from prepbase.models import (
    EventType,
    Offering,
    Package,
    PackageType,
    Period,
    Purchase,
    PurchaseStatus,
    Service,
    Student,
    Tenant,
    User,
    utcnow,
)
from prepbase.stripe_gateway import field
from prepbase.tenancy import get_scoped
from prepbase.webhooks.events import emit

log = logging.getLogger(__name__)

# Stripe accepts 30 minutes to 24 hours; an hour is enough to pay and short enough that
# a forgotten tab does not keep an old price open.
CHECKOUT_LIFETIME = timedelta(hours=1)
STRIPE_INTERVAL = {Period.WEEKLY: "week", Period.MONTHLY: "month"}


class CheckoutFailed(DomainError):
    """Stripe could not open Checkout; the purchase is kept, marked failed."""


class PaymentMismatch(Exception):
    """A Stripe object does not match our purchase (ids, amount): it is not acted upon."""


class RetryLater(Exception):
    """The event cannot be handled yet; Stripe should deliver it again later."""


def connect_stripe(session: Session, tenant: Tenant) -> None:
    """Create the business's connected Stripe account, once (connecting again after a
    disconnection takes the same account back)."""
    if tenant.stripe_account_id:
        if tenant.stripe_disconnected_at is not None:
            tenant.stripe_disconnected_at = None
            session.flush()
        return
    account = stripe_gateway.create_account(tenant)
    tenant.stripe_account_id = account.id
    tenant.stripe_charges_enabled = bool(field(account, "charges_enabled"))
    session.flush()


def disconnect_stripe(session: Session, tenant: Tenant, now: datetime | None = None) -> int:
    """Settings → Disconnect Stripe: online payments off, the business's open Checkout
    pages closed and their purchases cancelled; how many were cancelled.

    Offerings stay. The account id is kept (marked disconnected) so that refunds and
    subscription events of past purchases still find the business; a Checkout that
    completes anyway is refused by `settle_checkout`. Stripe is asked to expire each
    open Checkout Session; if it cannot, the refusal still holds.
    """
    now = now or utcnow()
    tenant.online_payments = False
    tenant.stripe_disconnected_at = now
    pending = list(
        session.scalars(select(Purchase).where(Purchase.status == PurchaseStatus.PENDING))
    )
    for purchase in pending:
        if purchase.checkout_session_id and tenant.stripe_account_id:
            try:
                stripe_gateway.expire_checkout_session(tenant, purchase.checkout_session_id)
            except stripe_gateway.StripeError as exc:
                log.warning("Expiring Checkout of purchase %s failed: %r", purchase.id, exc)
        cancel_purchase(session, purchase)
    session.flush()
    return len(pending)


def refresh_account(session: Session, tenant: Tenant, account: Any) -> str:
    """Take the connected account's charges status from Stripe's answer or event."""
    if field(account, "id") != tenant.stripe_account_id:
        return "ignored: not this business's account"
    tenant.stripe_charges_enabled = bool(field(account, "charges_enabled"))
    session.flush()
    return f"charges_enabled={tenant.stripe_charges_enabled}"


# --- Buy Hours ---------------------------------------------------------------------------


def is_purchasable(offering: Offering) -> bool:
    """An offering families may buy: for sale online, priced, not archived."""
    return bool(offering.sold_online and not offering.archived and offering.price_minor > 0)


def purchasable_offerings(session: Session) -> list[Offering]:
    """The business's offerings families may buy online, by name."""
    return list(
        session.scalars(
            select(Offering)
            .where(
                Offering.sold_online.is_(True),
                Offering.archived.is_(False),
                Offering.price_minor > 0,
            )
            .order_by(Offering.name, Offering.id)
        )
    )


def start_purchase(
    session: Session,
    tenant: Tenant,
    buyer: User,
    student: Student,
    offering: Offering,
    now: datetime | None = None,
    *,
    code: str | None = None,
    extra_hours: str | None = None,
) -> Purchase:
    """Buy Hours: a pending purchase of `offering` for `student` at today's price, with
    `extra_hours` and the promo `code` if given (prepbase/promotions.py).

    A second click while the first purchase's Checkout is still open returns that
    purchase: one purchase, one Checkout Session. The caller has checked that `buyer`
    may act for `student`.
    """
    now = now or utcnow()
    if not business.sells_online(tenant):
        raise DomainError(
            f"{tenant.name} is not selling hours online right now. "
            f"Contact {tenant.name} to buy more hours. {tenant.how_to_reach()}".rstrip()
        )
    if not is_purchasable(offering):
        raise DomainError(f"{offering.name} cannot be bought online.")
    # One buyer at a time: a double click waits here for the first request to finish,
    # then finds its purchase below (SQLite's BEGIN IMMEDIATE serializes anyway).
    session.execute(select(User.id).where(User.id == buyer.id).with_for_update())
    today = local_date(tenant, now)
    price_of = partial(
        promotions.price_purchase,
        session,
        tenant,
        student,
        offering,
        code=code,
        extra_hours=extra_hours,
        day=today,
    )
    # The family's own open purchase is one of the code's uses: found before the limits.
    price = price_of(check_limits=False)
    open_purchase = session.scalar(
        select(Purchase)
        .where(
            Purchase.user_id == buyer.id,
            Purchase.student_id == student.id,
            Purchase.offering_id == offering.id,
            Purchase.status == PurchaseStatus.PENDING,
            Purchase.checkout_url.is_not(None),
            Purchase.checkout_expires_at > now + timedelta(minutes=5),
            Purchase.amount_minor == price.total_minor,
            Purchase.currency == offering.currency,
            Purchase.minutes == offering.minutes + price.extra_minutes,
            Purchase.extra_minutes == price.extra_minutes,
            Purchase.promo_code_id.is_(None)
            if price.promo is None
            else Purchase.promo_code_id == price.promo.id,
        )
        .order_by(Purchase.id.desc())
        .limit(1)
    )
    if open_purchase is not None:
        return open_purchase
    # The code's row locked until the commit: its limits hold under concurrent buyers.
    price = price_of(lock=True)
    purchase = Purchase(
        user_id=buyer.id,
        student_id=student.id,
        offering_id=offering.id,
        **{**packages.package_terms(offering), "minutes": offering.minutes + price.extra_minutes},
        amount_minor=price.total_minor,
        promo_code_id=price.promo.id if price.promo else None,
        discount_minor=price.discount_minor,
        extra_minutes=price.extra_minutes,
        currency=offering.currency,
        status=PurchaseStatus.PENDING,
        created_at=now,
        checkout_expires_at=now + CHECKOUT_LIFETIME,
    )
    session.add(purchase)
    session.flush()
    return purchase


def _fee(amount_minor: int, percent: Decimal) -> int:
    return int((Decimal(amount_minor) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP))


def checkout_params(
    tenant: Tenant,
    purchase: Purchase,
    buyer: User,
    student: Student,
    *,
    success_url: str,
    cancel_url: str,
    fee_percent: Decimal = Decimal(0),
) -> dict[str, Any]:
    """What Stripe Checkout is asked for. Every value comes from our rows (the amount
    included), and every value is the same when asked again for the same purchase, as
    Stripe's idempotency keys require."""
    metadata = {
        "tenant_id": str(tenant.id),
        "purchase_id": str(purchase.id),
        "student_id": str(purchase.student_id),
        "offering_id": str(purchase.offering_id),
    }
    recurring = purchase.package_type == PackageType.RECURRING
    interval = ""
    if recurring:
        assert purchase.period is not None  # copied from its recurring offering
        interval = STRIPE_INTERVAL[Period(purchase.period)]
    hours = hours_phrase(purchase.minutes)
    price_data: dict[str, Any] = {
        "currency": purchase.currency,
        "unit_amount": purchase.amount_minor,
        "product_data": {
            "name": purchase.name,
            "description": " ".join(
                [f"{hours} of {Service(purchase.service).label}"]
                + ([f"every {interval}"] if recurring else [])
                + [f"for {student.full_name}"]
            ),
        },
    }
    params: dict[str, Any] = {
        "line_items": [{"quantity": 1, "price_data": price_data}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(purchase.id),
        "customer_email": buyer.email,
        "metadata": metadata,
        # Set with the purchase, before it goes to Checkout.
        "expires_at": int(purchase.checkout_expires_at.timestamp()),  # type: ignore[union-attr]
    }
    if recurring:
        price_data["recurring"] = {"interval": interval}
        params["mode"] = "subscription"
        params["subscription_data"] = {"metadata": metadata}
        if fee_percent > 0:
            params["subscription_data"]["application_fee_percent"] = float(fee_percent)
    else:
        params["mode"] = "payment"
        params["payment_intent_data"] = {"metadata": metadata}
        if fee_percent > 0:
            fee = _fee(purchase.amount_minor, fee_percent)
            if fee > 0:
                params["payment_intent_data"]["application_fee_amount"] = fee
    return params


def open_checkout(
    session: Session, tenant: Tenant, purchase: Purchase, params: dict[str, Any]
) -> str:
    """Create the purchase's Checkout Session on the business's Stripe account; its URL.

    If Stripe answers with an error or not in time, the purchase is marked failed and
    `CheckoutFailed` says so in words for the family (the caller keeps that record).
    """
    if purchase.checkout_url:
        return purchase.checkout_url
    try:
        checkout = stripe_gateway.create_checkout_session(tenant, purchase.id, params)
    except stripe_gateway.StripeError as exc:
        log.warning("Checkout for purchase %s failed: %r", purchase.id, exc)
        if isinstance(exc, stripe_gateway.APIConnectionError):
            message = (
                "We could not reach Stripe to start the payment. Nothing was charged; "
                "please try again in a minute."
            )
        else:
            message = (
                "Stripe could not start the payment. Nothing was charged; please try "
                f"again later or contact {tenant.name}. {tenant.how_to_reach()}".rstrip()
            )
        purchase.status = PurchaseStatus.FAILED
        purchase.failure_message = message
        session.flush()
        raise CheckoutFailed(message) from exc
    url: str = checkout.url
    purchase.checkout_session_id = checkout.id
    purchase.checkout_url = url
    session.flush()
    return url


def resumable_checkout(purchase: Purchase, now: datetime | None = None) -> str | None:
    """The Checkout page a family who left it can go back to: while the purchase still
    waits and Stripe keeps the page open."""
    now = now or utcnow()
    if (
        purchase.status == PurchaseStatus.PENDING
        and purchase.checkout_url
        and purchase.checkout_expires_at is not None
        and purchase.checkout_expires_at > now
    ):
        return purchase.checkout_url
    return None


def cancel_purchase(session: Session, purchase: Purchase) -> bool:
    """The family came back from Checkout without paying: cancelled, if still pending.

    A payment made later through the same Checkout still fulfils the purchase.
    """
    updated = session.execute(
        update(Purchase)
        .where(Purchase.id == purchase.id, Purchase.status == PurchaseStatus.PENDING)
        .values(status=PurchaseStatus.CANCELLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    moved = cast(CursorResult[Any], updated).rowcount
    session.refresh(purchase)
    return moved == 1


def purchase_state(purchase: Purchase, checkout_state: str | None = None) -> str:
    """What the family is told about a purchase back from Checkout: done (its package is
    assigned), failed, cancelled, bank (a delayed payment is clearing; `checkout_state`
    is Stripe's "status/payment_status" of its Checkout Session) or processing."""
    if purchase.package_id is not None:
        return "done"
    if purchase.status == PurchaseStatus.FAILED:
        return "failed"
    if purchase.status == PurchaseStatus.CANCELLED:
        return "cancelled"
    if checkout_state == "complete/unpaid":
        return "bank"
    return "processing"


# --- fulfilment ----------------------------------------------------------------------------


def _stripe_id(value: Any) -> str | None:
    """An expandable field: the id string, or the expanded object's id."""
    if value is None or isinstance(value, str):
        return value
    expanded_id: str | None = field(value, "id")
    return expanded_id


def _day(tenant: Tenant, timestamp: float) -> date:
    return local_date(tenant, datetime.fromtimestamp(int(timestamp), UTC))


def purchase_for_checkout(session: Session, tenant: Tenant, checkout: Any) -> Purchase:
    """Our purchase behind a Checkout Session, after checking every id it carries."""
    metadata = field(checkout, "metadata")
    if field(metadata, "tenant_id") != str(tenant.id):
        raise PaymentMismatch("the session's metadata names another business")
    purchase_id = str(field(metadata, "purchase_id") or "")
    purchase = get_scoped(session, Purchase, int(purchase_id)) if purchase_id.isdigit() else None
    if purchase is None:
        raise PaymentMismatch(f"no purchase {purchase_id!r} in this business")
    if purchase.checkout_session_id != field(checkout, "id"):
        raise PaymentMismatch(f"purchase {purchase.id} has another Checkout Session")
    if field(metadata, "student_id") != str(purchase.student_id) or field(
        metadata, "offering_id"
    ) != str(purchase.offering_id):
        raise PaymentMismatch(f"purchase {purchase.id}: student or offering differ")
    return purchase


def fulfil_purchase(
    session: Session,
    purchase: Purchase,
    *,
    start_date: date,
    payment_intent_id: str | None = None,
    subscription_id: str | None = None,
    now: datetime | None = None,
) -> Package | None:
    """Mark a purchase paid and assign its package with the grant; None if done before.

    The conditional UPDATE is the claim: of any number of concurrent callers exactly one
    moves the row, the others wait for its commit and then find it paid.
    """
    now = now or utcnow()
    updated = session.execute(
        update(Purchase)
        .where(
            Purchase.id == purchase.id,
            Purchase.package_id.is_(None),
            Purchase.status != PurchaseStatus.PAID,
        )
        .values(
            status=PurchaseStatus.PAID,
            paid_at=now,
            updated_at=now,
            failure_message=None,
            payment_intent_id=payment_intent_id or purchase.payment_intent_id,
            subscription_id=subscription_id or purchase.subscription_id,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult[Any], updated).rowcount
    if claimed != 1:
        session.refresh(purchase)
        return None
    package = packages.assign_package(
        session,
        purchase.user,
        purchase.student,
        **packages.package_terms(purchase),
        start_date=start_date,
        offering=purchase.offering,
        note=f"Bought online by {purchase.user.name} (purchase #{purchase.id})",
    )
    session.execute(
        update(Purchase)
        .where(Purchase.id == purchase.id, Purchase.package_id.is_(None))
        .values(package_id=package.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(purchase)
    tenant = session.get_one(Tenant, purchase.tenant_id)
    # Design §10: the bought hours go to the student's sessions waiting for them.
    scheduling.fill_waiting(
        session, tenant, package.student_id, package.service, purchase.user, now
    )
    # Design §13: the package carries its price, and the money its payment with a
    # receipt, in the same transaction as the package. Last, because the receipt number
    # locks the business's row: every verb takes that lock after its others.
    package.price_minor, package.currency = purchase.amount_minor, purchase.currency
    package_payments.record_stripe_payment(
        session,
        package,
        amount_minor=purchase.amount_minor,
        currency=purchase.currency,
        paid_on=local_date(tenant, now),
        purchase_id=purchase.id,
    )
    emit(session, tenant, EventType.PURCHASE_PAID, purchase)
    return package


@dataclass(frozen=True)
class Settled:
    """What a Checkout Session says about its purchase, for the webhook log and pages."""

    purchase: Purchase
    outcome: str


def settle_checkout(
    session: Session, tenant: Tenant, checkout: Any, now: datetime | None = None
) -> Settled:
    """Act on a Checkout Session from a verified event or retrieved from Stripe.

    Paid → fulfil (once). Complete but unpaid → a delayed payment (bank debit) is on its
    way; nothing to do yet. Expired → the purchase is cancelled if still pending.
    """
    now = now or utcnow()
    purchase = purchase_for_checkout(session, tenant, checkout)
    if tenant.stripe_disconnected_at is not None and purchase.package_id is None:
        # No package from a business that disconnected Stripe; a payment taken anyway is
        # the business's to refund from its Stripe Dashboard.
        cancel_purchase(session, purchase)
        log.warning(
            "Checkout %s of %s refused: Stripe is disconnected (payment_status=%s)",
            field(checkout, "id"),
            tenant.slug,
            field(checkout, "payment_status"),
        )
        return Settled(purchase, "ignored: Stripe is disconnected; purchase cancelled")
    if field(checkout, "status") == "expired":
        cancel_purchase(session, purchase)
        return Settled(purchase, "checkout expired")
    if field(checkout, "payment_status") != "paid":
        return Settled(purchase, f"not paid yet ({field(checkout, 'payment_status')})")
    if purchase.package_id is not None:
        return Settled(purchase, "already fulfilled")
    if (field(checkout, "amount_total"), field(checkout, "currency")) != (
        purchase.amount_minor,
        purchase.currency,
    ):
        raise PaymentMismatch(f"purchase {purchase.id}: paid amount differs from the price")
    recurring = purchase.package_type == PackageType.RECURRING
    if field(checkout, "mode") != ("subscription" if recurring else "payment"):
        raise PaymentMismatch(f"purchase {purchase.id}: Checkout mode differs")
    start = local_date(tenant, now)
    subscription_id = _stripe_id(field(checkout, "subscription"))
    if recurring:
        if not subscription_id:
            raise PaymentMismatch(f"purchase {purchase.id}: paid subscription without an id")
        # The package's periods follow the subscription's: its first period starts when
        # the subscription started, so each later invoice renews the period it pays for.
        subscription = stripe_gateway.retrieve_subscription(tenant, subscription_id)
        start = _day(tenant, field(subscription, "start_date") or now.timestamp())
    package = fulfil_purchase(
        session,
        purchase,
        start_date=start,
        payment_intent_id=_stripe_id(field(checkout, "payment_intent")),
        subscription_id=subscription_id,
        now=now,
    )
    return Settled(purchase, "fulfilled" if package else "already fulfilled")


def fail_delayed_payment(session: Session, tenant: Tenant, checkout: Any) -> str:
    """The bank refused a delayed payment: the pending purchase is failed, and says why."""
    purchase = purchase_for_checkout(session, tenant, checkout)
    updated = session.execute(
        update(Purchase)
        .where(Purchase.id == purchase.id, Purchase.status == PurchaseStatus.PENDING)
        .values(
            status=PurchaseStatus.FAILED,
            updated_at=utcnow(),
            failure_message="Your bank did not complete the payment, so no hours were added.",
        )
        .execution_options(synchronize_session=False)
    )
    moved = cast(CursorResult[Any], updated).rowcount
    return "purchase failed" if moved else f"ignored: purchase is {purchase.status}"


# --- subscriptions ---------------------------------------------------------------------------


def _purchase_of_subscription(session: Session, subscription_id: str) -> Purchase | None:
    return session.scalar(select(Purchase).where(Purchase.subscription_id == subscription_id))


def renew_from_invoice(
    session: Session, tenant: Tenant, invoice: Any, now: datetime | None = None
) -> str:
    """A subscription's paid invoice for a later period renews its package, once."""
    subscription_id = _stripe_id(field(invoice, "parent", "subscription_details", "subscription"))
    if not subscription_id:
        return "ignored: not a subscription invoice"
    if field(invoice, "billing_reason") == "subscription_create":
        return "ignored: the first period is the purchase itself"
    purchase = _purchase_of_subscription(session, subscription_id)
    if purchase is None or purchase.package_id is None:
        # The checkout's own event has not been handled yet: settle it from Stripe first.
        metadata = field(invoice, "parent", "subscription_details", "metadata")
        purchase_id = str(field(metadata, "purchase_id") or "")
        if field(metadata, "tenant_id") == str(tenant.id) and purchase_id.isdigit():
            candidate = get_scoped(session, Purchase, int(purchase_id))
            if candidate is not None and candidate.checkout_session_id:
                checkout = stripe_gateway.retrieve_checkout_session(
                    tenant, candidate.checkout_session_id
                )
                if _stripe_id(field(checkout, "subscription")) == subscription_id:
                    purchase = settle_checkout(session, tenant, checkout, now).purchase
    if purchase is None:
        return "ignored: no purchase has this subscription"
    if purchase.package_id is None:
        raise RetryLater(f"purchase {purchase.id} is not fulfilled yet")
    lines = field(invoice, "lines", "data") or []
    period_start = field(lines[0], "period", "start") if lines else None
    if period_start is None:
        raise PaymentMismatch(f"invoice {field(invoice, 'id')} has no period")
    day = _day(tenant, period_start)
    package = purchase.package
    assert package is not None
    # The locks that hours arriving need (`fill_waiting`), before the package's own.
    scheduling.lock_for_hours(session, package.student_id)
    if packages.renew_package(session, package, day):
        scheduling.fill_waiting(
            session, tenant, package.student_id, package.service, None, now, locks_held=True
        )
        outcome = f"renewed package {package.id} for the period from {day.isoformat()}"
    else:
        outcome = f"package {package.id}: the period from {day.isoformat()} was renewed already"
    # Paid up again: a failed invoice of the subscription (`subscriptions`) is behind it.
    session.execute(
        update(Purchase)
        .where(Purchase.id == purchase.id, Purchase.payment_failed_invoice_id.is_not(None))
        .values(payment_failed_invoice_id=None)
        .execution_options(synchronize_session=False)
    )
    # One payment per paid invoice: its id is unique, and the student's lock above makes
    # a replay of the same invoice wait, then find the first delivery's payment.
    paid = package_payments.record_stripe_payment(
        session,
        package,
        amount_minor=int(field(invoice, "amount_paid") or 0),
        currency=str(field(invoice, "currency") or purchase.currency),
        paid_on=_day(tenant, field(invoice, "status_transitions", "paid_at") or period_start),
        stripe_invoice_id=field(invoice, "id"),
    )
    if paid:  # once per invoice (a replay finds the first delivery's payment)
        emit(session, tenant, EventType.PURCHASE_PAID, purchase, field(invoice, "id"))
    return f"{outcome}; receipt {paid.receipt_number}" if paid else outcome


def stop_subscription(session: Session, tenant: Tenant, subscription: Any) -> str:
    """The subscription ended: its package stops renewing; granted hours stay."""
    purchase = _purchase_of_subscription(session, field(subscription, "id") or "")
    if purchase is None or purchase.package_id is None:
        return "ignored: no package has this subscription"
    session.execute(
        update(Package)
        .where(Package.id == purchase.package_id)
        .values(renewals_stopped=True)
        .execution_options(synchronize_session=False)
    )
    return f"package {purchase.package_id} stops renewing"
