from __future__ import annotations

from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase.extensions import db
from prepbase.family import bp
from prepbase.family_scope import visible_students
from prepbase.htmx import render


@bp.get("/")
def dashboard() -> Response:
    students = visible_students(db.session, current_user)
    return render("family/dashboard.html", students=students, family=current_user.family)
