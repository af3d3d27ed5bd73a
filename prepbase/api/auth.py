"""Who is calling: the Bearer token → the API key → its business (entered with the same
tenant scope the pages use) and the admin it acts as; then the key's scope and its rate
limit. A browser's session cookie authenticates nothing here."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import Forbidden, Unauthorized

from prepbase import api_keys as keys
from prepbase.extensions import csrf, db, limiter
from prepbase.models import User, utcnow
from prepbase.tenancy import set_current_tenant
from prepbase.transactions import READING_METHODS, apart_from_read

F = TypeVar("F", bound=Callable[..., Any])

SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate() -> None:
    """before_request of every API blueprint: 401 without a live key, 403 for a write
    with a read-only key. Sets `g.api_key`, `g.tenant` and `g.api_actor`."""
    token = _bearer_token()
    if token is None:
        raise Unauthorized("Send your API key as a Bearer token: Authorization: Bearer <key>.")
    caller = keys.find_caller(db.session, token)
    if caller is None:
        raise Unauthorized("This API key is unknown or was revoked.")
    now = utcnow()
    if keys.last_used_is_stale(caller.key, now):
        with apart_from_read(db.session):
            keys.mark_used(db.session, caller.key, now)
        caller = keys.find_caller(db.session, token)  # the commit expired what was loaded
        if caller is None:
            raise Unauthorized("This API key is unknown or was revoked.")
    g.api_key = caller.key
    g.api_actor = caller.actor
    g.tenant = caller.tenant
    g.log_tenant = caller.tenant.slug  # the request's log line (`request_log`)
    g.tenant_token = set_current_tenant(caller.tenant.id)  # left by `leave_tenant`
    if request.method not in READING_METHODS and not caller.key.writes:
        raise Forbidden("This API key may only read; create a read and write key to change data.")


def actor() -> User:
    """The admin the API acts as (who created the key)."""
    user: User = g.api_actor
    return user


# --- rate limits: per key, reads and writes counted apart -------------------------------


def _writing() -> bool:
    return request.method not in READING_METHODS


def _limit() -> str:
    name = "API_WRITE_RATE_LIMIT" if _writing() else "API_READ_RATE_LIMIT"
    return str(current_app.config[name])


def _key_id() -> str:
    return f"api-key-{g.api_key.id}" if "api_key" in g else request.remote_addr or "-"


def _scope(_endpoint: str) -> str:
    return "api-write" if _writing() else "api-read"


rate_limited = limiter.shared_limit(_limit, scope=_scope, key_func=_key_id)


def api_blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    """A blueprint of the API: authenticated by key, exempt from CSRF (no cookie counts)."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix, description=description)
    bp.before_request(authenticate)
    csrf.exempt(bp)
    return bp


def errors_documented(bp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Name in the OpenAPI document the problems an operation may answer (besides the
    401 and 429 every operation may)."""
    codes = sorted({401, 429, *statuses})
    decorator: Callable[[F], F] = bp.doc(
        security=SECURITY,
        responses={str(code): HTTPStatus(code).name for code in codes},
    )
    return decorator
