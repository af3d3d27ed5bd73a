"""GET /purchases: online purchases of packages, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from prepbase.api.auth import api_blueprint, errors_documented, rate_limited
from prepbase.api.pagination import CursorPage, PageArgs, paginate
from prepbase.api.schemas import PurchaseSchema, page_of
from prepbase.extensions import db
from prepbase.models import Purchase
from prepbase.problems import API_PREFIX
from prepbase.tenant_url import get_or_404

bp = api_blueprint("purchases", f"{API_PREFIX}/purchases", "Online purchases of packages.")


@bp.route("", methods=["GET"])
@errors_documented(bp, 422)
@rate_limited
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(PurchaseSchema, "PurchasePage"))
def list_purchases(**page: Any) -> CursorPage[Purchase]:
    """Purchases by creation time and id, newest first."""
    stmt = select(Purchase)
    return paginate(db.session, stmt, [Purchase.created_at, Purchase.id], page, descending=True)


@bp.route("/<id:purchase_id>", methods=["GET"])
@errors_documented(bp, 404)
@rate_limited
@bp.response(200, PurchaseSchema)
def get_purchase(purchase_id: int) -> Purchase:
    """One purchase."""
    return get_or_404(Purchase, purchase_id)
