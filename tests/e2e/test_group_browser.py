"""End-to-end (issue 14, group sessions): the admin makes an Online category of three seats
and a SAT subject, and proposes one SAT group session to Ada and Ben (the Parent family)
and Cy (the Cruz family). Both families accept, each from its own packages; the Cruz
family cancels (Cy's hour comes back, Ada's and Ben's stay); once the session has taken
place, Tara takes attendance per student and submits one plan with a note for Ada; the
session completes. Each family's package history shows exactly its own student's entries,
and no family page names another family's child."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from prepbase import accounts, hours, packages, people
from prepbase.models import Package, Role, TutoringSession, User, utcnow
from prepbase.tenancy import as_tenant
from tests.e2e.test_browser import sign_in
from tests.e2e.test_categories_browser import LINK, sat_for_tara, soon
from tests.e2e.test_hours_browser import build, give_growth_package, region, signed_in
from tests.e2e.test_series_browser import fits_the_width
from tests.e2e.test_slots_browser import axe_serious
from tests.factories import PASSWORD, Business, business_today

pytestmark = pytest.mark.e2e


def two_families(session: Session, b: Business) -> dict[str, object]:
    """Ada and Ben (24 hours each), and the Cruz family: Paz, and Cy with 10 hours."""
    ada = give_growth_package(session, b)
    ben = packages.assign_package(
        session, b.admin, b.students[1], name="Ben's Hours", service="tutoring",
        package_type="one_time", period=None, minutes=24 * 60,
        start_date=business_today() - timedelta(days=30),
    )  # fmt: skip
    family = people.create_family(session, b.admin, name="Cruz family")
    cy = people.save_student(
        session, b.admin, None, family=family, first_name="Cy", last_name="Cruz", grade="11",
        school="North High", notes="",
    )  # fmt: skip
    slug = b.tenant.slug
    session.add(User(name="Paz Cruz", email=f"paz@{slug}.example.com", role=Role.PARENT,
                     family=family, password_hash=accounts.hash_password(PASSWORD)))  # fmt: skip
    cruz = packages.assign_package(
        session, b.admin, cy, name="Cruz Hours", service="tutoring", package_type="one_time",
        period=None, minutes=600, start_date=business_today() - timedelta(days=30),
    )  # fmt: skip
    return {
        "ada": ada.id, "ben": ben.id, "cy": cy.full_name, "cruz": cruz.id,
        "paz": f"paz@{slug}.example.com", "ben_name": b.students[1].full_name,
    }  # fmt: skip


def history(page: Page) -> str:
    return page.get_by_role("table").first.inner_text()


def test_a_three_seat_sat_group_two_families_one_cancels_attendance_per_student(
    new_page, tenants, in_live_app
):
    world = build(in_live_app, tenants, two_families)
    extra = world.extra
    admin = signed_in(new_page, world, world.admin, "admin")

    # The category of three seats, its subject, and Tara's subject and meeting link.
    admin.goto(f"/{world.slug}/admin/settings/categories")
    admin.get_by_role("button", name="Add category").click()
    admin.get_by_label("Name", exact=True).fill("Online")
    admin.get_by_label("Colour").fill("#6d28d9")
    admin.get_by_label("Where sessions take place").select_option(label="Virtual Meeting")
    admin.get_by_label("Show the meeting link (minutes before the start)").fill("1440")
    admin.get_by_label("Seats per session").fill("3")
    admin.get_by_role("button", name="Save category").click()
    expect(admin.get_by_role("status").first).to_contain_text("Online is saved.")
    sat_for_tara(admin, world.slug)

    # Propose Session with two other participating students: a group of three.
    starts = soon()
    admin.goto(f"/{world.slug}/tutor/sessions/new")
    admin.get_by_label("Student", exact=True).select_option(label=world.student)
    admin.get_by_label("Other participating students (a group session)").select_option(
        label=[extra["ben_name"], extra["cy"]]
    )
    admin.get_by_label("Service", exact=True).select_option(label="Tutoring")
    admin.get_by_label("Category").select_option(label="Online")
    admin.get_by_label("Subject").select_option(label="Online → SAT")
    admin.get_by_label("Tutor or counselor").select_option(label="Tara Tutor (Tutoring)")
    admin.get_by_label("Date", exact=True).fill(starts.date().isoformat())
    admin.get_by_label("Start time").fill(starts.strftime("%H:%M"))
    admin.get_by_label("Duration (hours)").fill("1")
    admin.get_by_role("button", name="Propose Session").click()
    expect(admin).to_have_url(re.compile(r"/tutor/groups/\d+$"))
    group_url = admin.url
    expect(admin.get_by_role("status").first).to_contain_text("Group session proposed for")
    expect(admin.get_by_role("heading", level=1).locator("xpath=..")).to_contain_text(
        "3 of 3 seats taken"
    )
    participants = region(admin, "Participating students")
    for name in (world.student, extra["ben_name"], extra["cy"]):
        expect(participants).to_contain_text(name)
    expect(participants).to_contain_text("Charged when the family accepts")
    details = admin.locator("dl.facts").first
    expect(details.get_by_role("link", name=re.compile("Join the meeting"))).to_have_attribute(
        "href", LINK
    )
    assert axe_serious(admin) == []

    # The Parent family accepts for Ada and Ben, on a phone; it never sees Cy.
    parent = new_page(phone=True)
    sign_in(parent, world.slug, world.parent)
    pending = region(parent, "Pending Sessions")
    expect(pending).to_contain_text("Group session")
    expect(pending).to_contain_text("SAT")
    for _ in range(2):
        pending.get_by_role("button", name=re.compile(r"^Accept\b")).first.click()
        expect(parent.get_by_role("status").first).to_contain_text("Accepted")
    expect(region(parent, "Upcoming Sessions")).to_contain_text("Group session")
    assert "Cruz" not in parent.locator("main").inner_text()
    assert axe_serious(parent) == []
    assert fits_the_width(parent)

    # The Cruz family accepts for Cy, then cancels: only Cy's hour comes back.
    cruz = new_page(phone=True)
    sign_in(cruz, world.slug, str(extra["paz"]))
    region(cruz, "Pending Sessions").get_by_role("button", name=re.compile(r"^Accept\b")).click()
    expect(cruz.get_by_role("status").first).to_contain_text("Accepted")
    cruz.once("dialog", lambda dialog: dialog.accept())
    region(cruz, "Upcoming Sessions").get_by_role(
        "button", name=re.compile(r"^Cancel Session\b")
    ).click()
    expect(cruz.get_by_role("status").first).to_contain_text("1 hour went back to Cruz Hours")
    page_text = cruz.locator("main").inner_text()
    assert "Ada" not in page_text and "Ben" not in page_text

    admin.goto(group_url)
    expect(admin.get_by_role("heading", level=1).locator("xpath=..")).to_contain_text(
        "2 of 3 seats taken"
    )

    # The session takes place (its rows are moved 30 minutes into the past, as time would).
    def started(session: Session) -> None:
        with as_tenant(world.tenant_id):
            start = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=30)
            session.execute(
                sa.update(TutoringSession)
                .where(TutoringSession.group_id == int(group_url.rsplit("/", 1)[1]))
                .values(starts_at=start, ends_at=start + timedelta(hours=1))
            )

    in_live_app(started)
    tutor = signed_in(new_page, world, world.tutor, "tutor")
    tutor.goto(group_url)
    actions = region(tutor, "Actions")
    actions.get_by_label(world.student).select_option(label="Present")
    actions.get_by_label(str(extra["ben_name"])).select_option(label="Late")
    assert axe_serious(tutor) == []
    actions.get_by_role("button", name="Take Attendance").click()
    expect(tutor.get_by_role("status").first).to_contain_text("Attendance taken for Ada, Ben.")
    tutor.get_by_label("Topics covered").fill("Reading: evidence pairs")
    tutor.get_by_label("Next steps / homework").fill("Practice test 3, section 1")
    tutor.get_by_label("Note for Ada's family (optional)").fill("Ada: great pacing today")
    actions.get_by_role("button", name="Submit Action Plan").click()
    expect(tutor.get_by_role("status").first).to_have_text(
        "Action plan submitted. The session is completed."
    )
    participants = region(tutor, "Participating students")
    expect(participants).to_contain_text("Present")
    expect(participants).to_contain_text("Late")
    expect(participants.get_by_text("Completed")).to_have_count(2)
    expect(participants.get_by_text("Cancelled")).to_have_count(1)
    # the group page on a phone: no sideways scrolling, axe clean
    phone = signed_in(lambda: new_page(phone=True), world, world.tutor, "tutor")
    phone.goto(group_url)
    expect(region(phone, "Participating students")).to_contain_text("Present")
    assert fits_the_width(phone)
    assert axe_serious(phone) == []

    # Each family's package history: its own student's entries only.
    parent.goto(f"/{world.slug}/family/packages/{extra['ada']}")
    ada_history = history(parent)
    assert ada_history.count("Debit") == 1 and "Refund" not in ada_history
    foreign = parent.goto(f"/{world.slug}/family/packages/{extra['cruz']}")
    assert foreign is not None and foreign.status == 404  # another family's package
    cruz.goto(f"/{world.slug}/family/packages/{extra['cruz']}")
    cruz_history = history(cruz)
    assert cruz_history.count("Debit") == 1 and cruz_history.count("Refund") == 1
    cruz.goto(f"/{world.slug}/family/")
    assert "Ada" not in cruz.locator("main").inner_text()
    parent.goto(f"/{world.slug}/family/")
    completed = region(parent, "Completed Sessions")
    expect(completed).to_contain_text("Ada: great pacing today")
    expect(completed).to_contain_text("Reading: evidence pairs")

    def remaining(session: Session) -> tuple[int, ...]:
        with as_tenant(world.tenant_id):
            rows = [session.get(Package, int(extra[k])) for k in ("ada", "ben", "cruz")]
            assert hours.audit(session) == []
            return tuple(p.remaining_minutes for p in rows if p is not None)

    assert in_live_app(remaining) == (23 * 60, 23 * 60, 600)
