"""The `public` blueprint object; its view modules add the routes."""

from flask import Blueprint

bp = Blueprint("public", __name__)
