"""A package's long history in the browser (issue 18): on a 390 px phone the admin's package
page and the family's package history show one page of the ledger, newest first; "Next
page" swaps only the table (htmx, same document) and puts ?page=2 in the address; nothing
scrolls sideways and axe finds nothing serious."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from prepbase import hours
from tests.e2e.conftest import PHONE, assert_no_sideways_scroll
from tests.e2e.test_browser import htmx_settled, mark_document, sign_in, still_same_document
from tests.e2e.test_hours_browser import build, give_growth_package
from tests.e2e.test_slots_browser import axe_serious
from tests.factories import Business

pytestmark = pytest.mark.e2e

ADJUSTMENTS = 59  # with the grant: 60 entries, pages of 50 and 10


def long_history(session: Session, b: Business) -> dict[str, object]:
    package = give_growth_package(session, b)
    for k in range(ADJUSTMENTS):
        hours.adjust(session, package, -30 if k % 2 == 0 else 30, b.admin, f"n{k}")
    return {"package_id": package.id}


def pages_through(page: Page, url: str, table: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    history = page.locator(table)
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text(f"n{ADJUSTMENTS - 1}")  # newest first
    assert_no_sideways_scroll(page, PHONE["width"])
    pager = page.get_by_role("navigation", name="Pages of the history")
    expect(pager.get_by_role("link")).to_have_text(["Next page"])
    assert axe_serious(page) == []

    mark_document(page)
    with htmx_settled(page):
        pager.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    expect(rows).to_have_count(10)
    expect(rows.last).to_contain_text("Grant")
    expect(pager.get_by_role("link")).to_have_text(["Previous page"])
    assert still_same_document(page), "the pager reloaded the page instead of swapping"
    assert_no_sideways_scroll(page, PHONE["width"])
    assert axe_serious(page) == []


def test_long_history_pages_on_a_phone(new_page, tenants, in_live_app):
    world = build(in_live_app, tenants, long_history)
    package_id = world.extra["package_id"]

    admin = new_page(phone=True)
    sign_in(admin, world.slug, world.admin)
    expect(admin).to_have_url(re.compile(rf"/{world.slug}/admin/$"))
    pages_through(admin, f"/{world.slug}/admin/packages/{package_id}", "#package-ledger")

    parent = new_page(phone=True)
    sign_in(parent, world.slug, world.parent)
    expect(parent).to_have_url(re.compile(rf"/{world.slug}/family/$"))
    pages_through(parent, f"/{world.slug}/family/packages/{package_id}", "#package-history")
