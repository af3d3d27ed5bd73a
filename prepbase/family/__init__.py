"""The family portal: parents and students."""

from flask import Blueprint

from prepbase.guards import guard_blueprint
from prepbase.models import Role

bp = Blueprint("family", __name__)
guard_blueprint(bp, {Role.PARENT, Role.STUDENT})

from prepbase.family import purchase_views, views  # noqa: E402,F401
