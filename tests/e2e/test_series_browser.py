"""End-to-end (issue 13, weekly series): a parent books a 10-week series with hours for 6
and sees 6 upcoming and 4 waiting; the admin adds a package and the 4 become upcoming; the
tutor cancels "this and following" from week 8 and the right hours come back. On a desktop
and at 390 px, axe clean; and the preview step without JavaScript."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import availability
from prepbase.localtime import format_when, local_to_utc
from prepbase.models import Package, SessionStatus, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import PHONE, assert_fits_viewport
from tests.e2e.test_browser import htmx_idle, sign_in
from tests.e2e.test_hours_browser import (
    STAFF_OPTION,
    World,
    build,
    business_today,
    give_growth_package,
    region,
    signed_in,
)
from tests.e2e.test_slots_browser import axe_serious
from tests.factories import Business

pytestmark = pytest.mark.e2e

FIRST_DAYS_AHEAD = 7
UPCOMING, WAITING, CANCELLED = (
    SessionStatus.UPCOMING,
    SessionStatus.WAITING,
    SessionStatus.CANCELLED,
)


def setup(session: Session, b: Business) -> dict[str, object]:
    """Tara works 3–6 PM every day; families may book 120 days ahead (a 10-week series
    must fit the horizon: each occurrence is checked like a single booking); Ada has a
    package of 6 hours."""
    tara = b.tutor
    availability.set_weekly_hours(
        session, b.tenant, tara, tara, {day: [(15 * 60, 18 * 60)] for day in range(7)}
    )
    b.tenant.booking_horizon_days = 120
    give_growth_package(session, b, "6")
    return {}


def first_day() -> date:
    return business_today() + timedelta(days=FIRST_DAYS_AHEAD)


def week_start(world: World, week: int) -> str:
    """The pages' words for week `week`'s start (1-based), 4:00 PM local."""
    day = first_day() + timedelta(weeks=week - 1)
    return format_when("America/New_York", local_to_utc("America/New_York", day, time(16)))


def stored(in_live_app, world: World) -> tuple[list[str], dict[str, int]]:
    """The series' statuses in order, and each package's remaining minutes by name."""

    def read(session: Session) -> tuple[list[str], dict[str, int]]:
        with as_tenant(world.tenant_id):
            statuses = list(
                session.scalars(select(TutoringSession.status).order_by(TutoringSession.starts_at))
            )
            left = dict(session.execute(select(Package.name, Package.remaining_minutes)).all())
            return statuses, left

    return in_live_app(read)


def fits_the_width(page: Page) -> bool:
    assert_fits_viewport(page)
    return True


def choose_first_time(page: Page) -> None:
    """Book Session's "When": Tara, the first day, 4:00 PM (the open times load by htmx)."""
    page.wait_for_load_state("load")  # htmx listens once the page has loaded
    htmx_idle(page)
    page.get_by_label("Tutor or counselor").select_option(label=STAFF_OPTION)
    expect(page.locator("#slots").get_by_text(re.compile(r"^Open times on "))).to_be_visible(
        timeout=10_000
    )
    htmx_idle(page)
    page.get_by_label("Date").fill(first_day().isoformat())
    day = first_day()
    expect(page.locator("#slots")).to_contain_text(
        f"Open times on {day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"
    )
    htmx_idle(page)
    page.get_by_role("radio", name=re.compile(r"^4:00 PM E[SD]T$")).check()


def repeat_ten_weeks(page: Page) -> None:
    page.locator("#repeat-fields summary").click()
    page.get_by_label("Repeat this session weekly").check()
    page.get_by_label("Number of sessions").fill("10")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_series_with_hours_for_six_then_a_package_then_cancel_from_week_8(
    new_page, tenants, in_live_app, phone
):
    world = build(in_live_app, tenants, setup)

    # The parent books 10 weeks with hours for 6: the preview says which fit.
    parent = new_page(phone=phone)
    sign_in(parent, world.slug, world.parent)
    parent.get_by_role("link", name="Book Session").first.click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Book Session")
    choose_first_time(parent)
    repeat_ten_weeks(parent)
    assert axe_serious(parent) == []
    parent.get_by_role("button", name="Book Session").click()
    preview = parent.get_by_role("table", name=re.compile("weekly series"))
    expect(
        parent.get_by_role("heading", name=f"{world.first}'s weekly sessions with")
    ).to_be_visible()
    expect(preview.get_by_role("row")).to_have_count(11)  # the header and 10 sessions
    expect(preview.get_by_text("Booked: paid from Growth Package")).to_have_count(6)
    expect(preview.get_by_text("Waiting for hours")).to_have_count(4)
    expect(preview.get_by_role("row").nth(7)).to_contain_text(week_start(world, 7))
    assert axe_serious(parent) == []
    assert fits_the_width(parent)
    assert stored(in_live_app, world)[0] == []  # the preview books nothing

    parent.get_by_role("button", name="Book 10 sessions").click()
    expect(parent).to_have_url(re.compile(rf"/{world.slug}/family/$"))
    expect(parent.get_by_role("status").first).to_contain_text("6 booked, 4 waiting for hours.")
    upcoming = region(parent, "Upcoming Sessions")
    expect(upcoming.get_by_role("row")).to_have_count(7)
    weekday = first_day().strftime("%a")
    expect(upcoming).to_contain_text(f"3 of 10 · every {weekday}")
    waiting = region(parent, "Waiting for hours")
    expect(waiting.get_by_role("row")).to_have_count(5)
    expect(waiting).to_contain_text(week_start(world, 7))
    expect(waiting).to_contain_text(f"10 of 10 · every {weekday}")
    assert axe_serious(parent) == []
    assert fits_the_width(parent)
    statuses, left = stored(in_live_app, world)
    assert statuses == [UPCOMING] * 6 + [WAITING] * 4
    assert left == {"Growth Package": 0}

    # The admin adds a package: the four waiting sessions are booked from it.
    admin = signed_in(lambda: new_page(phone=phone), world, world.admin, "admin")
    admin.goto(f"/{world.slug}/admin/students/{world.student_id}/packages/new")
    admin.get_by_label("Package Name").fill("Top-up")
    admin.get_by_label("Hours", exact=True).fill("10")
    admin.get_by_role("button", name="Add Package", exact=True).click()
    expect(admin.get_by_role("status").first).to_contain_text(
        "4 sessions waiting for hours are booked now."
    )
    statuses, left = stored(in_live_app, world)
    assert statuses == [UPCOMING] * 10
    assert left == {"Growth Package": 0, "Top-up": 10 * 60 - 4 * 60}

    parent.reload()
    expect(region(parent, "Upcoming Sessions").get_by_role("row")).to_have_count(11)
    expect(parent.get_by_role("region", name="Waiting for hours")).to_have_count(0)

    # The tutor cancels week 8 "and following": weeks 8–10 go back to Top-up, which paid.
    tutor = signed_in(lambda: new_page(phone=phone), world, world.tutor, "tutor")
    new_bookings = region(tutor, "New bookings")
    new_bookings.get_by_role("link", name=re.compile(re.escape(week_start(world, 8)))).click()
    expect(tutor.get_by_text(f"8 of 10 · every {weekday}")).to_be_visible()
    cancel = tutor.locator("#cancel-form")
    cancel.get_by_label("Cancel", exact=True).select_option(
        label="This and following sessions of the series"
    )
    cancel.get_by_label("Reason (optional)").fill("Moving to another city")
    assert axe_serious(tutor) == []
    assert fits_the_width(tutor)
    cancel.get_by_role("button", name="Cancel Session").click()
    expect(tutor.get_by_role("status").first).to_contain_text(
        "3 sessions of the series cancelled. 3 hours went back to the packages."
    )
    statuses, left = stored(in_live_app, world)
    assert statuses == [UPCOMING] * 7 + [CANCELLED] * 3
    assert left == {"Growth Package": 0, "Top-up": 6 * 60 + 3 * 60}
    parent.reload()
    expect(region(parent, "Upcoming Sessions").get_by_role("row")).to_have_count(8)


def test_the_series_preview_works_without_javascript(
    browser: Browser, live_server, tenants, in_live_app
):
    """No JavaScript: the day comes from the address, the "Repeat weekly" details open
    natively, and the preview and the booking are plain form posts."""
    world = build(in_live_app, tenants, setup)
    context = browser.new_context(
        base_url=live_server, viewport=PHONE, java_script_enabled=False, locale="en-US"
    )
    try:
        page = context.new_page()
        sign_in(page, world.slug, world.parent)
        expect(page).to_have_url(re.compile(rf"/{world.slug}/family/$"))

        def tara_id(session: Session) -> int:
            with as_tenant(world.tenant_id):
                return session.scalars(select(User.id).where(User.email == world.tutor)).one()

        staff = in_live_app(tara_id)
        page.goto(
            f"/{world.slug}/family/sessions/new?student={world.student_id}&service=tutoring"
            f"&staff={staff}&duration=1&date={first_day().isoformat()}"
        )
        page.get_by_role("radio", name=re.compile(r"^4:00 PM E[SD]T$")).check()
        page.locator("#repeat-fields summary").click()
        page.get_by_label("Repeat this session weekly").check()
        page.get_by_label("Number of sessions").fill("3")
        page.get_by_role("button", name="Book Session").click()
        expect(page.get_by_text("Booked: paid from Growth Package")).to_have_count(3)
        page.get_by_role("button", name="Book 3 sessions").click()
        expect(page).to_have_url(re.compile(rf"/{world.slug}/family/$"))
        expect(region(page, "Upcoming Sessions").get_by_role("row")).to_have_count(4)
    finally:
        context.close()
    assert stored(in_live_app, world)[0] == [UPCOMING] * 3


def test_a_proposed_series_is_previewed_proposed_and_accepted_at_390_px(
    new_page, tenants, in_live_app
):
    """Staff preview and propose a series on a phone; the family opens Accept for the
    series, sees which sessions the package pays and which would wait, and accepts."""
    world = build(in_live_app, tenants, setup)
    tutor = signed_in(lambda: new_page(phone=True), world, world.tutor, "tutor")
    tutor.get_by_role("button", name="Propose Session").click()  # a styled link
    tutor.get_by_label("Student", exact=True).select_option(label=world.student)
    tutor.get_by_label("Date").fill(first_day().isoformat())
    tutor.get_by_label("Start time").fill("16:00")
    tutor.locator("#repeat-fields summary").click()
    tutor.get_by_label("Repeat this session weekly").check()
    tutor.get_by_label("Number of sessions").fill("8")
    tutor.get_by_role("button", name="Propose Session").click()
    plan = tutor.get_by_role("table", name="The sessions of the proposed series")
    expect(plan.get_by_text("Proposed", exact=True)).to_have_count(8)
    assert axe_serious(tutor) == []
    assert fits_the_width(tutor)
    tutor.get_by_role("button", name="Propose 8 sessions").click()
    expect(tutor.get_by_role("status").first).to_contain_text("8 weekly sessions proposed")
    expect(tutor.get_by_text("1 of 8 · every")).to_be_visible()
    assert stored(in_live_app, world)[0] == [SessionStatus.PENDING] * 8

    parent = signed_in(lambda: new_page(phone=True), world, world.parent, "family")
    parent.get_by_role("link", name=re.compile("^Review and accept the series")).click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Accept weekly sessions")
    table = parent.get_by_role("table", name="What accepting the series does, session by session")
    expect(table.get_by_text("Booked: paid from Growth Package")).to_have_count(6)
    expect(table.get_by_text("Waiting for hours")).to_have_count(2)
    assert axe_serious(parent) == []
    assert fits_the_width(parent)
    parent.get_by_role("button", name="Accept 8 sessions").click()
    expect(parent).to_have_url(re.compile(rf"/{world.slug}/family/$"))
    expect(parent.get_by_role("status").first).to_contain_text("2 wait for hours.")
    assert stored(in_live_app, world)[0] == [UPCOMING] * 6 + [WAITING] * 2
