"""Offset paging for the long lists (students, sessions, the Reports' student table).

One rule for every list: pages hold PER_PAGE rows; page numbers start at 1 (read them with
`prepbase.inputs.page_number()`); a page past the end shows the last page, never an empty
table, so a bookmark kept while rows were removed still lands on rows. The template side
is the `pager` macro in templates/_macros/pager.html.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

PER_PAGE = 50

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[T]):
    """The rows of one page, which page it is (1-based), how many pages and rows in all."""

    items: list[T]
    number: int
    pages: int
    total: int

    @classmethod
    def empty(cls) -> Page[Any]:
        """No rows: the one page of an empty list (e.g. when the filters are refused)."""
        return cls([], 1, 1, 0)


def page_count(total: int, per_page: int | None) -> int:
    """Pages needed for `total` rows; an empty list still has its one (empty) page."""
    if not per_page or total <= 0:
        return 1
    return -(-total // per_page)


def _first_column(row: Row[Any]) -> Any:
    return row[0]


def paginate(
    session: Session,
    stmt: Select[Any],
    number: int,
    *,
    per_page: int | None = PER_PAGE,
    item: Callable[[Row[Any]], T] = _first_column,
    counted_apart: bool = False,
) -> Page[T]:
    """Page `number` of `stmt` (which carries its ORDER BY), each row turned into an item by
    `item` (by default the row's first column: the entity of `select(Student)`).

    `per_page=None` gives every row on one page (the CSV downloads). The total comes with
    the rows (`COUNT(*) OVER ()`), so a page costs one statement; only a page past the end
    costs a count and the last page's rows. `counted_apart=True` counts in a scalar
    subquery instead: for a list read in the order of an index (a package's ledger), the
    database then stops at the page's last row and joins only the page's rows, where the
    window reads, joins and sorts every row of the list."""
    if counted_apart:
        counting_all = select(func.count()).select_from(stmt.order_by(None).subquery())
        counted = stmt.add_columns(counting_all.scalar_subquery().label("paging_total"))
    else:
        counted = stmt.add_columns(func.count().over().label("paging_total"))

    def rows_of(page: int) -> list[Row[Any]]:
        query = counted
        if per_page is not None:
            query = query.limit(per_page).offset((page - 1) * per_page)
        return list(session.execute(query).all())

    number = max(number, 1)
    rows = rows_of(number)
    if rows:
        total = int(rows[0].paging_total)
    elif number == 1 or per_page is None:
        total = 0
    else:  # past the end: show the last page
        counting = select(func.count()).select_from(stmt.order_by(None).subquery())
        total = session.scalar(counting) or 0
        number = page_count(total, per_page)
        rows = rows_of(number) if total else []
        total = int(rows[0].paging_total) if rows else 0
    pages = page_count(total, per_page)
    return Page([item(row) for row in rows], min(number, pages), pages, total)


def page_of(
    rows: Sequence[R],
    number: int,
    *,
    per_page: int | None = PER_PAGE,
    item: Callable[[R], T],
) -> Page[T]:
    """Page `number` of rows already fetched and ordered (when one statement serves
    several tables, as Reports' student tables), by the same rule as `paginate`: a page
    past the end is the last page. Only the page's rows are turned into items."""
    total = len(rows)
    pages = page_count(total, per_page)
    number = min(max(number, 1), pages)
    shown = rows if per_page is None else rows[(number - 1) * per_page : number * per_page]
    return Page([item(row) for row in shown], number, pages, total)
