"""The admin's dashboard: the business at a glance and, until the business is set up,
the Get going checklist (prepbase/overview.py)."""

from __future__ import annotations

from flask import g
from werkzeug.wrappers import Response

from prepbase.admin.blueprint import bp
from prepbase.business import sells_online
from prepbase.extensions import db
from prepbase.forms import ActionForm
from prepbase.htmx import render
from prepbase.localtime import business_today
from prepbase.overview import business_overview, get_going


@bp.get("/")
def dashboard() -> Response:
    return render(
        "admin/dashboard.html",
        overview=business_overview(db.session, g.tenant, business_today(g.tenant)),
        steps=get_going(db.session, online_payments=sells_online(g.tenant)),
        action_form=ActionForm(),
    )
