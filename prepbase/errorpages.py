"""Error pages: a full page normally, a small alert fragment for HTMX requests, and a
problem document (`prepbase.api.problems`) for the API."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from prepbase import problems
from prepbase.errors import DomainError, NotFound
from prepbase.extensions import db
from prepbase.htmx import is_htmx, render

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Reload the page and try again."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Page not found", "There is nothing here. Check the address, or go back."),
    405: ("Not allowed", "This page cannot be used that way."),
    410: ("Link expired", "This link has expired or was already used."),
    413: ("Too much at once", "That is too much to send at once. Shorten the text and try again."),
    422: ("Please check your input", "Something you entered could not be accepted."),
    429: ("Too many attempts", "Too many attempts. Please wait a minute and try again."),
    500: (
        "Something went wrong",
        "We could not finish that. Nothing was changed; please try again.",
    ),
}


def error_response(code: int, message: str | None = None) -> Response:
    """Render the error page (or the HTMX alert) for `code`."""
    title, default = MESSAGES.get(code, MESSAGES[500])
    response = render(
        "errors/error.html",
        block="alert",
        status=code,
        code=code,
        title=title,
        message=message or default,
    )
    if is_htmx():
        # Errors other than form validation show in the page's message area.
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def register(app: Flask) -> None:
    """Install the handlers for HTTP errors, CSRF failures and uncaught domain errors."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Response:
        return error_response(
            400, "Your form expired or was sent from elsewhere. Reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc
        if problems.is_api_request():
            if exc.code >= 500:
                db.session.rollback()
            return problems.from_http_exception(exc)
        message = exc.description if exc.code in (403, 410, 413, 422) and _custom(exc) else None
        return error_response(exc.code, message)

    # A Host header outside TRUSTED_HOSTS is refused before any other hook runs (CSRF,
    # limits…), and without a page: no link can be built for a host we do not serve.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_unknown_host)

    @app.errorhandler(SecurityError)
    def unknown_host(exc: SecurityError) -> Response:
        return Response("Unknown host.\n", 400, mimetype="text/plain")

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        if problems.is_api_request():
            db.session.rollback()
            return problems.from_domain_error(exc)
        return error_response(404)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        db.session.rollback()  # nothing of a refused action is kept, even if flushed
        if problems.is_api_request():
            return problems.from_domain_error(exc)
        return error_response(422, exc.message)

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError) -> Response:
        db.session.rollback()  # the page itself must be able to query again
        if problems.is_api_request():
            return problems.problem_response(500)
        return error_response(500)


def _refuse_unknown_host() -> None:
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def _custom(exc: HTTPException) -> bool:
    # werkzeug's default descriptions are technical; show only ones we wrote.
    return type(exc).description != exc.description
