"""The tenant URL prefix: every page of a business lives under /<tenant_slug>/….

This parent blueprint loads the business once per request (with the signed-in user, in
one statement), enters its scope (`prepbase.tenancy`), and checks that a signed-in user
belongs to it. The nested blueprints (auth, admin, tutor, family, calendar) inherit all of
it; `portal.py` does the nesting.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, abort, g, request, session
from flask_login import current_user
from sqlalchemy.sql.base import ExecutableOption

from prepbase.accounts import load_tenant_and_user
from prepbase.extensions import db
from prepbase.tenancy import get_scoped, reset_current_tenant, set_current_tenant

T = TypeVar("T")

tenant_bp = Blueprint("tenant", __name__, url_prefix="/<tenant_slug>")


@tenant_bp.url_value_preprocessor
def _load_tenant(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    slug = (values or {}).pop("tenant_slug", None)
    if not slug:
        abort(404)
    # The signed-in user comes with the business: one statement for both.
    tenant, user = load_tenant_and_user(db.session, slug, session.get("_user_id"))
    if tenant is None:
        abort(404)
    if user is not None:
        g.prefetched_user = user
    g.tenant = tenant
    g.tenant_token = set_current_tenant(tenant.id)


@tenant_bp.url_defaults
def _add_tenant_slug(_endpoint: str, values: dict[str, object]) -> None:
    if "tenant_slug" not in values and "tenant" in g:
        values["tenant_slug"] = g.tenant.slug


def signed_in_here() -> bool:
    """True when someone is signed in *to the business of this URL*."""
    return bool(
        current_user.is_authenticated and "tenant" in g and current_user.tenant_id == g.tenant.id
    )


@tenant_bp.before_request
def _require_own_tenant() -> None:
    # A signed-in user of another business sees this business's portal pages exactly
    # as if they did not exist; only its public auth pages (login, links) answer.
    if (
        current_user.is_authenticated
        and not signed_in_here()
        and request.blueprint != "tenant.auth"
    ):
        abort(404)


def leave_tenant(_exc: BaseException | None = None) -> None:
    """Teardown: forget the request's tenant so nothing leaks into the next request."""
    token = g.pop("tenant_token", None)
    if token is not None:
        reset_current_tenant(token)


def get_or_404(model: type[T], ident: object, *options: ExecutableOption) -> T:
    """A row of the current tenant by id (loaded with `options`); a missing or foreign row
    is the same 404."""
    if not isinstance(ident, int):
        abort(404)
    row = get_scoped(db.session, model, ident, *options)
    if row is None:
        abort(404)
    return row
