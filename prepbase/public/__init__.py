"""Public pages: the home page and business sign-up."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from prepbase.public import views  # noqa: E402,F401
