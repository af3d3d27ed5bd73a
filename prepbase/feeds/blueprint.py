"""The `feeds` blueprint object; its view modules add the routes."""

from flask import Blueprint

bp = Blueprint("calendar", __name__)
