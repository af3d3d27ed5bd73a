"""One guard per blueprint: sign-in required, then the role must be allowed."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, abort, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase.htmx import hx_redirect


def guard_blueprint(bp: Blueprint, roles: Iterable[str]) -> None:
    """Register a before_request on `bp` that admits only signed-in users of `roles`."""
    allowed = frozenset(roles)

    @bp.before_request
    def _guard() -> Response | None:
        if not current_user.is_authenticated:
            login = url_for("tenant.auth.login", next=request.full_path.rstrip("?"))
            return hx_redirect(login, code=302)
        if current_user.role not in allowed:
            abort(403)
        return None


def dashboard_endpoint(role: str) -> str:
    """Where each role lands after signing in."""
    if role == "admin":
        return "tenant.admin.dashboard"
    if role in {"tutor", "counselor"}:
        return "tenant.tutor.dashboard"
    return "tenant.family.dashboard"
