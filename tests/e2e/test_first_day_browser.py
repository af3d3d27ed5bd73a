"""The first day in the browser (issue 16), at 390 px and at 1280 px: the home page's Sign
in forms and the admin dashboard's Get going checklist, axe-clean and on screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy.orm import Session

from prepbase import availability
from prepbase.business import signup_business
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import sign_in
from tests.factories import PASSWORD, add_hours_rows, make_business

pytestmark = pytest.mark.e2e

WIDTHS = {"phone": 390, "desktop": 1280}


def axe_violations(page: Page) -> list[str]:
    """Every axe violation, whatever its impact."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url} [{v['impact']}] {v['id']}: {v['help']} "
        + "; ".join(", ".join(n["target"]) for n in v["nodes"])
        for v in results.response["violations"]
    ]


def on_screen(page: Page, width: int, *locators: Locator) -> None:
    """Nothing sticks out sideways, and each of `locators` lies inside the viewport's width."""
    assert_no_sideways_scroll(page, width)
    for locator in locators:
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        assert box is not None, locator
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (locator, box)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_home_page_sign_in(new_page, tenants, in_live_app, mailbox, device):
    width = WIDTHS[device]
    slug = tenants.new_slug("home")
    parent_email = str(in_live_app(lambda session: make_business(session, slug).parent.email))
    page = new_page(phone=device == "phone")
    page.goto("/")
    business = page.get_by_label("Your business's URL name")
    email = page.get_by_label("Your e-mail")
    go = page.get_by_role("button", name="Continue")
    send = page.get_by_role("button", name="E-mail me my sign-in links")
    on_screen(page, width, business, go, email, send)
    problems = axe_violations(page)

    # A name nobody uses: a message under the field, in place.
    business.fill("no-such-business-here")
    go.click()
    expect(page.get_by_text("No business signs in with that URL name")).to_be_visible()
    expect(business).to_have_attribute("aria-invalid", "true")
    on_screen(page, width, business, go)
    problems += axe_violations(page)

    # Forgot the name: the same answer for anyone, and the e-mail for an account.
    email.fill(parent_email)
    send.click()
    expect(page.get_by_role("status")).to_have_text(
        re.compile("If that address has an account, we sent it the sign-in links")
    )
    problems += axe_violations(page)
    # The server sends it once the answer has gone: wait for it (5 s at most).
    for _ in range(100):
        if mailbox.to(parent_email):
            break
        page.wait_for_timeout(50)
    [message] = mailbox.to(parent_email)
    link = re.search(r"http://\S+/login", mailbox.body(message)).group(0)
    assert link.endswith(f"/{slug}/login")

    # The URL name leads to the business's own sign-in page.
    business.fill(slug.upper())
    go.click()
    expect(page).to_have_url(re.compile(rf"/{slug}/login$"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_admin_dashboard_get_going(new_page, tenants, in_live_app, device):
    width = WIDTHS[device]
    fresh, running = tenants.new_slug("fresh"), tenants.new_slug("going")

    def build(session: Session) -> None:
        signup_business(
            session,
            business_name="Fresh Start Tutoring",
            slug=fresh,
            timezone="America/New_York",
            admin_name="Fran Owner",
            email=f"fran@{fresh}.example.com",
            password=PASSWORD,
        )
        b = add_hours_rows(session, make_business(session, running))
        with as_tenant(b.tenant.id):
            availability.set_weekly_hours(
                session, b.tenant, b.admin, b.tutor, {0: [(9 * 60, 17 * 60)]}
            )

    in_live_app(build)
    page = new_page(phone=device == "phone")
    sign_in(page, fresh, f"fran@{fresh}.example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    steps = page.get_by_role("region", name="Get going").get_by_role("listitem")
    expect(steps).to_have_count(7)
    expect(page.get_by_text("0 of 6 steps done.")).to_be_visible()
    links = [steps.nth(i).get_by_role("link") for i in range(7)]
    on_screen(page, width, *links, *[steps.nth(i).locator(".step-state") for i in range(7)])
    problems = axe_violations(page)
    page.get_by_role("link", name="Give a student a package of hours").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Student Profiles")

    # Every required step done: the checklist waits, folded, at the bottom.
    other = new_page(phone=device == "phone")
    sign_in(other, running, f"owner@{running}.example.com")
    expect(other.get_by_role("heading", level=1)).to_have_text("Dashboard")
    folded = other.get_by_text("Get going: every step is done")
    expect(folded).to_be_visible()
    expect(other.get_by_role("link", name="Set up an offering")).to_be_hidden()
    folded.click()
    expect(other.get_by_role("link", name="Set up an offering")).to_be_visible()
    on_screen(other, width, folded, other.get_by_role("link", name="Turn on online payments"))
    problems += axe_violations(other)

    # The owner teaches but has no working hours yet: My teaching asks for them.
    other.goto(f"/{running}/tutor/")
    prompt = other.get_by_role("region", name="Set your working hours")
    expect(prompt).to_be_visible()
    on_screen(other, width, prompt.get_by_role("button", name="Set working hours"))
    problems += axe_violations(other)
    assert not problems, "\n".join(problems)
