"""The business owner's and office staff's pages."""

from flask import Blueprint

from prepbase.guards import guard_blueprint
from prepbase.models import Role

bp = Blueprint("admin", __name__)
guard_blueprint(bp, {Role.ADMIN})

from prepbase.admin import (  # noqa: E402,F401
    email_views,
    package_views,
    payment_views,
    report_views,
    scheduling_views,
    session_views,
    views,
)
