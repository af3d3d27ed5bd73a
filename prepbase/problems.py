"""Every error of the API (`prepbase.api`) as an RFC 9457 problem document
(`application/problem+json`): type, title, status, detail, and `errors` (field →
messages) for invalid input. The
`detail` of a refused action is the sentence the pages show for it (`DomainError`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from prepbase.errors import DomainError, NotFound

API_PREFIX = "/api/v1"
PROBLEM_TYPE = "application/problem+json"

# status → (type slug, title, the detail when there is nothing more specific)
KINDS: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Bad request", "The request could not be read."),
    401: (
        "unauthenticated",
        "Authentication required",
        "Send a live API key: Authorization: Bearer <key>.",
    ),
    403: ("forbidden", "Not allowed", "This API key may only read."),
    404: ("not-found", "Not found", "There is nothing here, or it belongs to another business."),
    405: ("method-not-allowed", "Method not allowed", "This address does not take that method."),
    409: ("conflict", "Refused", "The action is not possible in the current state."),
    413: ("too-large", "Too large", "The request body is too large."),
    415: ("unsupported-media-type", "Unsupported media type", "Send the body as application/json."),
    422: ("invalid", "Invalid input", "Some of the input could not be accepted."),
    429: ("rate-limited", "Too many requests", "This key sent too many requests; wait and retry."),
    500: ("server-error", "Server error", "We could not finish that. Nothing was changed."),
}


def is_api_request() -> bool:
    """True for a request to the API (its errors are problem documents, not pages)."""
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def problem_type(slug: str) -> str:
    """The problem type's URI: its entry on the API reference page."""
    return f"{API_PREFIX}/docs#problem-{slug}"


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    slug, title, default = KINDS.get(status, KINDS[500])
    if status not in KINDS:
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else title
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail or default,
    }
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(messages: Any) -> dict[str, list[str]]:
    """webargs' {location: {field: [messages]}} as {field: [messages]}; nested fields
    joined with dots, messages of the whole body under "_body"."""
    found: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(f"{prefix}.{name}" if prefix else str(name), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            found.setdefault(prefix or "_body", []).extend(value)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}", inner)
        else:
            found.setdefault(prefix or "_body", []).append(str(value))

    if isinstance(messages, dict):
        for inner in messages.values():  # the location: json, query, …
            walk("", inner)
    else:
        walk("", messages)
    return found


def from_http_exception(exc: HTTPException) -> Response:
    """A werkzeug/webargs/Flask-Limiter error as a problem."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    headers = dict(data.get("headers") or {})
    errors = None
    if "errors" in data:
        errors = data["errors"]
    elif "messages" in data:
        errors = _field_errors(data["messages"])
    detail = data.get("message")
    if detail is None and status == 400 and errors:
        detail = " ".join(m for ms in errors.values() for m in ms)
        errors = None
    if detail is None and exc.description and type(exc).description != exc.description:
        detail = exc.description
    if status == 422 and errors is None:
        errors = {}
    if status == 429:
        detail = KINDS[429][2]
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    response = problem_response(status, detail, errors=errors, headers=headers)
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


# The domain names a refused input after the page's form field; the API's field is named
# after the data it holds.
API_FIELDS = {
    "start_time": "starts_at",
    "date": "starts_at",
    "duration": "duration_minutes",
    "staff": "staff_id",
    "category": "category_id",
    "subject": "subject_id",
}


def from_domain_error(exc: DomainError) -> Response:
    """A refusal of the domain: 404 for a missing or foreign row; 422 with the field for
    bad input; 409 for an action the current state does not allow."""
    if isinstance(exc, NotFound):
        return problem_response(404)
    if exc.field:
        field = API_FIELDS.get(exc.field, exc.field)
        return problem_response(422, exc.message, errors={field: [exc.message]})
    return problem_response(409, exc.message)
