"""Insights in Chromium: filtering Reports changes the chart in place (htmx, pushed URL);
the admin's Packages tab, the tutor's My Sessions and the family dashboard show their
charts, on a desktop and on a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from prepbase import packages, scheduling
from prepbase.models import utcnow
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import htmx_settled, mark_document, sign_in, still_same_document
from tests.e2e.test_hours_browser import build, business_today, give_growth_package
from tests.factories import Business

pytestmark = pytest.mark.e2e


def setup(session: Session, b: Business) -> dict[str, object]:
    """Ada: 24 h of Tutoring, a completed 2 h session 3 days ago; Ben: 5 h of Counseling."""
    package = give_growth_package(session, b)
    packages.assign_package(
        session,
        b.admin,
        b.students[1],
        name="College Counseling",
        service="counseling",
        package_type="one_time",
        period=None,
        minutes=300,
        start_date=package.start_date,
    )
    starts = utcnow().replace(microsecond=0) - timedelta(days=3)
    ts = scheduling.book_session(
        session,
        b.tenant,
        b.parent,
        student=b.students[0],
        staff=b.tutor,
        service="tutoring",
        starts_at=starts,
        duration_minutes=120,
        now=starts - timedelta(hours=1),
    )
    scheduling.take_attendance(session, b.tenant, b.tutor, ts, "present")
    scheduling.submit_action_plan(
        session, b.tenant, b.tutor, ts, topics="Essays", goals="", next_steps=""
    )
    return {"package_id": package.id}


def chart(page: Page, chart_id: str):
    svg = page.locator(f"svg#{chart_id}")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100, box
    return svg


def test_filtering_reports_changes_the_chart_in_place(new_page, tenants, in_live_app):
    world = build(in_live_app, tenants, setup)
    page = new_page()
    sign_in(page, world.slug, world.admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    flow = chart(page, "chart-hours-flow")
    expect(flow).to_have_attribute("role", "img")
    expect(page.locator("#chart-hours-flow-title")).to_have_text(
        "Hours sold, used and refunded per week"
    )
    before = page.locator("#chart-hours-remaining-desc").text_content()
    assert before.endswith(": 27.")  # 24 + 5 hours sold, 2 used
    assert page.locator("svg#chart-hours-flow rect.bar").count() >= 12 * 3
    students = page.get_by_role("table", name="Usage and engagement per student")
    expect(students).to_contain_text(world.student)
    expect(students).to_contain_text("Ben")

    mark_document(page)
    with htmx_settled(page):
        page.get_by_label("Service").select_option("counseling")
    assert still_same_document(page)  # no full reload
    expect(page).to_have_url(re.compile(r"/admin/reports\?.*service=counseling"))
    after = page.locator("#chart-hours-remaining-desc").text_content()
    assert after.endswith(": 5.")  # only the 5 counseling hours
    expect(students).not_to_contain_text(world.student)

    with htmx_settled(page):
        page.get_by_label("Group by").select_option("month")
    expect(page.locator("#chart-hours-flow-title")).to_have_text(
        "Hours sold, used and refunded per month"
    )
    assert page.locator("svg#chart-hours-flow rect.bar").count() < 12 * 3
    assert still_same_document(page)

    # a bad range shows its message in place, and nothing else changes
    with htmx_settled(page):
        page.get_by_label("To", exact=True).fill("2001-01-01")
    expect(page.get_by_role("alert")).to_contain_text("The end date is before the start date.")


def test_admin_tutor_and_family_screens_show_their_charts(new_page, tenants, in_live_app):
    world = build(in_live_app, tenants, setup)
    admin = new_page()
    sign_in(admin, world.slug, world.admin)
    expect(admin).to_have_url(re.compile(r"/admin/$"))
    admin.goto(f"/{world.slug}/admin/students/{world.student_id}/packages")
    svg = chart(admin, f"chart-package-{world.extra['package_id']}")
    expect(svg.locator("title").first).to_have_text(
        "Growth Package: remaining hours at the end of each day, last 30 days"
    )
    admin.goto(f"/{world.slug}/admin/packages/{world.extra['package_id']}")
    chart(admin, f"chart-package-{world.extra['package_id']}")

    tutor = new_page(phone=True)
    sign_in(tutor, world.slug, world.tutor)
    expect(tutor).to_have_url(re.compile(r"/tutor/$"))
    delivered = chart(tutor, "chart-delivered")
    expect(delivered.locator("desc")).to_contain_text("Hours delivered (Hours)")
    expect(tutor.get_by_text("2 hours in the last 12 weeks")).to_be_visible()
    assert_no_sideways_scroll(tutor, 390)  # the chart must fit a phone screen

    family = new_page(phone=True)
    sign_in(family, world.slug, world.parent)
    expect(family).to_have_url(re.compile(r"/family/$"))
    chart(family, f"chart-package-{world.extra['package_id']}")
    # 22 h left after 2 h used in 30 days: 22·60·30 // 120 = 330 days
    runout = family.locator(f"#package-chart-{world.extra['package_id']}")
    day = business_today() + timedelta(days=330)
    expect(runout).to_contain_text(f"until about {day.day} {day.strftime('%b %Y')}")
    expect(runout).to_contain_text("projected run-out date")
    family.wait_for_load_state("load")  # measure with the stylesheets applied
    assert_no_sideways_scroll(family, 390)
