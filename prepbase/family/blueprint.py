"""The `family` blueprint object and its role guard; its view modules add the routes."""

from flask import Blueprint

from prepbase.guards import guard_blueprint
from prepbase.models import Role

bp = Blueprint("family", __name__)
guard_blueprint(bp, {Role.PARENT, Role.STUDENT})
