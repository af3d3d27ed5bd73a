"""Cursor pagination: a list is ordered by (sort key, id), and a page's `next_cursor` is
the opaque base64 of its last row's (sort key, id); the next page starts after it. Rows
added or removed between pages neither repeat nor hide the others (unlike OFFSET)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from prepbase.errors import DomainError
from prepbase.inputs import MAX_ID

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class PageArgs(Schema):
    """The query parameters every list takes."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Rows per page, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=500),
        metadata={"description": "The `next_cursor` of the previous page."},
    )


@dataclass
class CursorPage(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _decode(value: object) -> object:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(str(value["t"]))
    if isinstance(value, dict) and "d" in value:
        return date.fromisoformat(str(value["d"]))
    return value


def encode_cursor(values: Sequence[object]) -> str:
    raw = json.dumps([_encode(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> list[object]:
    """The values of a cursor, each of the type of its column in `kinds`; one this API
    did not make is refused (422 on `cursor`), never sent to the database."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError
        decoded = [_decode(v) for v in values]
        for value, kind in zip(decoded, kinds, strict=True):
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                raise ValueError
        return decoded
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError):
        raise DomainError("This cursor is not one this list gave.", field="cursor") from None


def paginate(
    session: Session,
    stmt: Select[Any],
    order: Sequence[InstrumentedAttribute[Any]],
    args: dict[str, Any],
    *,
    descending: bool = False,
    key: Callable[[Any], Sequence[object]] | None = None,
) -> CursorPage[Any]:
    """One page of `stmt` (which selects one entity) in the stable order `order` (the
    last column is the unique id), starting after `args["cursor"]`.

    Keyset condition written out (a row-value comparison is not on every database)."""
    limit: int = args.get("limit") or DEFAULT_LIMIT
    cursor = args.get("cursor")
    if cursor:
        # A TypeDecorator (UTCDateTime) says its Python type through its `impl`.
        kinds = [getattr(c.type, "impl", c.type).python_type for c in order]
        after = decode_cursor(cursor, kinds)
        stmt = stmt.where(_after(order, after, descending))
    direction = [c.desc() if descending else c.asc() for c in order]
    rows = list(session.scalars(stmt.order_by(*direction).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    last_key = key or (lambda row: [getattr(row, c.key) for c in order])
    next_cursor = encode_cursor(last_key(rows[-1])) if more and rows else None
    return CursorPage(items=rows, next_cursor=next_cursor)


def _after(
    order: Sequence[InstrumentedAttribute[Any]], values: Sequence[object], descending: bool
) -> Any:
    """(a, b, id) > (x, y, z) as OR of ANDs; `<` when descending."""
    terms = []
    for i, column in enumerate(order):
        equal = [order[j] == values[j] for j in range(i)]
        beyond = column < values[i] if descending else column > values[i]
        terms.append(and_(*equal, beyond))
    return or_(*terms)
