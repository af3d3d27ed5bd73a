"""What PrepBase accepts from a request: plain text, row ids and page numbers.

Two layers, each written once. Forms explain a mistake under the field
(`prepbase.forms.Form` applies the text rule below to every text field). This module's
net refuses, before any view or query runs, what no form gets the chance to explain:

- a control character in the address or the query string, or a NUL byte anywhere in a
  form body (nobody types one, and PostgreSQL cannot store it): 422;
- a row id in a URL that no row can have (the `id` converter: 1 to 2³¹−1, PostgreSQL's
  `integer`): the route does not match, so it is a 404 like any missing row.

Over-long bodies stop at MAX_CONTENT_LENGTH (config.py): 413. A view that takes a file
says how large a body it accepts with `takes_upload`; the net applies that limit before
the body is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnprocessableEntity
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # the largest value of an `integer` column, our primary keys
MAX_PAGE = 100_000  # a page number beyond any list; keeps OFFSET small

CONTROL_MESSAGE = (
    "What you sent contains control characters (such as NUL) that cannot be used. "
    "Remove them and try again."
)
ONE_LINE_MESSAGE = "Use one line of plain text: no line breaks, tabs or control characters."
MULTI_LINE_MESSAGE = "Remove the invisible control characters from this text."

# Unicode's control characters (category Cc): C0, DEL and C1. Multi-line text keeps
# tab, line feed and carriage return, which a textarea legitimately sends.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ID = re.compile("[0-9]{1,10}")

V = TypeVar("V", bound=Callable[..., Any])


def takes_upload(max_bytes: int, message: str) -> Callable[[V], V]:
    """Mark a view that receives a file: its request body may be up to `max_bytes` (every
    other view keeps MAX_CONTENT_LENGTH); a larger one is a 413 saying `message`.
    Put it under the route decorator, so that the registered view carries the mark."""

    def mark(view: V) -> V:
        view.upload_limit = (max_bytes, message)  # type: ignore[attr-defined]
        return view

    return mark


def _apply_upload_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "upload_limit", None)
    if limit is None:
        return
    max_bytes, message = limit
    if request.content_length is not None and request.content_length > max_bytes:
        raise RequestEntityTooLarge(message)
    request.max_content_length = max_bytes


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """True when `text` holds a character no one means to type (tab and line breaks
    count as such on one line only)."""
    return bool((_CONTROL_BUT_LINES if multiline else _CONTROL).search(text))


def parse_id(text: str) -> int | None:
    """A row id written in plain ASCII digits, or None when no row can have it."""
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def page_number(name: str = "page") -> int:
    """The query string's page number: plain digits, 1 to MAX_PAGE; anything else is
    page 1, and a larger number the last page we would ever show."""
    text = request.args.get(name, "")
    if not text.isascii() or not text.isdigit():
        return 1
    number = int(text) if len(text) <= 9 else MAX_PAGE
    return max(1, min(number, MAX_PAGE))


class IdConverter(IntegerConverter):
    """`<id:student_id>`: a row id in a URL. Only ASCII digits (werkzeug's `int` takes
    any Unicode digit and numbers of any size), 1 to MAX_ID."""

    regex = "[0-9]{1,10}"

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def refuse_control_characters(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """The net: a control character in the path or the query string, or a NUL in a form
    body, is a 422 before anything reads it.

    Registered as the app's URL value preprocessor because those run before every
    blueprint's, so even the tenant prefix never looks up a slug holding a NUL.
    """
    if has_control_characters(request.path) or any(
        has_control_characters(key) or has_control_characters(value)
        for key, value in request.args.items(multi=True)
    ):
        raise UnprocessableEntity(CONTROL_MESSAGE)
    _apply_upload_limit()
    if any("\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)):
        raise UnprocessableEntity(CONTROL_MESSAGE)


def init_app(app: Flask) -> None:
    """Install the `id` converter (before any route uses it) and the net."""
    app.url_map.converters["id"] = IdConverter
    app.url_value_preprocessor(refuse_control_characters)
