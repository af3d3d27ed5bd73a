"""The admin blueprint and its guard: every page of it is for the business's admins."""

from flask import Blueprint

from prepbase.guards import guard_blueprint
from prepbase.models import Role

bp = Blueprint("admin", __name__)
guard_blueprint(bp, {Role.ADMIN})
