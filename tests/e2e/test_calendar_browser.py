"""The Calendar in Chromium: previous / next / today swap the week in place and change the
address (the back button returns), a free time opens Propose Session filled in, the phone
shows the same sessions as an agenda with nothing wider than the screen, the page reads
without JavaScript, and axe finds nothing serious."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from prepbase import availability, scheduling
from prepbase.calendar_view import View, window_of
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import main_nav, mark_document, sign_in, still_same_document
from tests.e2e.test_hours_browser import (
    World,
    build,
    business_today,
    give_growth_package,
    local_start,
)
from tests.e2e.test_slots_browser import axe_serious
from tests.factories import Business

pytestmark = pytest.mark.e2e

AHEAD = 14  # the week shown: two weeks from today, so every session is in the future


def target_monday() -> date:
    day = business_today() + timedelta(days=AHEAD)
    return day - timedelta(days=day.weekday())


def days_from_today(day: date) -> int:
    return (day - business_today()).days


def setup(session: Session, b: Business) -> dict[str, object]:
    """Tara works 9 AM–5 PM every day; in the target week she has four sessions (one a
    family booking, one cancelled), Carl one, overlapping one of hers."""
    give_growth_package(session, b)
    availability.set_weekly_hours(
        session, b.tenant, b.tutor, b.tutor, {d: [(9 * 60, 17 * 60)] for d in range(7)}
    )
    monday = days_from_today(target_monday())

    def propose(day: int, hour: int, staff=None, student=0, service="tutoring"):
        staff = staff or b.tutor
        return scheduling.propose_session(
            session, b.tenant, staff, student=b.students[student], staff=staff,
            service=service, starts_at=local_start(monday + day, hour), duration_minutes=60,
        )  # fmt: skip

    ids = [
        propose(0, 10).id,
        propose(2, 14).id,
        scheduling.book_session(
            session,
            b.tenant,
            b.parent,
            student=b.students[0],
            staff=b.tutor,
            service="tutoring",
            starts_at=local_start(monday + 3, 11),
            duration_minutes=90,
        ).id,
        propose(0, 10, staff=b.counselor, student=1, service="counseling").id,
    ]
    dropped = propose(4, 9)
    scheduling.cancel_session(session, b.tenant, b.tutor, dropped)
    return {"ids": ids, "tutor_id": b.tutor.id, "dropped": dropped.id}


def events(page: Page):
    return page.locator("#calendar li.cal-event")


def session_ids(page: Page) -> set[int]:
    hrefs = events(page).locator("a").evaluate_all("links => links.map(a => a.href)")
    return {int(re.search(r"/sessions/(\d+)$", h).group(1)) for h in hrefs}


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def signed_in(page: Page, world: World, email: str, home: str) -> Page:
    sign_in(page, world.slug, email)
    expect(page).to_have_url(re.compile(rf"/{world.slug}/{home}/$"))
    return page


def title_of(monday: date) -> str:
    return window_of("America/New_York", View.WEEK, monday).title


def test_next_previous_today_and_back_and_a_free_time(new_page, tenants, in_live_app):
    world: World = build(in_live_app, tenants, setup)
    ids = world.extra["ids"]
    page = new_page()
    sign_in(page, world.slug, world.tutor)
    main_nav(page).get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Calendar")
    this_monday = business_today() - timedelta(days=business_today().weekday())
    expect(page.locator("#calendar-title")).to_have_text(title_of(this_monday))
    mark_document(page)

    # Next, twice: the weeks swap in place and the address follows.
    for weeks in (1, 2):
        page.locator("#calendar-next").click()
        monday = this_monday + timedelta(weeks=weeks)
        expect(page.locator("#calendar-title")).to_have_text(title_of(monday))
        expect(page).to_have_url(re.compile(rf"view=week&date={monday.isoformat()}$"))
    expect(page).to_have_title(re.compile(re.escape(title_of(target_monday()))))
    assert target_monday() == this_monday + timedelta(weeks=2)
    # Tara's three sessions (the cancelled one hidden, Carl's not hers).
    expect(events(page)).to_have_count(3)
    assert session_ids(page) == set(ids[:3])
    for event in events(page).all():
        expect(event).to_be_visible()
    assert still_same_document(page), "a calendar move reloaded the page"
    expect(page.locator("#calendar-next")).to_be_focused()  # focus stays on the button

    page.locator("#calendar-previous").click()
    expect(page.locator("#calendar-title")).to_have_text(title_of(this_monday + timedelta(7)))
    page.go_back()
    expect(page).to_have_url(re.compile(rf"date={target_monday().isoformat()}$"))
    expect(page.locator("#calendar-title")).to_have_text(title_of(target_monday()))
    expect(events(page)).to_have_count(3)
    page.locator("#calendar-today").click()
    expect(page.locator("#calendar-title")).to_have_text(title_of(this_monday))
    expect(page).to_have_url(re.compile(r"/tutor/schedule\?view=week$"))
    page.go_back()
    expect(page.locator("#calendar-title")).to_have_text(title_of(target_monday()))

    # The status filter shows the cancelled session too, and the address keeps it.
    page.get_by_label("Status").select_option("all")
    expect(events(page)).to_have_count(4)
    assert query(page)["status"] == ["all"]
    assert query(page)["date"] == [target_monday().isoformat()]
    expect(page.locator("li.cal-event.status-cancelled")).to_contain_text("Cancelled")

    # Tuesday is free at 9 AM: a click there opens Propose Session filled in.
    tuesday = target_monday() + timedelta(days=1)
    column = page.locator(f"section[aria-labelledby='day-{tuesday.isoformat()}']")
    expect(column.locator(".cal-band.cal-working")).to_have_count(1)
    column.locator(".cal-free", has_text="9:00 AM").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Propose Session")
    expect(page.get_by_label("Date")).to_have_value(tuesday.isoformat())
    expect(page.get_by_label("Start time")).to_have_value("09:00")
    expect(page.get_by_label("Tutor or counselor")).to_have_value(str(world.extra["tutor_id"]))


def test_the_phone_shows_the_same_sessions_as_an_agenda(new_page, tenants, in_live_app):
    world: World = build(in_live_app, tenants, setup)
    address = f"/{world.slug}/admin/schedule?view=week&date={target_monday().isoformat()}"
    desktop = signed_in(new_page(), world, world.admin, "admin")
    desktop.goto(address)
    expect(events(desktop)).to_have_count(4)
    expect(desktop.locator(".cal-axis")).to_be_visible()
    on_desktop = session_ids(desktop)
    # Monday's two 10 AM sessions (Tara's and Carl's) sit side by side.
    monday = desktop.locator(f"section[aria-labelledby='day-{target_monday().isoformat()}']")
    boxes = [e.bounding_box() for e in monday.locator("li.cal-event").all()]
    assert len(boxes) == 2 and boxes[0]["y"] == boxes[1]["y"]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1

    phone = signed_in(new_page(phone=True), world, world.admin, "admin")
    phone.goto(address)
    expect(phone.get_by_role("heading", level=3)).to_have_count(7)  # a heading per day
    expect(phone.locator(".cal-axis")).to_be_hidden()
    expect(phone.locator(".cal-free").first).to_be_hidden()
    assert session_ids(phone) == on_desktop
    width = phone.evaluate("window.innerWidth")
    assert width == 390
    assert_no_sideways_scroll(phone, width)
    for event in events(phone).all():
        event.scroll_into_view_if_needed()
        expect(event).to_be_visible()
        box = event.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    # The keyboard reaches the sessions: from the view switch, a few Tabs (the day's
    # heading link and its Propose Session) land on Monday's first session.
    phone.locator("#calendar-view-month").focus()
    for _ in range(6):
        phone.keyboard.press("Tab")
        if phone.evaluate("!!document.activeElement.closest('li.cal-event')"):
            break
    expect(phone.locator("li.cal-event a").first).to_be_focused()
    assert axe_serious(phone) == []


def test_the_calendar_reads_without_javascript(browser: Browser, live_server, tenants, in_live_app):
    world: World = build(in_live_app, tenants, setup)
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, world.slug, world.parent)
        main_nav(page).get_by_role("link", name="Calendar").click()
        for _ in range(2):
            page.get_by_role("link", name="Next week").click()
        expect(page.locator("#calendar-title")).to_have_text(title_of(target_monday()))
        # the family's sessions: Ada's three and Ben's one, each opening its own page
        expect(events(page)).to_have_count(4)
        page.get_by_label("Status").select_option("pending")
        page.get_by_role("button", name="Show").click()
        expect(events(page)).to_have_count(3)
        events(page).first.locator("a").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("with")
        expect(
            page.get_by_role("button", name="Accept or decline it on your dashboard")
        ).to_be_visible()
    finally:
        context.close()


def test_calendar_pages_pass_axe(new_page, tenants, in_live_app):
    world: World = build(in_live_app, tenants, setup)
    failures: list[str] = []

    def check(page: Page, name: str) -> None:
        found = axe_serious(page)
        if found:
            failures.append(f"{name} ({page.url}): {found}")

    week = f"view=week&date={target_monday().isoformat()}"
    tutor = signed_in(new_page(), world, world.tutor, "tutor")
    tutor.goto(f"/{world.slug}/tutor/schedule?{week}&status=all")
    expect(events(tutor)).to_have_count(4)
    check(tutor, "tutor week with working hours")
    tutor.goto(f"/{world.slug}/tutor/schedule?view=day&date={target_monday().isoformat()}")
    check(tutor, "tutor day")
    tutor.goto(f"/{world.slug}/tutor/schedule?view=month&date={target_monday().isoformat()}")
    check(tutor, "tutor month")
    tutor.goto(f"/{world.slug}/tutor/schedule?view=year")
    expect(tutor.get_by_text("These filters cannot be used:")).to_be_visible()
    check(tutor, "tutor calendar with a refused view")

    admin = signed_in(new_page(), world, world.admin, "admin")
    admin.goto(f"/{world.slug}/admin/schedule?{week}")
    check(admin, "admin week")

    parent = signed_in(new_page(phone=True), world, world.parent, "family")
    parent.goto(f"/{world.slug}/family/schedule?{week}")
    check(parent, "family agenda (phone)")
    parent.locator("li.cal-event a").first.click()
    expect(parent.get_by_role("heading", level=1)).to_contain_text("with")
    check(parent, "family session page (phone)")
    assert not failures, "axe found serious accessibility problems:\n" + "\n".join(failures)
