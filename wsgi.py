"""Entry point for gunicorn (`gunicorn wsgi:app`) and the flask CLI."""

from prepbase import create_app

app = create_app()
