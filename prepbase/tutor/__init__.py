"""Tutors' and counselors' pages (admins who teach use them too)."""

from flask import Blueprint

from prepbase.guards import guard_blueprint
from prepbase.models import Role

bp = Blueprint("tutor", __name__)
guard_blueprint(bp, {Role.TUTOR, Role.COUNSELOR, Role.ADMIN})

from prepbase.tutor import availability_views, views  # noqa: E402,F401
