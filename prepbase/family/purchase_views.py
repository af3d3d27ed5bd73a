"""Buy Hours (design §4, §5): a family picks an offering for one of its students and pays
through Stripe Checkout; the success page waits for the payment to be confirmed.

The package is assigned only when Stripe confirms the payment — by the webhook, or by
the success page retrieving the Checkout Session from Stripe — never because the
browser came back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from prepbase import business, payments, promotions, stripe_gateway, subscriptions
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.family.blueprint import bp
from prepbase.family.forms import BuyOptionsForm
from prepbase.family_scope import guards, visible_students
from prepbase.forms import ActionForm, apply_domain_error, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.localtime import business_today
from prepbase.mail.links import external_url
from prepbase.models import Offering, Purchase, PurchaseStatus, Student
from prepbase.money import format_money
from prepbase.stripe_gateway import field
from prepbase.tenant_url import get_or_404
from prepbase.transactions import writes_on_get

log = logging.getLogger(__name__)


@bp.context_processor
def _buying() -> dict[str, object]:
    # Buy Hours shows only while the business sells online (no query: the tenant's
    # own columns and the installation's configuration).
    return {"sells_online": "tenant" in g and business.sells_online(g.tenant)}


def _buy_page(status: int = 200, **context: Any) -> Response:
    students = visible_students(db.session, current_user)
    selling = business.sells_online(g.tenant)
    offerings = payments.purchasable_offerings(db.session) if selling else []
    return render(
        "family/buy.html",
        block="buy",
        status=status,
        students=students,
        offerings=offerings,
        action_form=ActionForm(),
        **context,
    )


@bp.get("/buy")
def buy_hours() -> Response:
    return _buy_page()


def _student_and_offering(student_id: int, offering_id: int) -> tuple[Student, Offering]:
    student = get_or_404(Student, student_id)
    if not guards(current_user, student):
        abort(404)  # another family's student looks exactly like a missing one
    return student, get_or_404(Offering, offering_id)


def _options_page(
    student: Student,
    offering: Offering,
    form: BuyOptionsForm,
    status: int = 200,
    **context: Any,
) -> Response:
    extensions = promotions.allows_extensions(offering)
    if extensions:
        hourly = format_money(offering.extension_price_minor, offering.currency, g.tenant.locale)
        form.extra_hours.description = (
            f"Optional: {offering.extension_min_hours} to {offering.extension_max_hours} "
            f"hours at {hourly} per hour."
        )
    return render(
        "family/buy_options.html",
        block="options",
        status=status,
        student=student,
        offering=offering,
        form=form,
        extensions=extensions,
        **context,
    )


@bp.route("/buy/<id:student_id>/<id:offering_id>/options", methods=["GET", "POST"])
def buy_options(student_id: int, offering_id: int) -> Response:
    """A promo code and extra hours for one offering; the POST (Show total) checks them
    and shows the total, saving nothing."""
    student, offering = _student_and_offering(student_id, offering_id)
    if not payments.is_purchasable(offering):
        abort(404)
    if request.method == "GET":
        return _options_page(student, offering, BuyOptionsForm())
    form = BuyOptionsForm()
    if not form.validate_on_submit():
        return _options_page(student, offering, form, form_status())
    try:
        price = promotions.price_purchase(
            db.session,
            g.tenant,
            student,
            offering,
            code=form.promo_code.data,
            extra_hours=form.extra_hours.data,
            day=business_today(g.tenant),
        )
    except DomainError as exc:
        db.session.rollback()
        apply_domain_error(form, exc)
        return _options_page(student, offering, form, 422)
    db.session.rollback()  # a look, not a purchase
    return _options_page(student, offering, form, price=price)


@bp.post("/buy/<id:student_id>/<id:offering_id>")
def purchase_new(student_id: int, offering_id: int) -> Response:
    """Buy Hours: a pending purchase and its Checkout Session, then off to Stripe."""
    student, offering = _student_and_offering(student_id, offering_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _checkout(student, offering, None, lambda error, status: _buy_page(status, error=error))


@bp.post("/buy/<id:student_id>/<id:offering_id>/pay")
def purchase_with_options(student_id: int, offering_id: int) -> Response:
    """Pay with a promo code and extra hours: as Buy Hours, errors shown on the options."""
    student, offering = _student_and_offering(student_id, offering_id)
    form = BuyOptionsForm()
    if not form.validate_on_submit():
        return _options_page(student, offering, form, form_status())

    def failed(error: str, status: int) -> Response:
        return _options_page(student, offering, form, status, error=error)

    return _checkout(student, offering, form, failed)


def _checkout(
    student: Student,
    offering: Offering,
    form: BuyOptionsForm | None,
    failed: Callable[[str, int], Response],
) -> Response:
    try:
        # start_purchase locks the buyer's row until the commit below, across the Stripe
        # call (bounded by STRIPE_TIMEOUT_SECONDS): a second click waits, then reuses this
        # purchase and its Checkout Session instead of opening another.
        purchase = payments.start_purchase(
            db.session,
            g.tenant,
            current_user,
            student,
            offering,
            code=form.promo_code.data if form else None,
            extra_hours=form.extra_hours.data if form else None,
        )
        params = payments.checkout_params(
            g.tenant,
            purchase,
            current_user,
            student,
            success_url=external_url(".purchase_done", purchase_id=purchase.id),
            cancel_url=external_url(".purchase_cancel", purchase_id=purchase.id),
            fee_percent=current_app.config["PLATFORM_FEE_PERCENT"],
        )
        checkout_url = payments.open_checkout(db.session, g.tenant, purchase, params)
    except payments.CheckoutFailed as exc:
        db.session.commit()  # the purchase stays, marked failed: nothing else was made
        return failed(exc.message, 502)
    except DomainError as exc:
        db.session.rollback()
        return failed(exc.message, 422)
    db.session.commit()
    return hx_redirect(checkout_url)


def _own_purchase(purchase_id: int) -> Purchase:
    purchase = get_or_404(Purchase, purchase_id)
    if not guards(current_user, purchase.student):
        abort(404)
    return purchase


def _check_with_stripe(purchase: Purchase) -> str | None:
    """Ask Stripe about a pending purchase's Checkout Session and settle it (fulfil when
    paid), so a late webhook never leaves a paid family waiting. The session's state."""
    if not (
        purchase.status == PurchaseStatus.PENDING
        and purchase.checkout_session_id
        and g.tenant.stripe_account_id
        and stripe_gateway.configured()
    ):
        return None
    try:
        checkout = stripe_gateway.retrieve_checkout_session(g.tenant, purchase.checkout_session_id)
        payments.settle_checkout(db.session, g.tenant, checkout)
    except (stripe_gateway.StripeError, payments.PaymentMismatch) as exc:
        db.session.rollback()
        log.warning("Checking purchase %s with Stripe failed: %r", purchase.id, exc)
        return None
    db.session.commit()
    db.session.refresh(purchase)
    return f"{field(checkout, 'status')}/{field(checkout, 'payment_status')}"


@bp.get("/purchases/<id:purchase_id>/done")
@writes_on_get  # Stripe's success_url, a GET: it settles a payment the webhook has not yet
def purchase_done(purchase_id: int) -> Response:
    """Back from Checkout: "processing" until the payment is confirmed (polled by HTMX)."""
    purchase = _own_purchase(purchase_id)
    state = payments.purchase_state(purchase, _check_with_stripe(purchase))
    return render("family/purchases/done.html", block="status", purchase=purchase, state=state)


@bp.route("/purchases/<id:purchase_id>/cancel", methods=["GET", "POST"])
def purchase_cancel(purchase_id: int) -> Response:
    """The family left Checkout (Stripe's cancel_url, a GET): nothing was charged.

    The GET only asks: back to the still-open payment, or cancel the purchase. Only the
    POST (with CSRF) cancels, so a link or a prefetch changes nothing.
    """
    purchase = _own_purchase(purchase_id)
    if request.method == "GET":
        if purchase.status != PurchaseStatus.PENDING:
            return redirect(url_for(".purchase_done", purchase_id=purchase.id))
        return render(
            "family/purchases/cancel.html",
            block="choice",
            purchase=purchase,
            checkout_url=payments.resumable_checkout(purchase),
            action_form=ActionForm(),
        )
    if not ActionForm().validate_on_submit():
        abort(400)
    if not payments.cancel_purchase(db.session, purchase):
        return hx_redirect(url_for(".purchase_done", purchase_id=purchase.id))
    db.session.commit()
    flash(f"Payment cancelled: nothing was charged for {purchase.name}.", "info")
    return hx_redirect(url_for(".dashboard"))


@bp.post("/purchases/<id:purchase_id>/cancel-subscription")
def subscription_cancel(purchase_id: int) -> Response:
    """The family cancels its subscription: it ends with the period already paid for."""
    purchase = _own_purchase(purchase_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cancelled = subscriptions.cancel_at_period_end(db.session, g.tenant, purchase)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(
            f"{purchase.name} is cancelled: it ends with the period already paid for, "
            "and its hours stay until then."
            if cancelled
            else f"{purchase.name} was cancelled already.",
            "success" if cancelled else "info",
        )
    return hx_redirect(url_for(".purchase_history"))


@bp.get("/purchases")
def purchase_history() -> Response:
    """The family's purchases (a student login: their own), newest first."""
    students = visible_students(db.session, current_user)
    rows = (
        db.session.scalars(
            select(Purchase)
            .where(Purchase.student_id.in_([s.id for s in students]))
            .options(joinedload(Purchase.student), joinedload(Purchase.package))
            .order_by(Purchase.created_at.desc(), Purchase.id.desc())
        ).all()
        if students
        else []
    )
    return render(
        "family/purchases/list.html",
        purchases=rows,
        show_student=len(students) > 1,
        cancellable={p.id for p in rows if subscriptions.can_cancel(p)},
        action_form=ActionForm(),
    )
