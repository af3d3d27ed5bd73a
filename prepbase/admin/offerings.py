"""Offerings: the catalogue of packages the business sells or assigns (design §2)."""

from __future__ import annotations

from flask import flash, g, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import packages
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import OfferingForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import Offering
from prepbase.tenant_url import get_or_404


@bp.get("/offerings")
def offering_list() -> Response:
    offerings = db.session.scalars(select(Offering).order_by(Offering.name, Offering.id)).all()
    return render(
        "admin/offerings/list.html",
        current=[o for o in offerings if not o.archived],
        archived=[o for o in offerings if o.archived],
        action_form=ActionForm(),
    )


def _offering_form_page(offering: Offering | None) -> Response:
    form = OfferingForm()
    form.set_currency(g.tenant.currency)  # prices are typed in the business's currency
    if request.method == "GET" and offering is not None:
        form.fill_from(offering)
    if form.validate_on_submit():
        try:
            saved = packages.save_offering(
                db.session,
                current_user,
                offering,
                **form.terms(),
                price_minor=form.price_minor,
                currency=g.tenant.currency,
                sold_online=bool(form.sold_online.data),
                extension=form.extension(),
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"{saved.name} is saved.", "success")
            return hx_redirect(url_for(".offering_list"))
    return render(
        "admin/offerings/form.html",
        block="form",
        status=form_status(),
        form=form,
        offering=offering,
    )


@bp.route("/offerings/new", methods=["GET", "POST"])
def offering_new() -> Response:
    return _offering_form_page(None)


@bp.route("/offerings/<id:offering_id>/edit", methods=["GET", "POST"])
def offering_edit(offering_id: int) -> Response:
    return _offering_form_page(get_or_404(Offering, offering_id))


def _set_archived(offering_id: int, archived: bool) -> Response:
    offering = get_or_404(Offering, offering_id)
    if ActionForm().validate_on_submit():
        packages.set_offering_archived(db.session, current_user, offering, archived)
        db.session.commit()
        if archived:
            flash(
                f"{offering.name} is archived; Add Package and Buy Hours no longer offer it.",
                "success",
            )
        else:
            flash(f"{offering.name} is restored.", "success")
    return hx_redirect(url_for(".offering_list"))


@bp.post("/offerings/<id:offering_id>/archive")
def offering_archive(offering_id: int) -> Response:
    return _set_archived(offering_id, True)


@bp.post("/offerings/<id:offering_id>/restore")
def offering_restore(offering_id: int) -> Response:
    return _set_archived(offering_id, False)
