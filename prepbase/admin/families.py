"""Families: the list, adding one, a family's page and inviting its parents."""

from __future__ import annotations

from flask import flash, g, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import package_payments, people
from prepbase.admin.blueprint import bp
from prepbase.admin.common import invite, refused
from prepbase.admin.forms import FamilyForm, InviteParentForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import Family, Role
from prepbase.tenant_url import get_or_404


@bp.get("/families")
def family_list() -> Response:
    families = db.session.scalars(select(Family).order_by(Family.name)).all()
    return render("admin/families/list.html", families=families)


def _family_form_page(family: Family | None) -> Response:
    """Add Family (`family` None) and Edit Family: one form, one transaction."""
    form = FamilyForm(obj=family)
    if form.validate_on_submit():
        values = {
            "name": form.name.data or "",
            "address": form.address.data or "",
            "phone": form.phone.data or "",
        }
        try:
            if family is None:
                saved = people.create_family(db.session, current_user, **values)
            else:
                people.update_family(db.session, current_user, family, **values)
                saved = family
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(
                f"{saved.name} is added. Add its students and invite its parents."
                if family is None
                else f"{saved.name} is saved.",
                "success",
            )
            return hx_redirect(url_for(".family_detail", family_id=saved.id))
    return render(
        "admin/families/form.html", block="form", status=form_status(), form=form, family=family
    )


@bp.route("/families/new", methods=["GET", "POST"])
def family_new() -> Response:
    return _family_form_page(None)


@bp.route("/families/<id:family_id>/edit", methods=["GET", "POST"])
def family_edit(family_id: int) -> Response:
    return _family_form_page(get_or_404(Family, family_id))


@bp.get("/families/<id:family_id>")
def family_detail(family_id: int) -> Response:
    family = get_or_404(Family, family_id)
    return render(
        "admin/families/detail.html",
        family=family,
        balances=package_payments.family_balances(db.session, g.tenant, [family.id]).get(
            family.id, []
        ),
        parent_form=InviteParentForm(),
        action_form=ActionForm(),
        never_invited=people.never_invited_ids(db.session, [p.id for p in family.parents]),
    )


@bp.post("/families/<id:family_id>/parents")
def family_invite_parent(family_id: int) -> Response:
    family = get_or_404(Family, family_id)
    form = InviteParentForm()
    if form.validate_on_submit():
        done = invite(
            form,
            lambda: url_for(".family_detail", family_id=family.id),
            name=form.name.data,
            role=Role.PARENT,
            family=family,
        )
        if done is not None:
            return done
    return render(
        "admin/families/detail.html",
        block="parent_form",
        status=form_status(),
        family=family,
        parent_form=form,
        action_form=ActionForm(),
        never_invited=people.never_invited_ids(db.session, [p.id for p in family.parents]),
    )
