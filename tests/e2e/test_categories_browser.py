"""End-to-end (issue 14, first part): the admin makes an Online (Virtual Meeting) category,
a subject SAT under it, gives Tara the subject and her meeting link, and proposes an SAT
session with it; the family sees the category, the subject and the link (the lead time
covers the start) and accepts. Axe clean; the family's pages at 390 px."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import htmx_idle, sign_in
from tests.e2e.test_hours_browser import ZONE, build, give_growth_package, region, signed_in
from tests.e2e.test_series_browser import fits_the_width
from tests.e2e.test_slots_browser import axe_serious

pytestmark = pytest.mark.e2e

LINK = "https://meet.example.com/tara-sat"


def soon() -> datetime:
    """Three hours from now on the business's wall clock, on a quarter hour: inside a
    24-hour link lead time, whatever the hour of the run."""
    local = datetime.now(ZoneInfo(ZONE)) + timedelta(hours=3)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)


def sat_for_tara(admin: Page, slug: str, *, check_axe: bool = False) -> None:
    """Admin: the subject SAT under the Online category, taught by Tara, whose default
    meeting link is `LINK`."""
    admin.goto(f"/{slug}/admin/settings/subjects/new")
    admin.get_by_label("Category").select_option(label="Online")
    admin.get_by_label("Name", exact=True).fill("SAT")
    admin.get_by_role("button", name="Save subject").click()
    expect(admin.get_by_role("status").first).to_contain_text("SAT is saved.")

    admin.goto(f"/{slug}/admin/staff")
    admin.get_by_role("link", name=re.compile(r"^Edit\b.*Tara Tutor")).first.click()
    admin.get_by_label("Online → SAT").check()
    admin.get_by_label("Default meeting link (optional)").fill(LINK)
    if check_axe:
        assert axe_serious(admin) == []
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("status").first).to_contain_text("Tara Tutor is saved.")


def test_admin_makes_an_online_sat_session_and_the_family_sees_its_link(
    new_page, tenants, in_live_app
):
    world = build(
        in_live_app, tenants, lambda session, b: {"p": give_growth_package(session, b).id}
    )

    admin = signed_in(new_page, world, world.admin, "admin")
    admin.goto(f"/{world.slug}/admin/settings/categories")
    expect(admin.get_by_role("heading", name="Session Categories")).to_be_visible()
    admin.get_by_role("button", name="Add category").click()
    admin.get_by_label("Name", exact=True).fill("Online")
    # A colour white text cannot be read on is refused with its contrast.
    admin.get_by_label("Colour").fill("#fde68a")
    admin.get_by_label("Where sessions take place").select_option(label="Virtual Meeting")
    admin.get_by_label("Show the meeting link (minutes before the start)").fill("1440")
    admin.get_by_role("button", name="Save category").click()
    expect(admin.locator("#colour-error")).to_contain_text("Choose a darker colour")
    htmx_idle(admin)
    admin.get_by_label("Colour").fill("#6d28d9")
    assert axe_serious(admin) == []
    admin.get_by_role("button", name="Save category").click()
    expect(admin.get_by_role("status").first).to_contain_text("Online is saved.")

    sat_for_tara(admin, world.slug, check_axe=True)

    starts = soon()
    admin.goto(f"/{world.slug}/tutor/sessions/new")
    admin.get_by_label("Student", exact=True).select_option(label=world.student)
    admin.get_by_label("Service", exact=True).select_option(label="Tutoring")
    admin.get_by_label("Category").select_option(label="Online")
    admin.get_by_label("Subject").select_option(label="Online → SAT")
    admin.get_by_label("Tutor or counselor").select_option(label="Tara Tutor (Tutoring)")
    admin.get_by_label("Date", exact=True).fill(starts.date().isoformat())
    admin.get_by_label("Start time").fill(starts.strftime("%H:%M"))
    admin.get_by_label("Duration (hours)").fill("1")
    assert axe_serious(admin) == []
    admin.get_by_role("button", name="Propose Session").click()
    expect(admin).to_have_url(re.compile(r"/tutor/sessions/\d+$"))
    session_id = int(admin.url.rsplit("/", 1)[1])
    details = admin.locator("dl.facts").first
    expect(details).to_contain_text("Online")
    expect(details).to_contain_text("SAT")
    expect(details.get_by_role("link", name=re.compile("Join the meeting"))).to_have_attribute(
        "href", LINK
    )

    parent = new_page(phone=True)
    sign_in(parent, world.slug, world.parent)
    expect(parent).to_have_url(re.compile(rf"/{world.slug}/family/$"))
    pending = region(parent, "Pending Sessions")
    expect(pending).to_contain_text("Online")
    expect(pending).to_contain_text("SAT")
    expect(pending.get_by_role("link", name=re.compile("Join the meeting"))).to_have_attribute(
        "href", LINK
    )
    assert axe_serious(parent) == []
    assert fits_the_width(parent)
    pending.get_by_role("button", name=re.compile(r"^Accept\b")).click()
    expect(region(parent, "Upcoming Sessions")).to_contain_text("SAT")

    parent.goto(f"/{world.slug}/family/sessions/{session_id}")
    facts = parent.locator("dl.facts")
    expect(facts).to_contain_text("Online")
    expect(facts).to_contain_text("SAT")
    expect(facts).to_contain_text("Virtual Meeting")
    expect(facts.get_by_role("link", name=re.compile("Join the meeting"))).to_have_attribute(
        "href", LINK
    )
    assert axe_serious(parent) == []
    assert fits_the_width(parent)
