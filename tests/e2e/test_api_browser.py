"""Settings → API keys and the API reference in a browser: create a key (shown once),
revoke it, axe clean, and no sideways scroll on a phone."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.e2e.conftest import assert_fits_viewport
from tests.e2e.test_browser import sign_in
from tests.e2e.test_buy_hours import serious_axe_violations
from tests.factories import make_business


def api_get(base_url: str, path: str, token: str) -> requests.Response:
    """A call as a business's own tool makes it: no browser, no cookie. (A call through the
    page's own request context would share the browser's cookies, and Playwright's cookie
    jar, unlike Chromium, does not judge a refreshed cookie's expiry by the server's Date
    header: under the suite's pinned clock it would drop the admin's session.)"""
    return requests.get(
        f"{base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_admin_creates_and_revokes_an_api_key(new_page, tenants, in_live_app, live_server):
    slug = tenants.new_slug("api")
    admin = in_live_app(lambda session: make_business(session, slug).admin.email)
    problems: list[str] = []
    for phone in (False, True):
        page = new_page(phone=phone)
        sign_in(page, slug, admin)
        expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
        page.goto(f"/{slug}/admin/settings/api-keys")
        expect(page.get_by_role("heading", name="API keys", level=2)).to_be_visible()
        problems += serious_axe_violations(page)
        assert_fits_viewport(page)
        page.get_by_label("Name").fill(f"CRM {'phone' if phone else 'desk'}")
        page.get_by_label("Access").select_option("read_write")
        page.get_by_role("button", name="Create key").click()
        expect(page.get_by_role("heading", name="Your new key: copy it now")).to_be_visible()
        token = page.locator("#api-key-token").input_value()
        assert re.fullmatch(r"pbk_[A-Za-z0-9_-]{43}", token)
        problems += serious_axe_violations(page)
        assert_fits_viewport(page)

        answer = api_get(live_server, "/api/v1/students", token)
        assert answer.status_code == 200 and len(answer.json()["items"]) == 2
        page.get_by_role("link", name="Back to API keys").click()
        row = page.locator("tr", has_text=f"CRM {'phone' if phone else 'desk'}")
        expect(row).to_contain_text("Active")
        assert token not in page.content()
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name=re.compile("^Revoke")).click()
        expect(row).to_contain_text("Revoked")
        answer = api_get(live_server, "/api/v1/students", token)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
    assert not problems, problems


def test_the_api_reference_reads_on_a_phone(new_page):
    for phone in (False, True):
        page = new_page(phone=phone)
        page.goto("/api/v1/docs")
        expect(page.get_by_role("heading", level=1)).to_have_text("PrepBase API v1")
        assert_fits_viewport(page)
        assert not serious_axe_violations(page)
