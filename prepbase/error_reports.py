"""Errors reported to Sentry, only when `SENTRY_DSN` is set, with no personal data.

A report carries ids and nothing else about people: the request id, the business's URL
name and the user's id (the same ids as the request's log line, `request_log`). Sentry's
own switches keep most out (`data_collection`, sentry-sdk's successor to
`send_default_pii=False`: no user, cookies, bodies, query strings or local variables);
`scrub_event` removes the rest before an event leaves the process: cookies, every header
but a few technical ones, the query string and a link's secret, and any e-mail address,
SQL parameter or PostgreSQL DETAIL line (they quote row values) in messages, exceptions
and breadcrumbs.
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from flask import Flask, has_request_context, request
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.types import Event, Hint

from prepbase.request_log import current_ids, path_for_logs

# Request headers a report keeps (lower case); cookies, Authorization, Referer (its
# query string), User-Agent and forwarded addresses are dropped.
KEPT_HEADERS = frozenset(
    ["host", "accept", "content-type", "content-length", "hx-request", "x-request-id"]
)
_EMAIL = re.compile(r"[^\s@<>()\[\]{}'\",;:=]+@[^\s@<>()\[\]{}'\",;:=]+\.[A-Za-z]{2,}")
# SQLAlchemy's "[parameters: …]" and PostgreSQL's "DETAIL: Key (email)=(…)" quote values.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL)
_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)


def init_app(app: Flask) -> None:
    """Start reporting `app`'s errors to Sentry when SENTRY_DSN is set; otherwise do
    nothing (no client, nothing sent). Sentry's client is one per process, as gunicorn
    runs one app per worker."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        # Only the integrations named here and Sentry's defaults (logging, excepthook…).
        auto_enabling_integrations=False,
        environment=str(app.config.get("PREPBASE_ENV", "production")),
        # What `send_default_pii=False` meant, said the way sentry-sdk 2.75 asks (it
        # deprecates `send_default_pii`): no user, cookies, bodies, query strings, SQL
        # values or local variables; only the technical headers.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(KEPT_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "gen_ai": {"inputs": False, "outputs": False},
            "graphql": {"document": False, "variables": False},
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        before_send=scrub_event,
    )


def scrub_event(event: Event, _hint: Hint) -> Event:
    """The event as it may leave: the request reduced to method, path and a few
    headers, the user reduced to an id, the request's ids as tags, personal values
    cut out of every text."""
    ids = current_ids()
    if "request" in event:
        event["request"] = _request_part(event["request"])
    if ids.user_id is not None:
        event["user"] = {"id": str(ids.user_id)}
    else:
        event.pop("user", None)
    tags = dict(event.get("tags") or {})
    tags.update({k: v for k, v in (("request_id", ids.request_id), ("tenant", ids.tenant)) if v})
    event["tags"] = tags
    event.get("extra", {}).pop("sys.argv", None)  # a CLI command's arguments
    crumbs = event.get("breadcrumbs")
    for crumb in crumbs.get("values", []) if isinstance(crumbs, dict) else []:
        crumb.pop("data", None)
    for exception in (event.get("exception") or {}).get("values", []):
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    scrubbed: Event = _scrub(event)
    return scrubbed


def _request_part(part: dict[str, Any]) -> dict[str, Any]:
    url = str(part.get("url", "")).split("?", 1)[0]
    if has_request_context():
        url = request.host_url.rstrip("/") + path_for_logs()
    headers = part.get("headers") or {}
    return {
        "method": part.get("method"),
        "url": url,
        "headers": {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
    }


def _scrub(value: Any) -> Any:
    """Every text inside `value` with e-mail addresses and quoted row values cut out."""
    if isinstance(value, str):
        value = _SQL_PARAMETERS.sub("[parameters: filtered]", value)
        value = _DETAIL.sub("DETAIL: [filtered]", value)
        return _EMAIL.sub("[email]", value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value
