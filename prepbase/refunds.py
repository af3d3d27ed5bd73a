"""Refunds of online purchases (issue 17): money given back through Stripe, and the
purchase's unused hours taken back with it.

The rules:

- Only a paid one-time purchase (a Stripe payment intent) is refunded from PrepBase; a
  refund of a subscription's invoice, made in the Dashboard, is logged and not acted upon.
- A refund of `amount` takes back round(hours × refunded share of the price) in whole
  minutes (half up), counted on the running total so two half refunds take back exactly
  the whole. Only unused hours are taken: never more than the package has left, since
  booked and completed sessions hold theirs already. What could not be taken back is kept
  on the refund row (`minutes_due` − `minutes_removed`) and told to the admin.
- A refund is applied once per Stripe refund id (unique), whichever comes first: the
  admin's request, `refund.created` / `refund.updated`, or `charge.refunded`. The
  purchase's row lock serializes them; a later one finds the row and changes nothing.

Functions flush and never commit; the view and the webhook commit once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import hours, money, stripe_gateway
from prepbase.errors import DomainError
from prepbase.models import Purchase, PurchaseStatus, StripeRefund, Tenant, User
from prepbase.stripe_gateway import field

log = logging.getLogger(__name__)

# Stripe's refund states in which the money is (or is being) given back.
APPLIED_STATES = ("succeeded", "pending", "requires_action")


class RefundMismatch(Exception):
    """A Stripe refund does not match our purchase (currency, amount): not acted upon."""


@dataclass(frozen=True)
class Applied:
    refund: StripeRefund
    new: bool

    @property
    def kept_minutes(self) -> int:
        """Hours the refund's share named that sessions had used already."""
        return self.refund.minutes_due - self.refund.minutes_removed


def refunded_minor(session: Session, purchase: Purchase) -> int:
    """What was given back for a purchase so far."""
    total = session.scalar(
        select(func.coalesce(func.sum(StripeRefund.amount_minor), 0)).where(
            StripeRefund.purchase_id == purchase.id
        )
    )
    return int(total or 0)


def refunds_of(session: Session, purchase_ids: list[int]) -> list[StripeRefund]:
    if not purchase_ids:
        return []
    return list(
        session.scalars(
            select(StripeRefund)
            .where(StripeRefund.purchase_id.in_(purchase_ids))
            .order_by(StripeRefund.id)
        )
    )


def is_refundable(purchase: Purchase) -> bool:
    """A purchase PrepBase can refund: paid once (not a subscription), package assigned."""
    return bool(
        purchase.status == PurchaseStatus.PAID
        and purchase.package_id is not None
        and purchase.payment_intent_id
        and not purchase.subscription_id
    )


def _share(minutes: int, part: int, whole: int) -> int:
    return int((Decimal(minutes) * part / whole).quantize(Decimal(1), ROUND_HALF_UP))


def minutes_due(purchase: Purchase, refunded_before: int, amount_minor: int) -> int:
    """The hours (minutes) a refund of `amount_minor` takes back, by the refunded share."""
    whole = purchase.amount_minor
    return _share(purchase.minutes, refunded_before + amount_minor, whole) - _share(
        purchase.minutes, refunded_before, whole
    )


def _lock(session: Session, purchase: Purchase) -> None:
    session.execute(select(Purchase.id).where(Purchase.id == purchase.id).with_for_update())


def apply_refund(
    session: Session, purchase: Purchase, refund: Any, actor: User | None = None
) -> Applied:
    """Record a Stripe refund of `purchase` and take back its share of unused hours, once."""
    _lock(session, purchase)
    refund_id = str(field(refund, "id"))
    existing = session.scalar(
        select(StripeRefund).where(StripeRefund.stripe_refund_id == refund_id)
    )
    if existing is not None:
        return Applied(existing, new=False)
    amount = int(field(refund, "amount") or 0)
    currency = str(field(refund, "currency") or "").lower()
    if currency != purchase.currency.lower():
        raise RefundMismatch(f"refund {refund_id} is in {currency}, not {purchase.currency}")
    before = refunded_minor(session, purchase)
    if amount <= 0 or before + amount > purchase.amount_minor:
        raise RefundMismatch(f"refund {refund_id} is more than purchase {purchase.id} has left")
    package = purchase.package
    assert package is not None  # a refundable purchase has its package
    due = minutes_due(purchase, before, amount)
    change = None
    if due > 0:
        change = hours.remove_for_refund(
            session,
            package,
            due,
            actor,
            note=f"Refund of {money.format_money(amount, currency)} "
            f"(purchase #{purchase.id}, {refund_id})",
        )
    row = StripeRefund(
        purchase_id=purchase.id,
        package_id=package.id,
        stripe_refund_id=refund_id,
        amount_minor=amount,
        currency=currency,
        minutes_due=due,
        minutes_removed=-change.entry.minutes if change else 0,
        ledger_entry_id=change.entry.id if change else None,
        refunded_by_id=actor.id if actor else None,
    )
    session.add(row)
    session.flush()
    return Applied(row, new=True)


def refund_purchase(
    session: Session, tenant: Tenant, purchase: Purchase, actor: User, amount_minor: int
) -> Applied:
    """An admin's refund: Stripe gives the money back, then the hours follow, once.

    The idempotency key names the purchase, what was refunded before and the amount: a
    double click sends the same key and Stripe answers with the same refund, which is
    then found applied. If our transaction fails after Stripe refunded, the refund's
    event applies it later.
    """
    if not is_refundable(purchase):
        raise DomainError("Only a paid one-time online purchase can be refunded here.")
    before = refunded_minor(session, purchase)
    left = purchase.amount_minor - before
    if amount_minor <= 0 or amount_minor > left:
        raise DomainError(
            f"Enter an amount above zero and at most "
            f"{money.format_money(left, purchase.currency, tenant.locale)} (not refunded yet).",
            field="amount",
        )
    assert purchase.payment_intent_id is not None
    try:
        refund = stripe_gateway.create_refund(
            tenant,
            purchase.payment_intent_id,
            amount_minor,
            f"purchase-{purchase.id}-refund-{before}-{amount_minor}",
        )
    except stripe_gateway.StripeError as exc:
        log.warning("Refund of purchase %s failed: %r", purchase.id, exc)
        raise DomainError(
            "Stripe could not make the refund; nothing was refunded. Try again later, "
            "or refund it in your Stripe Dashboard (PrepBase will follow)."
        ) from exc
    try:
        return apply_refund(session, purchase, refund, actor)
    except RefundMismatch as exc:
        raise DomainError(f"Stripe's answer does not match this purchase: {exc}") from exc


# --- events ----------------------------------------------------------------------------------


def _purchase_paid_by(session: Session, payment_intent_id: str | None) -> Purchase | None:
    if not payment_intent_id:
        return None
    return session.scalar(select(Purchase).where(Purchase.payment_intent_id == payment_intent_id))


def _apply_from_stripe(session: Session, refund: Any) -> str:
    refund_id = field(refund, "id")
    status = field(refund, "status")
    purchase = _purchase_paid_by(session, _stripe_id(field(refund, "payment_intent")))
    if purchase is None or not is_refundable(purchase):
        return f"{refund_id}: ignored: no one-time purchase has this payment"
    if status not in APPLIED_STATES:
        return f"{refund_id}: ignored: refund is {status}"
    try:
        applied = apply_refund(session, purchase, refund)
    except RefundMismatch as exc:
        log.warning("Stripe refund not acted upon: %s", exc)
        return f"{refund_id}: ignored: {exc}"
    if not applied.new:
        return f"{refund_id}: applied before"
    return (
        f"{refund_id}: refunded {applied.refund.amount_minor} of purchase {purchase.id}; "
        f"{applied.refund.minutes_removed} of {applied.refund.minutes_due} minutes taken back"
    )


def _stripe_id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    expanded: str | None = field(value, "id")
    return expanded


def refund_from_event(session: Session, tenant: Tenant, refund: Any) -> str:
    """`refund.created` / `refund.updated`: a refund made here or in the Dashboard."""
    return _apply_from_stripe(session, refund)


def charge_refunded(session: Session, tenant: Tenant, charge: Any) -> str:
    """`charge.refunded`: the charge does not list its refunds, so ask Stripe for them."""
    payment_intent = _stripe_id(field(charge, "payment_intent"))
    if _purchase_paid_by(session, payment_intent) is None:
        return "ignored: no one-time purchase has this payment"
    assert payment_intent is not None
    outcomes = [
        _apply_from_stripe(session, refund)
        for refund in stripe_gateway.list_refunds(tenant, payment_intent)
    ]
    return "; ".join(outcomes) or "ignored: Stripe lists no refund"
