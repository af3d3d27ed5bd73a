"""Settings → Session Categories (design §11): what kinds of session the business gives,
in which colour, where, with which buffers and reminder time."""

from __future__ import annotations

from flask import flash, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import cancellation, categories
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import CategoryForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import Location, SessionCategory
from prepbase.tenant_url import get_or_404


@bp.get("/settings/categories")
def category_list() -> Response:
    rows = db.session.scalars(
        select(SessionCategory).order_by(SessionCategory.name, SessionCategory.id)
    ).all()
    return render("admin/settings/categories.html", rows=rows, action_form=ActionForm())


def _location_choices(category: SessionCategory | None) -> list[Location]:
    # Active locations, and the one the category holds even if it was retired since.
    rows = db.session.scalars(select(Location).order_by(Location.name)).all()
    held = category.location_id if category is not None else None
    return [loc for loc in rows if loc.active or loc.id == held]


def _category_form_page(category: SessionCategory | None) -> Response:
    form = CategoryForm()
    form.set_location_choices(_location_choices(category))
    if request.method == "GET" and category is not None:
        form.fill_from(category)
    if form.validate_on_submit():
        assert form.buffer_before_minutes.data is not None  # required, like the others below
        assert form.buffer_after_minutes.data is not None
        assert form.link_lead_minutes.data is not None
        assert form.capacity.data is not None
        location = get_or_404(Location, int(form.location.data)) if form.location.data else None
        try:
            saved = categories.save_category(
                db.session,
                category,
                name=form.name.data or "",
                colour=form.colour.data or "",
                location_type=form.location_type.data,
                location=location,
                buffer_before_minutes=form.buffer_before_minutes.data,
                buffer_after_minutes=form.buffer_after_minutes.data,
                reminder_hours=form.reminder_hours.data,
                link_lead_minutes=form.link_lead_minutes.data,
                capacity=form.capacity.data,
                families_may_join=bool(form.families_may_join.data),
            )
            cancellation.set_category_policy(
                saved,
                window_hours=form.late_cancel_window_hours.data,
                keep_percent=form.late_cancel_keep_percent.data,
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"{saved.name} is saved.", "success")
            return hx_redirect(url_for(".category_list"))
    return render(
        "admin/settings/category_form.html",
        block="form",
        status=form_status(),
        form=form,
        category=category,
    )


@bp.route("/settings/categories/new", methods=["GET", "POST"])
def category_new() -> Response:
    return _category_form_page(None)


@bp.route("/settings/categories/<id:category_id>/edit", methods=["GET", "POST"])
def category_edit(category_id: int) -> Response:
    return _category_form_page(get_or_404(SessionCategory, category_id))


def _set_active(category_id: int, active: bool) -> Response:
    category = get_or_404(SessionCategory, category_id)
    if ActionForm().validate_on_submit():
        try:
            categories.set_category_active(db.session, category, active)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                f"{category.name} is {'offered again' if active else 'no longer offered'}; "
                "sessions already made keep it.",
                "success",
            )
    return hx_redirect(url_for(".category_list"))


@bp.post("/settings/categories/<id:category_id>/deactivate")
def category_deactivate(category_id: int) -> Response:
    return _set_active(category_id, False)


@bp.post("/settings/categories/<id:category_id>/activate")
def category_activate(category_id: int) -> Response:
    return _set_active(category_id, True)
