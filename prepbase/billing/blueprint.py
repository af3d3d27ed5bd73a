"""The `billing` blueprint object; its view modules add the routes."""

from flask import Blueprint

from prepbase.extensions import csrf

bp = Blueprint("billing", __name__)
csrf.exempt(bp)  # Stripe signs its requests instead (verified in the view)
