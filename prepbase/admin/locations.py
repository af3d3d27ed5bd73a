"""Settings → Locations: the business's places, where Center sessions take place."""

from __future__ import annotations

from flask import flash, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import categories
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import LocationForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import Location
from prepbase.tenant_url import get_or_404


@bp.get("/settings/locations")
def location_list() -> Response:
    rows = db.session.scalars(select(Location).order_by(Location.name, Location.id)).all()
    return render("admin/settings/locations.html", rows=rows, action_form=ActionForm())


def _location_form_page(location: Location | None) -> Response:
    form = LocationForm(obj=location) if request.method == "GET" else LocationForm()
    if form.validate_on_submit():
        try:
            saved = categories.save_location(
                db.session, location, name=form.name.data or "", address=form.address.data or ""
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"{saved.name} is saved.", "success")
            return hx_redirect(url_for(".location_list"))
    return render(
        "admin/settings/location_form.html",
        block="form",
        status=form_status(),
        form=form,
        location=location,
    )


@bp.route("/settings/locations/new", methods=["GET", "POST"])
def location_new() -> Response:
    return _location_form_page(None)


@bp.route("/settings/locations/<id:location_id>/edit", methods=["GET", "POST"])
def location_edit(location_id: int) -> Response:
    return _location_form_page(get_or_404(Location, location_id))


def _set_active(location_id: int, active: bool) -> Response:
    location = get_or_404(Location, location_id)
    if ActionForm().validate_on_submit():
        try:
            categories.set_location_active(db.session, location, active)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"{location.name} is {'in use again' if active else 'retired'}.", "success")
    return hx_redirect(url_for(".location_list"))


@bp.post("/settings/locations/<id:location_id>/deactivate")
def location_deactivate(location_id: int) -> Response:
    return _set_active(location_id, False)


@bp.post("/settings/locations/<id:location_id>/activate")
def location_activate(location_id: int) -> Response:
    return _set_active(location_id, True)
