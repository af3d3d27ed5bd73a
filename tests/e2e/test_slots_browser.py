"""End-to-end (issue 7): a tutor sets working hours; a parent picks a day, sees its open
slots, books one; the tutor finds it on My Sessions and, once confirmed, under Upcoming."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import packages
from prepbase.models import TutoringSession
from prepbase.tenancy import as_tenant
from tests.e2e.test_browser import htmx_idle, main_nav, mark_document, sign_in, sign_out
from tests.factories import make_business

pytestmark = pytest.mark.e2e

WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def axe_serious(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v.get("impact") in ("critical", "serious")
    ]


def test_parent_books_an_open_slot_and_the_tutor_sees_it(new_page, tenants, in_live_app):
    slug = tenants.new_slug("slots")

    def build(session: Session) -> dict[str, object]:
        b = make_business(session, slug)
        with as_tenant(b.tenant.id):
            packages.assign_package(
                session, b.admin, b.students[0], name="Growth Package", service="tutoring",
                package_type="one_time", period=None, minutes=24 * 60,
                start_date=date(2020, 1, 1),
            )  # fmt: skip
        return {"tutor": b.tutor.email, "parent": b.parent.email, "tenant_id": b.tenant.id}

    data = in_live_app(build)

    # The tutor sets working hours: every day 3 PM to 6 PM.
    tutor = new_page()
    sign_in(tutor, slug, str(data["tutor"]))
    main_nav(tutor).get_by_role("link", name="Working hours").click()
    expect(tutor.get_by_role("heading", level=1)).to_have_text("My working hours")
    for day in WEEK:
        tutor.get_by_label(day, exact=True).fill("3pm-6pm")
    tutor.get_by_role("button", name="Save working hours").click()
    expect(tutor.get_by_text("Working hours saved.")).to_be_visible()
    expect(tutor.get_by_label("Monday", exact=True)).to_have_value("15:00–18:00")
    assert axe_serious(tutor) == []
    sign_out(tutor, "Tara Tutor")

    # The parent picks Tara, then a day, and sees that day's open times.
    parent = new_page(phone=True)
    sign_in(parent, slug, str(data["parent"]))
    parent.get_by_role("link", name="Book Session").first.click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Book Session")
    parent.wait_for_load_state("load")  # htmx has started: a change reloads the times
    mark_document(parent)
    when = parent.locator("#slots")
    # A new service reloads the staff select, and then the times of who is chosen there;
    # Carl has no working hours, so the family may type any time.
    parent.get_by_label("Service").select_option("counseling")
    expect(when).to_contain_text("Carl Counselor has not set working hours yet")
    htmx_idle(parent)
    parent.get_by_label("Service").select_option("tutoring")
    expect(parent.get_by_label("Tutor or counselor")).not_to_contain_text("Carl")
    expect(when).not_to_contain_text("Carl Counselor")
    htmx_idle(parent)
    # the select that replaced the old one reloads the times too
    parent.get_by_label("Tutor or counselor").select_option(label="Tara Tutor (Tutoring)")
    expect(when.get_by_text(re.compile(r"^Open times on "))).to_be_visible()
    htmx_idle(parent)

    day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=4)
    label = f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"
    parent.get_by_label("Date").fill(day.isoformat())
    expect(when.get_by_text(f"Open times on {label}")).to_be_visible()
    htmx_idle(parent)
    times = when.get_by_role("radio")
    expect(times).to_have_count(5)  # 3:00 … 5:00 PM for one hour, every 30 minutes
    expect(when.get_by_role("radio", name=re.compile(r"^3:00 PM E[SD]T$"))).to_be_visible()
    assert parent.evaluate("window.__marker") == 1, "picking a day reloaded the page"
    assert axe_serious(parent) == []

    parent.get_by_role("radio", name=re.compile(r"^4:30 PM E[SD]T$")).check()
    parent.get_by_role("button", name="Book Session").click()
    expect(parent).to_have_url(re.compile(rf"/{slug}/family/$"))
    expect(
        parent.get_by_text(re.compile(r"Ada's session with Tara Tutor is booked"))
    ).to_be_visible()
    upcoming = parent.get_by_role("region", name="Upcoming Sessions")
    expect(upcoming).to_contain_text(
        f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}, 4:30 PM"
    )

    def booked(session: Session) -> list[tuple[str, datetime]]:
        with as_tenant(int(data["tenant_id"])):
            return session.execute(select(TutoringSession.status, TutoringSession.starts_at)).all()

    [(status, starts_at)] = in_live_app(booked)
    assert status == "upcoming"
    assert starts_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "16:30"

    # The tutor finds the booking, confirms it, and sees it under Upcoming Sessions.
    sign_in(tutor, slug, str(data["tutor"]))
    new = tutor.get_by_role("region", name="New bookings")
    expect(new).to_contain_text("Ada")
    new.get_by_role("button", name="Confirm").click()
    upcoming = tutor.get_by_role("region", name="Upcoming Sessions")
    expect(upcoming).to_contain_text("Ada")
    expect(upcoming).to_contain_text("4:30 PM")

    # The slot is gone now; the others stay open.
    parent.goto(f"/{slug}/family/sessions/new")
    parent.get_by_label("Tutor or counselor").select_option(label="Tara Tutor (Tutoring)")
    expect(parent.locator("#slots").get_by_text(re.compile(r"^Open times on "))).to_be_visible()
    htmx_idle(parent)
    parent.get_by_label("Date").fill(day.isoformat())
    when = parent.locator("#slots")
    expect(when.get_by_text(f"Open times on {label}")).to_be_visible()
    expect(when.get_by_role("radio", name=re.compile(r"^4:30 PM"))).to_have_count(0)
    expect(when.get_by_role("radio", name=re.compile(r"^3:00 PM"))).to_have_count(1)
