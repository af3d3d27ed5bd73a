"""Calendar feeds at secret addresses: no sign-in, the token in the address is the key."""

from flask import Blueprint

bp = Blueprint("calendar", __name__)

from prepbase.feeds import views  # noqa: E402,F401
