"""GET /offerings: the business's catalogue (archived ones too, marked)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from prepbase.api.auth import api_blueprint, errors_documented, rate_limited
from prepbase.api.pagination import CursorPage, PageArgs, paginate
from prepbase.api.schemas import OfferingSchema, page_of
from prepbase.extensions import db
from prepbase.models import Offering
from prepbase.problems import API_PREFIX
from prepbase.tenant_url import get_or_404

bp = api_blueprint("offerings", f"{API_PREFIX}/offerings", "The catalogue of packages.")


@bp.route("", methods=["GET"])
@errors_documented(bp, 422)
@rate_limited
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(OfferingSchema, "OfferingPage"))
def list_offerings(**page: Any) -> CursorPage[Offering]:
    """Offerings by name and id."""
    return paginate(db.session, select(Offering), [Offering.name, Offering.id], page)


@bp.route("/<id:offering_id>", methods=["GET"])
@errors_documented(bp, 404)
@rate_limited
@bp.response(200, OfferingSchema)
def get_offering(offering_id: int) -> Offering:
    """One offering."""
    return get_or_404(Offering, offering_id)
