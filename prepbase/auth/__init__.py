"""Sign-in, sign-out, invitations, password resets: the tenant's public account pages."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from prepbase.auth import views  # noqa: E402,F401
