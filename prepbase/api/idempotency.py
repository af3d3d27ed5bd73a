"""Writes of the API: one transaction per request, and `Idempotency-Key` (a retried POST
gets the first one's response instead of doing the work twice).

The key is claimed by inserting its record in the transaction that does the work: a
concurrent copy of the request waits on the unique constraint and, once the first
commits, replays its response; if the first fails, nothing of it stays (its claim
neither) and the copy does the work. A refused request (4xx) stores nothing: it changed
nothing, and its retry is checked again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, make_response, request
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from prepbase.extensions import db
from prepbase.inputs import has_control_characters
from prepbase.models import IdempotencyRecord

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
MAX_KEY = 255


def fingerprint() -> str:
    """Method, path and body: what makes two requests the same request."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data()):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _checked_key() -> str | None:
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not value.strip() or len(value) > MAX_KEY or has_control_characters(value):
        message = f"Use 1 to {MAX_KEY} visible characters, e.g. a UUID."
        abort(422, message=f"{HEADER}: {message}", errors={HEADER: [message]})
    return value


def _claim(key: str, print_: str) -> IdempotencyRecord | Response:
    """Our record for `key`, or the response to replay."""
    record = IdempotencyRecord(api_key_id=g.api_key.id, idempotency_key=key, fingerprint=print_)
    try:
        with db.session.begin_nested():
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        earlier = db.session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == g.api_key.id,
                IdempotencyRecord.idempotency_key == key,
            )
        ).one()
        if earlier.fingerprint != print_:
            message = "This Idempotency-Key was already used with another request."
            abort(422, message=message, errors={HEADER: [message]})
        if earlier.status_code is None:
            abort(409, message="A request with this Idempotency-Key is still being processed.")
        replay = Response(earlier.body, status=earlier.status_code, mimetype="application/json")
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    return record


def write(view: F) -> F:
    """The transaction of a writing API view: body must be JSON, `Idempotency-Key`
    honoured, committed once when the view succeeds (a refusal rolls back in
    `errorpages`)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        if (request.content_length or request.mimetype) and not request.is_json:
            abort(415, message="Send the body as JSON (Content-Type: application/json).")
        key = _checked_key()
        record = None
        if key is not None:
            claimed = _claim(key, fingerprint())
            if isinstance(claimed, Response):
                db.session.rollback()
                return claimed
            record = claimed
        response = make_response(view(*args, **kwargs))
        if record is not None and response.status_code < 400:
            record.status_code = response.status_code
            record.body = response.get_data(as_text=True)
        db.session.commit()
        return response

    return wrapper  # type: ignore[return-value]
