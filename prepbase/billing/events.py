"""Verified Stripe events: each recorded once by its id, then acted upon as its business.

Tenancy: the webhook arrives outside any business's URL. The business is found by the
event's connected account (`event.account`), and the handlers run inside
`as_tenant(business)` — so every purchase and package they touch is scoped to it, and
the ids in the event's metadata are checked against that business's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prepbase import payments, refunds, subscriptions
from prepbase.models import StripeEvent, Tenant
from prepbase.stripe_gateway import field
from prepbase.tenancy import as_tenant

log = logging.getLogger(__name__)

Handler = Callable[[Session, Tenant, Any], str]


def _checkout_paid(session: Session, tenant: Tenant, checkout: Any) -> str:
    return payments.settle_checkout(session, tenant, checkout).outcome


def _checkout_expired(session: Session, tenant: Tenant, checkout: Any) -> str:
    purchase = payments.purchase_for_checkout(session, tenant, checkout)
    return "purchase cancelled" if payments.cancel_purchase(session, purchase) else "ignored"


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _checkout_paid,  # paid now, or a delayed payment started
    "checkout.session.async_payment_succeeded": _checkout_paid,
    "checkout.session.async_payment_failed": payments.fail_delayed_payment,
    "checkout.session.expired": _checkout_expired,
    "invoice.paid": payments.renew_from_invoice,
    "invoice.payment_failed": subscriptions.invoice_payment_failed,
    "customer.subscription.updated": subscriptions.subscription_updated,
    "customer.subscription.deleted": payments.stop_subscription,
    "account.updated": payments.refresh_account,
    # A refund made by PrepBase or in the Stripe Dashboard: applied once per refund id.
    "refund.created": refunds.refund_from_event,
    "refund.updated": refunds.refund_from_event,
    "charge.refunded": refunds.charge_refunded,
}


def record_event(session: Session, event: Any, tenant: Tenant | None) -> StripeEvent | None:
    """Remember the event; None when it was recorded before (a duplicate or a replay).

    The unique event id decides, in this transaction: a concurrent delivery of the same
    event waits for this one's commit and then finds the row.
    """
    row = StripeEvent(
        event_id=field(event, "id"),
        event_type=field(event, "type"),
        account_id=field(event, "account"),
        tenant_id=tenant.id if tenant is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def handle_event(session: Session, event: Any) -> str:
    """Record and act on one verified event; a short outcome for the log and the reply.

    Raises `payments.RetryLater` or a Stripe error when Stripe should send it again (the
    caller rolls back, so the event is not recorded either).
    """
    account = field(event, "account")
    tenant = (
        session.scalar(select(Tenant).where(Tenant.stripe_account_id == account))
        if account
        else None
    )
    row = record_event(session, event, tenant)
    if row is None:
        return "duplicate: handled before"
    handler = HANDLERS.get(row.event_type)
    obj = field(event, "data", "object")
    if handler is None:
        outcome = "ignored: not an event PrepBase acts on"
    elif tenant is None:
        outcome = "ignored: no business has this Stripe account"
    elif obj is None:
        outcome = "ignored: the event carries no object"
    else:
        with as_tenant(tenant.id):
            try:
                with session.begin_nested():
                    outcome = handler(session, tenant, obj)
            except payments.PaymentMismatch as exc:
                log.warning(
                    "Stripe event %s for %s not acted upon: %s", row.event_id, tenant.slug, exc
                )
                outcome = f"ignored: {exc}"
    row.outcome = outcome[:200]
    session.flush()
    log.info("Stripe event %s (%s): %s", row.event_id, row.event_type, outcome)
    return outcome
