"""One log line per request, for the operator who runs PrepBase for many businesses.

Each request gets an id: the one a trusted proxy sends in `X-Request-ID`, else a new
one; it is returned in the response's `X-Request-ID`, written into every log line of
the request and given to error reports, so one id leads from a person's complaint to
the proxy's log, this app's log and Sentry. The request's line says which business
(its URL name), which user (the id only: never an e-mail address or a name), the
method, the path, the status and how long it took.

What is left out on purpose: the query string (searches and filters hold people's
names; the pages' forms send their data in the body, which is never logged) and the
secret of a link (invitation, password reset, calendar feed), logged as `<token>`.

`LOG_FORMAT=json` writes each line as one JSON object (python-json-logger); anything
else is plain text.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, NamedTuple

from flask import Flask, Response, g, has_request_context, request, request_started
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect

log = logging.getLogger("prepbase.request")

HEADER = "X-Request-ID"
# The ids proxies send (nginx's hex, UUIDs, AWS's "Root=1-…"): nothing that could break
# a log line or fill a disk.
_PROXY_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,200}")
# URL arguments that are a secret (the link is the key): logged as `<name>`.
SECRET_ARGUMENTS = ("token",)
# gunicorn's access log reads the logged path from here (gunicorn.conf.py, `{…}e`).
ENVIRON_PATH = "prepbase.path"

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"


class RequestIds(NamedTuple):
    """Who and what a request was about, as ids only (logs and error reports)."""

    request_id: str | None
    tenant: str | None
    user_id: int | None


def init_app(app: Flask) -> None:
    """Log every request of `app`. Call it before any other after-request hook is
    registered: the app's hooks run last-registered first, so this one runs last and
    its duration includes theirs (the mail sent after a commit, say)."""
    configure_logging(app.config.get("LOG_FORMAT", "text"))
    app.extensions["request_log_trusts_proxy"] = bool(app.config.get("TRUSTED_PROXIES"))
    # `request_started` comes before the URL processors (which load the business), so
    # the duration counts them too.
    request_started.connect(_start, app)
    app.before_request(_note_tenant)
    app.after_request(_log_response)
    app.teardown_request(_log_unanswered)


def configure_logging(log_format: str) -> None:
    """Send the app's log lines to stderr, as text or JSON, unless the process already
    set up logging (a host application, the test runner)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(make_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def make_formatter(log_format: str) -> logging.Formatter:
    """JSON objects (time in UTC, ISO 8601) or the plain-text line."""
    if log_format == "json":
        return JsonFormatter(
            JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"}, timestamp="time"
        )
    return logging.Formatter(TEXT_FORMAT)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request it was written in ("-" outside)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_ids().request_id or "-"
        return True


def current_ids() -> RequestIds:
    """The request id, the business's URL name and the signed-in user's id of the
    request being handled (all None outside a request)."""
    if not has_request_context():
        return RequestIds(None, None, None)
    return RequestIds(g.get("request_id"), g.get("log_tenant"), _user_id())


def path_for_logs() -> str:
    """The request's path with each secret URL argument replaced by `<name>`; no query
    string."""
    path = request.path
    arguments = request.view_args or {}
    for name in SECRET_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, str) and value:
            path = path.replace(value, f"<{name}>")
    return path


def _user_id() -> int | None:
    # Only a user this request already loaded (no query for a static file), read from
    # the identity map: after the view's commit its attributes are expired, and reading
    # `user.id` would load them again.
    # An API request's user is the admin its key acts as (`prepbase.api.auth`).
    user = g.get("_login_user") or g.get("api_actor")
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is None or state.identity is None:
        return None
    ident = state.identity[0]
    return ident if isinstance(ident, int) else None


def _start(sender: Flask, **_extra: Any) -> None:
    offered = request.headers.get(HEADER, "")
    trusted = sender.extensions.get("request_log_trusts_proxy", False)
    # Only a proxy we trust (TRUSTED_PROXIES) sets the id; a client's own is ignored.
    g.request_id = offered if trusted and _PROXY_ID.fullmatch(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _note_tenant() -> None:
    # Read now, just loaded: after the view commits, `slug` would be loaded again.
    if "tenant" in g:
        g.log_tenant = g.tenant.slug


def _log_response(response: Response) -> Response:
    if "request_started" in g:
        response.headers[HEADER] = g.request_id
        _write_line(response.status_code)
    return response


def _log_unanswered(_exc: BaseException | None = None) -> None:
    # An error that escaped every handler (only when exceptions propagate, as in
    # tests): no response went through `_log_response`, so the line is written here.
    if "request_started" in g and not g.get("request_logged"):
        _write_line(500)


def _write_line(status: int) -> None:
    ids = current_ids()
    path = path_for_logs()
    request.environ[ENVIRON_PATH] = path
    duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    log.info(
        "%s %s %s %sms tenant=%s user=%s",
        request.method,
        path,
        status,
        duration_ms,
        ids.tenant or "-",
        ids.user_id if ids.user_id is not None else "-",
        extra={
            "request_id": ids.request_id,
            "tenant": ids.tenant,
            "user_id": ids.user_id,
            "method": request.method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
        },
    )
    g.request_logged = True
