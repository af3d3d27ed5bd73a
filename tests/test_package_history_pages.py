"""A package's history pages (issue 18): the admin's package page and the family's package
history list its ledger newest first, PER_PAGE entries a page, with Previous/Next links
that work without JavaScript and swap only the table with htmx. The CSV stays complete."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import select

from prepbase import hours
from prepbase.inputs import MAX_PAGE
from prepbase.models import LedgerEntry
from prepbase.paging import PER_PAGE, paginate
from tests.factories import make_business
from tests.test_admin_packages import cells, text
from tests.test_family_portal import HX
from tests.test_tutor_sessions import World

PAGES = {
    "admin": ("/acme/admin/packages/{id}", "package-ledger"),
    "parent": ("/acme/family/packages/{id}", "package-history"),
}
ENTRIES = 120  # the grant and 119 adjustments: pages of 50, 50 and 20


@pytest.fixture
def world(app, business, db_session):
    return World(app, business, db_session)


@pytest.fixture
def long_package(world):
    """A package of ENTRIES entries, made the way the app makes them: a grant of 40 hours,
    then adjustments of -0.5 and +0.5 hours in turn, noted "n0", "n1", …"""
    package = world.give("40")
    with world.scope():
        for k in range(ENTRIES - 1):
            hours.adjust(world.db, package, -30 if k % 2 == 0 else 30, world.b.admin, f"n{k}")
        world.db.commit()
    return package


def hours_of(cell: str) -> Decimal:
    return Decimal(cell.replace("−", "-").replace("+", ""))


def rows_of(body: str, block_id: str) -> list[list[str]]:
    block = body[body.index(f'id="{block_id}"') :]
    tbody = block[block.index("<tbody>") : block.index("</tbody>")]
    return [cells(r) for r in re.findall(r"<tr>(.*?)</tr>", tbody, flags=re.S)]


def note(row: list[str]) -> str:
    return row[-1]


@pytest.mark.parametrize("role", list(PAGES))
def test_pages_run_newest_first_with_balances_that_chain(
    client, auth, business, long_package, role
):
    path, block_id = PAGES[role]
    url = path.format(id=long_package.id)
    auth.as_role(business, role)
    pages = [text(client.get(f"{url}?page={n}")) for n in (1, 2, 3)]
    rows = [rows_of(body, block_id) for body in pages]

    assert [len(r) for r in rows] == [PER_PAGE, PER_PAGE, ENTRIES - 2 * PER_PAGE]
    every = rows[0] + rows[1] + rows[2]
    # Newest first: page 1 starts with the last adjustment, page 3 ends with the grant.
    assert [note(r) for r in every[:-1]] == [f"n{k}" for k in range(ENTRIES - 2, -1, -1)]
    assert every[-1][1] == "Grant" and hours_of(every[-1][3]) == 40
    # The first balance is the Remaining Hrs; each is the older one plus the change,
    # across the page boundaries too.
    assert hours_of(every[0][3]) == Decimal(long_package.remaining_minutes) / 60
    for newer, older in pairwise(every):
        assert hours_of(newer[3]) == hours_of(older[3]) + hours_of(newer[2])

    # Page 1 links only to the older page 2, page 3 only to the newer page 2.
    first, middle, last = pages
    assert f'href="{url}?page=2"' in first and "Previous page" not in first
    assert "Next page" in first and f"Page 1 of 3 ({ENTRIES} entries)" in first
    assert f'href="{url}?page=1"' in middle and f'href="{url}?page=3"' in middle
    assert "Next page" not in last and f'href="{url}?page=2"' in last


@pytest.mark.parametrize("role", list(PAGES))
def test_a_short_history_has_no_pager(client, auth, business, world, role):
    package = world.give("10")
    path, block_id = PAGES[role]
    auth.as_role(business, role)
    body = text(client.get(path.format(id=package.id)))
    assert len(rows_of(body, block_id)) == 1
    assert 'aria-label="Pages of the history"' not in body and "Page 1 of" not in body


@pytest.mark.parametrize("role", list(PAGES))
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", 1),
        ("-2", 1),
        ("0", 1),
        ("２", 1),  # a fullwidth digit is not a page number
        ("2.0", 1),
        ("", 1),
        ("4", 3),  # past the end: the last page, never an empty table
        ("99999999999999999999999999", 3),  # beyond 64 bits
    ],
)
def test_a_bad_page_number_answers_a_page(client, auth, business, long_package, role, value, shown):
    path, block_id = PAGES[role]
    auth.as_role(business, role)
    response = client.get(path.format(id=long_package.id), query_string={"page": value})
    assert response.status_code == 200
    body = text(response)
    assert f"Page {shown} of 3" in body
    assert len(rows_of(body, block_id)) == (PER_PAGE if shown < 3 else ENTRIES - 2 * PER_PAGE)


@pytest.mark.parametrize("role", list(PAGES))
def test_htmx_pager_swaps_only_the_table(client, auth, business, long_package, role):
    path, block_id = PAGES[role]
    url = path.format(id=long_package.id)
    auth.as_role(business, role)
    response = client.get(f"{url}?page=2", headers=HX)
    body = text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith(f'<div id="{block_id}">') and "<html" not in body
    assert len(rows_of(body, block_id)) == PER_PAGE
    assert f'hx-get="{url}?page=3"' in body and f'hx-target="#{block_id}"' in body
    assert 'hx-push-url="true"' in body


def test_the_csv_download_stays_complete_and_oldest_first(client, auth, business, long_package):
    auth.as_role(business, "admin")
    response = client.get(f"/acme/admin/packages/{long_package.id}/ledger.csv?page=2")
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0][0] == "When" and len(rows) == 1 + ENTRIES
    assert rows[1][1] == "Grant" and rows[2][6] == "n0" and rows[-1][6] == f"n{ENTRIES - 2}"


@pytest.mark.parametrize("role", list(PAGES))
def test_another_business_package_is_404_on_every_page(
    app, client, auth, business, db_session, role
):
    other = make_business(db_session, slug="other")
    theirs = World(app, other, db_session).give("10")
    path, _ = PAGES[role]
    auth.as_role(business, role)
    for query in ("", "?page=2", "?page=99999999999999999999"):
        assert client.get(path.format(id=theirs.id) + query).status_code == 404


def test_another_students_package_is_404_for_a_student(client, auth, business, world):
    bens = world.give("10", student=1)
    auth.as_role(business, "student")
    assert client.get(f"/acme/family/packages/{bens.id}?page=2").status_code == 404


def test_counted_apart_pages_like_the_window(world, long_package):
    # `ledger_page` counts in a scalar subquery (so the database stops at the page's last
    # row); each page, and a page past the end, is the one the window count gives.
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.package_id == long_package.id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
    )
    with world.scope():
        for number in (1, 2, 3, 4, MAX_PAGE):
            apart = hours.ledger_page(world.db, long_package, number)
            window = paginate(world.db, stmt, number)
            assert (apart.number, apart.pages, apart.total) == (window.number, 3, ENTRIES)
            assert [e.id for e in apart.items] == [e.id for e in window.items]
