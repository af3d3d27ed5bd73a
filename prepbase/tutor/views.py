from __future__ import annotations

from werkzeug.wrappers import Response

from prepbase.htmx import render
from prepbase.tutor import bp


@bp.get("/")
def dashboard() -> Response:
    return render("tutor/dashboard.html")
