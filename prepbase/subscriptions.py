"""A subscription bought online, after its first period (issue 17): an invoice Stripe
could not collect, and the family cancelling at the end of the period.

The rules:

- A package paid by a subscription renews only when an invoice is paid
  (`payments.renew_from_invoice`), so a failed invoice already means no renewal; here
  the purchase remembers the failed invoice (shown to admins and the family) and the
  family and admins are told, once per invoice however often Stripe sends its event or
  retries the payment. A later paid invoice renews once and clears it.
- A family cancels from its portal at the end of the current period (Stripe's
  `cancel_at_period_end`); the hours of the period stay. `customer.subscription.updated`
  keeps the flag in step with changes made in the Dashboard, and
  `customer.subscription.deleted` then stops the renewals (`payments.stop_subscription`).

Functions flush and never commit; the view and the webhook commit once.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from prepbase import money, stripe_gateway
from prepbase.errors import DomainError
from prepbase.localtime import local_date
from prepbase.mail import billing as billing_mail
from prepbase.models import PackagePayment, Purchase, PurchaseStatus, Tenant
from prepbase.stripe_gateway import field

log = logging.getLogger(__name__)


def _stripe_id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    expanded: str | None = field(value, "id")
    return expanded


def _purchase_of(session: Session, subscription_id: str | None) -> Purchase | None:
    if not subscription_id:
        return None
    return session.scalar(select(Purchase).where(Purchase.subscription_id == subscription_id))


def invoice_payment_failed(session: Session, tenant: Tenant, invoice: Any) -> str:
    """`invoice.payment_failed`: no renewal for that period; family and admins told once."""
    subscription_id = _stripe_id(field(invoice, "parent", "subscription_details", "subscription"))
    purchase = _purchase_of(session, subscription_id)
    if purchase is None or purchase.package is None:
        return "ignored: no package has this subscription"
    if field(invoice, "billing_reason") == "subscription_create":
        return "ignored: the first period is paid at Checkout"
    invoice_id = str(field(invoice, "id") or "")
    # Out of order: Stripe's retry succeeded and its invoice.paid came first.
    if session.scalar(
        select(PackagePayment.id).where(PackagePayment.stripe_invoice_id == invoice_id)
    ):
        return f"ignored: invoice {invoice_id} was paid since"
    lines = field(invoice, "lines", "data") or []
    period_start = field(lines[0], "period", "start") if lines else None
    package = purchase.package
    if period_start is not None and package.current_period_start is not None:
        from_day = local_date(tenant, stripe_gateway.timestamp(period_start))
        if from_day <= package.current_period_start:
            return f"ignored: the period from {from_day.isoformat()} was renewed already"
    # The conditional UPDATE is the "once": concurrent deliveries of this invoice's
    # events wait on the row and then find it marked.
    updated = session.execute(
        update(Purchase)
        .where(
            Purchase.id == purchase.id,
            or_(
                Purchase.payment_failed_invoice_id.is_(None),
                Purchase.payment_failed_invoice_id != invoice_id,
            ),
        )
        .values(payment_failed_invoice_id=invoice_id)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], updated).rowcount != 1:
        return f"invoice {invoice_id}: told before"
    amount = money.format_money(
        int(field(invoice, "amount_due") or 0),
        str(field(invoice, "currency") or purchase.currency),
        tenant.locale,
    )
    told = billing_mail.subscription_payment_failed(session, tenant, package, amount)
    return f"package {package.id} not renewed: invoice {invoice_id} unpaid; {told} told"


def can_cancel(purchase: Purchase) -> bool:
    """A subscription the family may still cancel from its portal."""
    return bool(
        purchase.subscription_id
        and purchase.status == PurchaseStatus.PAID
        and purchase.package is not None
        and not purchase.package.renewals_stopped
        and not purchase.cancel_at_period_end
    )


def cancel_at_period_end(session: Session, tenant: Tenant, purchase: Purchase) -> bool:
    """The family cancels its subscription: it ends with the current period (paid for).
    False when it was cancelled already (a double click)."""
    if not can_cancel(purchase):
        if purchase.cancel_at_period_end:
            return False
        raise DomainError("This purchase is not a running subscription.")
    assert purchase.subscription_id is not None
    try:
        subscription = stripe_gateway.cancel_at_period_end(tenant, purchase.subscription_id)
    except stripe_gateway.StripeError as exc:
        log.warning("Cancelling subscription of purchase %s failed: %r", purchase.id, exc)
        raise DomainError(
            "Stripe could not cancel the subscription just now; nothing changed. "
            f"Please try again later or contact {tenant.name}."
        ) from exc
    if not field(subscription, "cancel_at_period_end"):
        raise DomainError("Stripe did not confirm the cancellation; nothing changed.")
    purchase.cancel_at_period_end = True
    session.flush()
    return True


def subscription_updated(session: Session, tenant: Tenant, subscription: Any) -> str:
    """`customer.subscription.updated`: cancel-at-period-end set or undone (portal or
    Dashboard). The event carries the whole state, so a replay changes nothing more."""
    purchase = _purchase_of(session, _stripe_id(field(subscription, "id")))
    if purchase is None:
        return "ignored: no purchase has this subscription"
    wanted = bool(field(subscription, "cancel_at_period_end"))
    if purchase.cancel_at_period_end == wanted:
        return f"purchase {purchase.id}: cancel_at_period_end={wanted} already"
    purchase.cancel_at_period_end = wanted
    session.flush()
    return f"purchase {purchase.id}: cancel_at_period_end={wanted}"
