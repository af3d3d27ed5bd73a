"""The one place PrepBase talks to Stripe (the official `stripe` library, 16.x).

Every call goes through a `StripeClient` built from configuration (`STRIPE_SECRET_KEY`,
and `STRIPE_API_BASE` when a fake Stripe on loopback stands in for the real one). Creates
carry an idempotency key derived from our own row, so a request sent twice makes one
object. The library does not retry by itself (`max_network_retries=0`): a failure is
reported to the person at once and nothing is left half-made.

Charges are *direct charges* on the business's connected account: each call about a
business's customers passes `stripe_account`, which the library sends as the
`Stripe-Account` header.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import stripe
from flask import current_app

from prepbase.models import Tenant

StripeError = stripe.StripeError
APIConnectionError = stripe.APIConnectionError
SignatureVerificationError = stripe.SignatureVerificationError
# Stripe's own default: refuse signatures older than 5 min, and (our own check, the
# library only looks back) dated more than 5 min ahead.
WEBHOOK_TOLERANCE_SECONDS = 300


def configured() -> bool:
    """True when this installation has the platform's Stripe keys (API and webhook)."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_CONNECT_WEBHOOK_SECRET"))


def client() -> stripe.StripeClient:
    """The app's StripeClient (one per configuration, shared by requests)."""
    config = current_app.config
    key = (
        config.get("STRIPE_SECRET_KEY"),
        config.get("STRIPE_API_BASE"),
        config.get("STRIPE_TIMEOUT_SECONDS"),
    )
    clients: dict[tuple[Any, ...], stripe.StripeClient]
    clients = current_app.extensions.setdefault("prepbase_stripe", {})
    if key not in clients:
        api_key, api_base, timeout = key
        if not api_key:
            raise RuntimeError("STRIPE_SECRET_KEY is not set: online payments are off")
        clients[key] = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=float(timeout or 20)),
        )
    return clients[key]


def _on(tenant: Tenant, idempotency_key: str | None = None) -> stripe.RequestOptions:
    options: stripe.RequestOptions = {"stripe_account": tenant.stripe_account_id}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    return options


# --- Connect ------------------------------------------------------------------------------


def create_account(tenant: Tenant) -> Any:
    """The business's own Stripe account: Stripe collects its details and handles
    disputes, the business pays Stripe's fees and uses the full Stripe Dashboard (what
    used to be a "Standard" account, described with `controller` settings)."""
    return client().v1.accounts.create(
        params={
            "controller": {
                "fees": {"payer": "account"},
                "losses": {"payments": "stripe"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "full"},
            },
            "business_profile": {"name": tenant.name},
            "metadata": {"tenant_id": str(tenant.id), "tenant_slug": tenant.slug},
        },
        options={"idempotency_key": f"tenant-{tenant.id}-connect-account"},
    )


def retrieve_account(account_id: str) -> Any:
    """The connected account as Stripe sees it now (charges_enabled, details)."""
    return client().v1.accounts.retrieve(account_id)


def create_account_link(tenant: Tenant, *, refresh_url: str, return_url: str, nonce: str) -> Any:
    """A single-use onboarding link for the business's account.

    Links are single-use and short-lived, so each click asks for a new one: the key is the
    business's id plus a nonce made for this click (a resend of the same request gets the
    same link; a later click never gets a spent one).
    """
    assert tenant.stripe_account_id is not None  # both callers connected it first
    return client().v1.account_links.create(
        params={
            "account": tenant.stripe_account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        },
        options={"idempotency_key": f"tenant-{tenant.id}-account-link-{nonce}"},
    )


# --- Checkout -----------------------------------------------------------------------------


def create_checkout_session(tenant: Tenant, purchase_id: int, params: dict[str, Any]) -> Any:
    """A Checkout Session on the business's account for one purchase (one per purchase)."""
    return client().v1.checkout.sessions.create(
        # A plain dict (`payments.checkout_params`), not Stripe's TypedDict of the params.
        params=params,  # type: ignore[arg-type]
        options=_on(tenant, f"purchase-{purchase_id}-checkout"),
    )


def retrieve_checkout_session(tenant: Tenant, session_id: str) -> Any:
    return client().v1.checkout.sessions.retrieve(session_id, options=_on(tenant))


def expire_checkout_session(tenant: Tenant, session_id: str) -> Any:
    """Close an open Checkout page: nobody can pay on it any more."""
    return client().v1.checkout.sessions.expire(session_id, options=_on(tenant))


def retrieve_subscription(tenant: Tenant, subscription_id: str) -> Any:
    return client().v1.subscriptions.retrieve(subscription_id, options=_on(tenant))


def cancel_at_period_end(tenant: Tenant, subscription_id: str) -> Any:
    """Ask Stripe to end the subscription when its current (paid) period ends."""
    return client().v1.subscriptions.update(
        subscription_id,
        params={"cancel_at_period_end": True},
        options=_on(tenant, f"subscription-{subscription_id}-cancel-at-period-end"),
    )


def create_refund(
    tenant: Tenant, payment_intent_id: str, amount_minor: int, idempotency_key: str
) -> Any:
    """Give back `amount_minor` of a payment on the business's account. The caller's key
    names the purchase and what was refunded before, so a double click makes one refund."""
    return client().v1.refunds.create(
        params={"payment_intent": payment_intent_id, "amount": amount_minor},
        options=_on(tenant, idempotency_key),
    )


def list_refunds(tenant: Tenant, payment_intent_id: str) -> list[Any]:
    """A payment's refunds (a `charge.refunded` event's charge does not list them)."""
    page = client().v1.refunds.list(
        params={"payment_intent": payment_intent_id, "limit": 100}, options=_on(tenant)
    )
    return list(page.data)


# --- webhooks -----------------------------------------------------------------------------


def verified_event(payload: bytes, signature_header: str | None, secret: str) -> Any:
    """The event in a webhook body, if `Stripe-Signature` proves Stripe sent it lately.

    Raises `SignatureVerificationError` (missing, wrong, stale or future-dated
    signature) or `ValueError` (a body that is not JSON / not UTF-8).
    """
    event = stripe.Webhook.construct_event(
        payload, signature_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
    )
    signed_at = _signed_at(signature_header or "")
    if signed_at > time.time() + WEBHOOK_TOLERANCE_SECONDS:
        raise SignatureVerificationError(
            f"Timestamp {signed_at} is in the future", signature_header, payload
        )
    return event


def _signed_at(header: str) -> int:
    """The signing time of a verified Stripe-Signature header: its first "t=", as the
    library reads it."""
    return int(next(item[2:] for item in header.split(",") if item.startswith("t=")))


def timestamp(value: float) -> datetime:
    """A Stripe Unix timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(int(value), UTC)


def field(obj: Any, *path: str) -> Any:
    """obj.a.b.c, or None where a step is missing (Stripe objects are not dicts)."""
    for name in path:
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj
