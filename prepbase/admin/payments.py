"""Settings → Online Payments (design §5): connect the business's Stripe account, the
currency, the switch. The purchases families made are in purchases.py."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import flash, g, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import business, payments, stripe_gateway
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import PaymentSettingsForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.mail.links import external_url
from prepbase.transactions import writes_on_get

log = logging.getLogger(__name__)
STRIPE_UNREACHABLE = "Stripe could not be reached. Nothing was changed; please try again."


def payment_settings(form: PaymentSettingsForm | None = None) -> dict[str, Any]:
    """What the Online Payments section shows (also included in the Settings page)."""
    tenant = g.tenant
    if form is None:
        form = PaymentSettingsForm(
            formdata=None, currency=tenant.currency, online_payments=tenant.online_payments
        )
    problem = business.payments_problem(tenant)
    if problem:
        form.online_payments.render_kw = {"disabled": True}
        form.online_payments.description = f"Cannot be turned on yet. {problem}"
    return {
        "form": form,
        "configured": stripe_gateway.configured(),
        "problem": problem,
        "selling": business.sells_online(tenant),
        "action_form": ActionForm(),
    }


@bp.context_processor
def _payment_settings() -> dict[str, object]:
    return {"payment_settings": payment_settings}


@bp.route("/settings/payments", methods=["GET", "POST"])
def payments_settings() -> Response:
    form = PaymentSettingsForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            business.set_payment_settings(
                db.session,
                g.tenant,
                current_user,
                currency=form.currency.data,
                online_payments=bool(form.online_payments.data),
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            state = "on" if g.tenant.online_payments else "off"
            flash(f"Online payments are {state}; prices in {g.tenant.currency.upper()}.", "success")
            return hx_redirect(url_for(".settings") + "#online-payments")
    return render(
        "admin/settings/payments.html",
        block="payments",
        status=form_status(),
        ps=payment_settings(form if request.method == "POST" else None),
    )


def _onboarding_redirect() -> Response:
    """Send the admin to a fresh Stripe onboarding link for the business's account."""
    try:
        link = stripe_gateway.create_account_link(
            g.tenant,
            refresh_url=external_url(".payments_refresh"),
            return_url=external_url(".payments_return"),
            nonce=secrets.token_hex(8),
        )
    except stripe_gateway.StripeError as exc:
        log.warning("Account link for %s failed: %r", g.tenant.slug, exc)
        flash(STRIPE_UNREACHABLE, "error")
        return hx_redirect(url_for(".payments_settings"))
    return hx_redirect(link.url)


@bp.post("/settings/payments/connect")
def payments_connect() -> Response:
    """Connect Stripe: create the business's account (once), then onboard on Stripe."""
    if not ActionForm().validate_on_submit():
        flash("Your form expired. Reload the page and try again.", "error")
        return hx_redirect(url_for(".payments_settings"))
    if not stripe_gateway.configured():
        flash("Online payments are not available on this installation.", "error")
        return hx_redirect(url_for(".payments_settings"))
    try:
        payments.connect_stripe(db.session, g.tenant)
    except stripe_gateway.StripeError as exc:
        db.session.rollback()
        log.warning("Creating the Stripe account of %s failed: %r", g.tenant.slug, exc)
        flash(STRIPE_UNREACHABLE, "error")
        return hx_redirect(url_for(".payments_settings"))
    db.session.commit()  # the account is kept even if the link below fails
    return _onboarding_redirect()


@bp.post("/settings/payments/disconnect")
def payments_disconnect() -> Response:
    """Disconnect Stripe: online payments off, open Checkout pages closed."""
    if not ActionForm().validate_on_submit():
        flash("Your form expired. Reload the page and try again.", "error")
        return hx_redirect(url_for(".payments_settings"))
    cancelled = payments.disconnect_stripe(db.session, g.tenant)
    db.session.commit()
    flash(
        "Stripe is disconnected: online payments are off and families no longer see Buy "
        f"Hours. Offerings are kept. {cancelled} unfinished purchase(s) cancelled.",
        "success",
    )
    return hx_redirect(url_for(".payments_settings"))


@bp.get("/settings/payments/refresh")
def payments_refresh() -> Response:
    """Stripe sends the admin here when an onboarding link has expired: mint a new one."""
    if not (stripe_gateway.configured() and g.tenant.stripe_account_id):
        return hx_redirect(url_for(".payments_settings"))
    return _onboarding_redirect()


@bp.get("/settings/payments/return")
@writes_on_get  # Stripe sends the browser back with a GET; it saves what Stripe says
def payments_return() -> Response:
    """Back from Stripe's onboarding: ask Stripe whether the account can take charges."""
    if not (stripe_gateway.configured() and g.tenant.stripe_account_id):
        return hx_redirect(url_for(".payments_settings"))
    try:
        account = stripe_gateway.retrieve_account(g.tenant.stripe_account_id)
    except stripe_gateway.StripeError as exc:
        log.warning("Reading the Stripe account of %s failed: %r", g.tenant.slug, exc)
        flash(STRIPE_UNREACHABLE, "error")
        return hx_redirect(url_for(".payments_settings"))
    payments.refresh_account(db.session, g.tenant, account)
    db.session.commit()
    if g.tenant.stripe_charges_enabled:
        flash("Stripe is connected and can take payments: turn online payments on.", "success")
    else:
        flash(
            "Stripe is connected, but cannot take payments yet: Stripe needs more details "
            "or is still checking them.",
            "info",
        )
    return hx_redirect(url_for(".payments_settings"))
