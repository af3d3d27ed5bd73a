"""Offerings → Promo codes: the business's own discount codes for Buy Hours (issue 17)."""

from __future__ import annotations

from flask import flash, g, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import promotions
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import PromoCodeForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import Offering, PromoCode
from prepbase.tenant_url import get_or_404


@bp.get("/promo-codes")
def promo_code_list() -> Response:
    codes = db.session.scalars(
        select(PromoCode).order_by(PromoCode.active.desc(), PromoCode.code_key)
    ).all()
    return render(
        "admin/promo_codes/list.html",
        codes=codes,
        uses=promotions.uses_by_code(db.session),
        action_form=ActionForm(),
    )


def _form_page(promo: PromoCode | None) -> Response:
    offerings = list(
        db.session.scalars(
            select(Offering).where(Offering.archived.is_(False)).order_by(Offering.name)
        )
    )
    form = PromoCodeForm()
    form.currency = g.tenant.currency
    form.set_offerings(offerings)
    if request.method == "GET" and promo is not None:
        form.fill_from(promo)
    if form.validate_on_submit():
        try:
            saved = promotions.save_code(db.session, promo, **form.values(offerings))
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"Promo code {saved.code} is saved.", "success")
            return hx_redirect(url_for(".promo_code_list"))
    return render(
        "admin/promo_codes/form.html",
        block="form",
        status=form_status(),
        form=form,
        promo=promo,
    )


@bp.route("/promo-codes/new", methods=["GET", "POST"])
def promo_code_new() -> Response:
    return _form_page(None)


@bp.route("/promo-codes/<id:promo_id>/edit", methods=["GET", "POST"])
def promo_code_edit(promo_id: int) -> Response:
    return _form_page(get_or_404(PromoCode, promo_id))


@bp.post("/promo-codes/<id:promo_id>/deactivate")
def promo_code_deactivate(promo_id: int) -> Response:
    promo = get_or_404(PromoCode, promo_id)
    if ActionForm().validate_on_submit():
        promotions.set_active(db.session, promo, False)
        db.session.commit()
        flash(f"{promo.code} is deactivated; families can no longer use it.", "success")
    return hx_redirect(url_for(".promo_code_list"))
