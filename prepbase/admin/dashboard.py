"""The admin's dashboard: the business at a glance (prepbase/overview.py)."""

from __future__ import annotations

from flask import g
from werkzeug.wrappers import Response

from prepbase.admin.blueprint import bp
from prepbase.extensions import db
from prepbase.forms import ActionForm
from prepbase.htmx import render
from prepbase.localtime import business_today
from prepbase.overview import business_overview


@bp.get("/")
def dashboard() -> Response:
    return render(
        "admin/dashboard.html",
        overview=business_overview(db.session, g.tenant, business_today(g.tenant)),
        action_form=ActionForm(),
    )
