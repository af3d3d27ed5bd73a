"""The `auth` blueprint object; its view modules add the routes."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
