"""Phone-first pages (issue 16): on a 390 px phone the pages a family, a tutor and an
admin use most show every key value and action button inside the screen (bounding
boxes, not only "the page loads"), nothing scrolls sideways, the navigation folds into
a Menu, and axe finds nothing; at 1280 px the same pages stay clean. Book Session keeps
the time a parent chose while the times reload, and no htmx warning reaches the console.

The data is the demo business (`seed_demo`): months of history, every kind of session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import ConsoleMessage, Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.demo import DEMO_PASSWORD, DEMO_SLUG, seed_demo
from prepbase.models import Offering, Purchase, Role, Student, Tenant, User
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import PHONE, Tenants, assert_no_sideways_scroll
from tests.e2e.test_browser import htmx_idle, main_nav, sign_in

pytestmark = pytest.mark.e2e

OWNER = "owner@brightpath.example.com"
TUTOR = "maya@brightpath.example.com"
PARENT = "ana.garcia@example.com"


@pytest.fixture
def demo(tenants: Tenants, in_live_app: Callable[..., object]) -> dict[str, int]:
    """The demo business, with a failed online purchase (its long Stripe id must wrap)."""
    tenants.slugs.append(DEMO_SLUG)  # deleted after the test like every e2e business

    def build(session: Session) -> dict[str, int]:
        seed_demo(session)
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
        with as_tenant(tenant_id):
            parent = session.scalar(select(User).where(User.email == PARENT))
            leo = session.scalar(select(Student).where(Student.first_name == "Leo"))
            offering = session.scalars(select(Offering).order_by(Offering.id)).first()
            session.add(
                Purchase(
                    user_id=parent.id,
                    student_id=leo.id,
                    offering_id=offering.id,
                    name=offering.name,
                    service=offering.service,
                    package_type=offering.package_type,
                    period=offering.period,
                    minutes=offering.minutes,
                    amount_minor=48000,
                    currency="usd",
                    status="failed",
                    failure_message="Your card was declined.",
                    checkout_session_id="cs_test_" + "a1B2c3D4e5" * 6,
                )
            )
            session.flush()
            return {"leo": leo.id}

    return in_live_app(build)  # type: ignore[return-value]


def signed_in_as(new_page: Callable[..., Page], email: str, phone: bool) -> Page:
    page = new_page(phone=phone)
    sign_in(page, DEMO_SLUG, email, DEMO_PASSWORD)
    expect(page).not_to_have_url(re.compile(r"/login$"))
    page.wait_for_load_state("load")  # its stylesheet too: what is shown depends on it
    return page


def axe_violations(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url} [{v['impact']}] {v['id']}: {v['help']} "
        + "; ".join(", ".join(n["target"]) for n in v["nodes"])
        for v in results.response["violations"]
    ]


def assert_fits(page: Page, width: int, key: Locator, what: str) -> None:
    """Nothing scrolls sideways, and every element of `key` (at least one) lies inside
    the `width` of the screen."""
    assert_no_sideways_scroll(page, width)
    count = key.count()
    assert count > 0, f"{what}: nothing to check"
    for i in range(count):
        element = key.nth(i)
        if not element.is_visible():
            continue
        box = element.bounding_box()
        assert box is not None, f"{what}: element {i} has no box"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (
            f"{what}: element {i} ({element.inner_text()[:40]!r}) is outside 0–{width} px: {box}"
        )


# Each page of the issue and what must be on the screen there: the columns that went
# off-screen and every action button.
ADMIN_PAGES = [
    (
        "Packages tab",
        "/demo/admin/students/{leo}/packages",
        "td[data-label='Remaining Hrs'], td[data-label='Package Service'], "
        "td[data-label='Status'] button, a[href$='/packages/new']",
    ),
    (
        "Admin → Sessions",
        "/demo/admin/sessions",
        "td[data-label='Start'], td[data-label='Remaining Hrs today'], "
        "td[data-label='Status'], td.actions a",
    ),
    ("Purchases", "/demo/admin/purchases", "td[data-label='Amount'], td[data-label='Stripe']"),
]
TUTOR_PAGES = [
    (
        "My Sessions",
        "/demo/tutor/",
        "#new-title ~ article button, td[data-label='Status'], td.actions a",
    ),
]
FAMILY_PAGES = [
    (
        "family dashboard",
        "/demo/family/",
        "td[data-label='Remaining Hrs'], td[data-label='Package Service'], "
        "td[data-label='When'], td.actions button",
    ),
    ("Payments (family purchases)", "/demo/family/purchases", "td[data-label='Status']"),
]


@pytest.mark.parametrize("phone", [True, False], ids=["390px", "1280px"])
def test_pages_fit_the_screen_and_pass_axe(new_page, demo, phone):
    width = PHONE["width"] if phone else 1280
    problems: list[str] = []
    for email, pages in ((OWNER, ADMIN_PAGES), (TUTOR, TUTOR_PAGES), (PARENT, FAMILY_PAGES)):
        page = signed_in_as(new_page, email, phone)
        for what, path, key in pages:
            response = page.goto(path.format(**demo))
            assert response is not None and response.status == 200, what
            assert_fits(page, width, page.locator(key), what)
            # the navigation: one row on a phone (the Menu button), the bar otherwise
            nav = main_nav(page)
            assert nav.bounding_box()["height"] < 90, what  # type: ignore[index]
            expect(nav.locator("summary", has_text="Menu")).to_be_visible(visible=phone)
            problems += axe_violations(page)
    assert not problems, "axe found accessibility problems:\n" + "\n".join(problems)


def test_dates_are_short_on_a_phone(new_page, demo):
    page = signed_in_as(new_page, PARENT, phone=True)
    when = page.locator("#upcoming-title ~ div td[data-label='When']").first
    # "Tue 1 Dec, 4:00 PM": no year of this year, no zone (the footer names it); what is
    # shown (innerText), the long form being display:none
    expect(when).to_have_text(
        re.compile(r"^\s*\w{3} \d{1,2} \w{3}, \d{1,2}:\d{2} [AP]M\s*$"), use_inner_text=True
    )
    desktop = signed_in_as(new_page, PARENT, phone=False)
    expect(desktop.locator("#upcoming-title ~ div td[data-label='When']").first).to_have_text(
        re.compile(r"^\s*\w{3} \d{1,2} \w{3} \d{4}, \d{1,2}:\d{2} [AP]M E[SD]T\s*$"),
        use_inner_text=True,
    )


def test_phone_menu_opens_with_the_keyboard_and_lists_the_role_links(new_page, demo):
    page = signed_in_as(new_page, OWNER, phone=True)
    nav = main_nav(page)
    expect(nav.get_by_role("link", name="Sessions", exact=True)).to_be_hidden()
    menu = nav.locator("summary", has_text="Menu")
    menu.focus()
    page.keyboard.press("Enter")
    for name in ("Dashboard", "Student Profiles", "Sessions", "Purchases", "Settings"):
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    nav.get_by_role("link", name="Sessions", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sessions")


def test_phone_menu_works_without_javascript(browser, live_server, demo):
    context = browser.new_context(
        base_url=live_server, viewport=PHONE, is_mobile=True, java_script_enabled=False
    )
    try:
        page = context.new_page()
        sign_in(page, DEMO_SLUG, PARENT, DEMO_PASSWORD)
        expect(page).to_have_url(re.compile(r"/demo/family/$"))
        nav = main_nav(page)
        nav.locator("summary", has_text="Menu").click()
        nav.get_by_role("link", name="Calendar", exact=True).click()
        expect(page).to_have_url(re.compile(r"/demo/family/schedule"))
    finally:
        context.close()


def collect_console(page: Page) -> list[str]:
    messages: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        messages.append(f"{message.type}: {message.text}")

    page.on("console", heard)
    return messages


def first_open_time(page: Page, at_least: int = 1) -> Locator:
    """The open times shown, moved on to the first later day that has `at_least` of
    them when the day the form opens on has fewer (at a late hour it may have one or
    none left)."""
    times = page.locator("#slots input[name=start_time]")
    expect(page.locator("#slots")).to_be_visible()
    htmx_idle(page)
    if times.count() < at_least:
        day_field = page.get_by_label("Date")
        first = date.fromisoformat(day_field.input_value())
        for ahead in range(1, 14):
            day_field.fill((first + timedelta(days=ahead)).isoformat())  # fires "change"
            htmx_idle(page)
            if times.count() >= at_least:
                break
    expect(times.nth(at_least - 1)).to_be_visible()
    return times


@pytest.mark.parametrize("phone", [True, False], ids=["390px", "1280px"])
def test_book_session_keeps_the_chosen_time_when_the_length_changes(new_page, demo, phone):
    page = signed_in_as(new_page, PARENT, phone)
    console = collect_console(page)
    page.goto("/demo/family/sessions/new")
    times = first_open_time(page, at_least=4)  # enough left for 1.5 hours too

    # Typing a length and pressing a time at once: the times reload after the typing,
    # and the time pressed is still chosen afterwards.
    duration = page.get_by_label("Duration (hours)")
    duration.fill("")
    duration.press_sequentially("1.5")
    chosen = times.nth(1)
    value = chosen.get_attribute("value")
    chosen.check()
    page.wait_for_timeout(700)  # past the reload's delay
    htmx_idle(page)
    expect(page.locator(f"#slots input[name=start_time][value='{value}']")).to_be_checked()

    # Choosing the time first and then another length keeps it too (still open).
    duration.fill("1")
    page.wait_for_timeout(700)
    htmx_idle(page)
    expect(page.locator(f"#slots input[name=start_time][value='{value}']")).to_be_checked()

    page.get_by_role("button", name="Book Session").click()
    expect(page.get_by_role("status").first).to_contain_text("is booked for")
    assert not [m for m in console if "hx-disabled-elt" in m or m.startswith("error")], console


def test_no_htmx_warnings_on_add_package_and_booking(new_page, demo):
    admin = signed_in_as(new_page, OWNER, phone=False)
    console = collect_console(admin)
    admin.goto(f"/demo/admin/students/{demo['leo']}/packages/new")
    offering = admin.get_by_label("Offering")
    options = offering.locator("option")
    offering.select_option(index=options.count() - 1)
    htmx_idle(admin)
    offering.select_option(index=0)
    htmx_idle(admin)

    parent = signed_in_as(new_page, PARENT, phone=False)
    console += collect_console(parent)
    parent.goto("/demo/family/sessions/new")
    first_open_time(parent)
    parent.locator("#slots a[hx-get]").first.click()  # another day with open times
    htmx_idle(parent)
    parent.get_by_label("Duration (hours)").fill("2")
    parent.wait_for_timeout(700)
    htmx_idle(parent)
    assert not [m for m in console if "hx-disabled-elt" in m or "returned no matches" in m], console


def test_book_session_offers_only_services_somebody_delivers(new_page, demo, in_live_app):
    def no_counselor(session: Session) -> None:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
        with as_tenant(tenant_id):
            for user in session.scalars(select(User).where(User.role == Role.COUNSELOR)):
                user.active = False

    in_live_app(no_counselor)
    page = signed_in_as(new_page, PARENT, phone=True)
    page.goto("/demo/family/sessions/new")
    service = page.get_by_label("Service")
    expect(service.locator("option")).to_have_text(["Tutoring"])
