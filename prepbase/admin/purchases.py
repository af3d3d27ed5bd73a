"""Purchases: every online purchase of the business, newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from prepbase.admin.blueprint import bp
from prepbase.extensions import db
from prepbase.htmx import render
from prepbase.models import Purchase, Student, User


@bp.get("/purchases")
def purchase_list() -> Response:
    """Every online purchase of the business, newest first."""
    rows = db.session.scalars(
        select(Purchase)
        .options(
            joinedload(Purchase.user).joinedload(User.family),
            joinedload(Purchase.student).joinedload(Student.family),
            joinedload(Purchase.package),
        )
        .order_by(Purchase.created_at.desc(), Purchase.id.desc())
    ).all()
    return render("admin/purchases/list.html", purchases=rows)
