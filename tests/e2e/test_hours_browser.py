"""End-to-end hours flows (design §2–§4, words of §9): packages, Book Session, Propose Session
→ Accept, Cancel Session with its refund, attendance + action plan, the Status toggle, axe.

Every test asserts what the person sees and the hours in the database; an autouse fixture
ends each one with the ledger audit of its businesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import hours, packages, scheduling
from prepbase.localtime import format_when
from prepbase.models import Package, Tenant, TutoringSession, utcnow
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import Tenants
from tests.e2e.test_browser import (
    PACKAGE_HEADERS,
    htmx_idle,
    htmx_settled,
    mark_document,
    sign_in,
    still_same_document,
)
from tests.factories import Business, make_business

pytestmark = pytest.mark.e2e

ZONE = "America/New_York"  # make_business's time zone
TUTOR = "Tara Tutor"
STAFF_OPTION = "Tara Tutor (Tutoring)"  # the Book Session staff select names the services
Setup = Callable[[Session, Business], dict[str, object]]


# --- the businesses, built through the domain functions ----------------------------------


@dataclass(frozen=True)
class World:
    """What a test needs to know about its business, read before the session closed."""

    slug: str
    tenant_id: int
    name: str
    admin: str
    tutor: str
    parent: str
    student_id: int
    student: str  # "Ada E2E-…"
    first: str
    extra: dict[str, object] = field(default_factory=dict)


def business_today() -> date:
    return datetime.now(ZoneInfo(ZONE)).date()


def local_start(days_ahead: int, hour: int = 15, minute: int = 0) -> datetime:
    """A start time `days_ahead` business-local days from today, as UTC."""
    local = datetime.combine(business_today() + timedelta(days=days_ahead), time(hour, minute))
    return local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(ZoneInfo("UTC"))


def when(moment: datetime) -> str:
    """The text the pages show for a session's start ("Tue 1 Dec 2026, 3:00 PM EST")."""
    return format_when(ZONE, moment)


def build(in_live_app, tenants: Tenants, setup: Setup | None = None) -> World:
    """make_business (admin, Tara Tutor, Pat Parent, students Ada and Ben) + `setup`."""
    slug = tenants.new_slug("hrs")

    def run(session: Session) -> World:
        b = make_business(session, slug)
        with as_tenant(b.tenant.id):
            extra = setup(session, b) if setup else {}
            session.flush()
            ada = b.students[0]
            return World(
                slug=slug,
                tenant_id=b.tenant.id,
                name=b.tenant.name,
                admin=b.admin.email,
                tutor=b.tutor.email,
                parent=b.parent.email,
                student_id=ada.id,
                student=ada.full_name,
                first=ada.first_name,
                extra=extra,
            )

    return in_live_app(run)


def give_growth_package(session: Session, b: Business, hours_text: str = "24") -> Package:
    return packages.assign_package(
        session,
        b.admin,
        b.students[0],
        name="Growth Package",
        service="tutoring",
        package_type="one_time",
        period=None,
        minutes=hours.parse_hours(hours_text, field="hours", max_hours=2000),
        start_date=business_today() - timedelta(days=30),
    )


def family_books(
    session: Session, b: Business, starts_at: datetime, minutes: int, now: datetime | None = None
) -> TutoringSession:
    return scheduling.book_session(
        session,
        b.tenant,
        b.parent,
        student=b.students[0],
        staff=b.tutor,
        service="tutoring",
        starts_at=starts_at,
        duration_minutes=minutes,
        now=now,
    )


def already_started(session: Session, b: Business, minutes_ago: int = 30) -> TutoringSession:
    """A family booking of one hour that started `minutes_ago` (booked an hour before)."""
    starts_at = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    return family_books(session, b, starts_at, 60, now=starts_at - timedelta(hours=1))


def package_minutes(in_live_app, world: World, package_id: int) -> tuple[int, int, bool]:
    """(total, remaining, active) of a package, as stored."""

    def read(session: Session) -> tuple[int, int, bool]:
        with as_tenant(world.tenant_id):
            p = session.scalars(select(Package).where(Package.id == package_id)).one()
            return p.total_minutes, p.remaining_minutes, p.active

    return in_live_app(read)


def only_package_id(in_live_app, world: World) -> int:
    def read(session: Session) -> int:
        with as_tenant(world.tenant_id):
            return session.scalars(
                select(Package.id).where(Package.student_id == world.student_id)
            ).one()

    return in_live_app(read)


@pytest.fixture(autouse=True)
def _ledger_audit(tenants: Tenants, in_live_app) -> Iterator[None]:
    """Each test ends with the ledger audit of the businesses it made (before they go)."""
    yield
    if not tenants.slugs:
        return

    def mismatches(session: Session) -> list[hours.Mismatch]:
        ids = set(session.scalars(select(Tenant.id).where(Tenant.slug.in_(tenants.slugs))))
        return [m for m in hours.audit(session) if m.tenant_id in ids]

    assert in_live_app(mismatches) == [], "ledger audit failed after this test"


# --- what a person sees --------------------------------------------------------------------


def signed_in(new_page: Callable[..., Page], world: World, email: str, home: str) -> Page:
    page = new_page()
    sign_in(page, world.slug, email)
    expect(page).to_have_url(re.compile(rf"/{world.slug}/{home}/$"))
    page.wait_for_load_state("load")  # htmx has started: its buttons act as htmx
    return page


def region(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name=name, exact=True)


def package_row(page: Page, world: World, package: str = "Growth Package") -> Locator:
    """The row of `package` in the student's Packages table (family dashboard or admin tab)."""
    return page.get_by_role("table", name=re.compile(re.escape(world.student))).get_by_role(
        "row", name=re.compile(re.escape(package))
    )


def expect_hours(row: Locator, total: str, remaining: str) -> None:
    """Total Hrs and Remaining Hrs cells (4th and 5th columns of the Packages table)."""
    cells = row.get_by_role("cell")
    expect(cells.nth(3)).to_have_text(total)
    # The family's cell adds a progress bar and "20.5 of 24 hours left" after the number.
    expect(cells.nth(4)).to_have_text(re.compile(rf"^\s*{re.escape(remaining)}(\s|$)"))


def switch_name(status: str) -> re.Pattern[str]:
    # "Active" + a visually hidden ": Growth Package" (Chromium puts a space between them).
    return re.compile(rf"^{status}\s?: Growth Package$")


def family_notice(page: Page) -> Locator:
    return page.locator("#family-sessions").get_by_role("status")


# --- 1. Add Package (admin) → Book Session (parent) ------------------------------------------


def test_parent_books_session_from_growth_package(new_page, tenants, in_live_app):
    def offering(session: Session, b: Business) -> dict[str, object]:
        packages.save_offering(
            session,
            b.admin,
            None,
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=24 * 60,
            rollover=False,
        )
        return {}

    world = build(in_live_app, tenants, offering)

    # The admin: student profile → Packages tab → Add Package, from the offering.
    admin = signed_in(new_page, world, world.admin, "admin")
    admin.goto(f"/{world.slug}/admin/students/{world.student_id}")
    admin.get_by_role("navigation", name="Student profile").get_by_role(
        "link", name="Packages"
    ).click()
    packages_tab = region(admin, "Packages")
    expect(packages_tab.get_by_role("columnheader")).to_have_text(PACKAGE_HEADERS)
    expect(admin.get_by_text(f"No packages are assigned to {world.first}.")).to_be_visible()
    admin.get_by_role("button", name="Add Package", exact=True).click()  # a styled link
    expect(admin.get_by_role("heading", level=1)).to_have_text("Add Package")
    with htmx_settled(admin):
        admin.get_by_label("Offering").select_option(
            label="Growth Package · Tutoring · One-Time · 24 hours"
        )
    expect(admin.get_by_label("Package Name")).to_have_value("Growth Package")
    expect(admin.get_by_label("Package Name")).to_be_disabled()  # the offering's terms
    expect(admin.get_by_label("Hours", exact=True)).to_have_value("24")
    admin.get_by_role("button", name="Add Package", exact=True).click()
    expect(admin).to_have_url(re.compile(rf"/admin/students/{world.student_id}/packages$"))
    expect(admin.get_by_role("status")).to_contain_text(
        f"Growth Package is assigned to {world.student}: 24 hours."
    )
    row, today = package_row(admin, world), business_today()
    expect(row.get_by_role("cell")).to_have_text(
        [
            "Growth Package",
            "One-Time",
            f"{today.day} {today.strftime('%b %Y')}",  # Start Date: the default, today
            "24",
            "24",
            "Tutoring",
            re.compile("Active"),
        ]
    )
    package_id = only_package_id(in_live_app, world)
    assert package_minutes(in_live_app, world, package_id) == (1440, 1440, True)

    # The parent books 3.5 hours from it.
    parent = signed_in(new_page, world, world.parent, "family")
    expect_hours(package_row(parent, world), "24", "24")
    parent.get_by_role("button", name="Book Session", exact=True).click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Book Session")
    day = business_today() + timedelta(days=3)
    parent.get_by_label("Student", exact=True).select_option(label=world.student)
    htmx_idle(parent)
    parent.get_by_label("Service", exact=True).select_option(label="Tutoring")
    htmx_idle(parent)  # choosing the service reloads who offers it, then the times
    parent.get_by_label("Tutor or counselor").select_option(label=STAFF_OPTION)
    htmx_idle(parent)
    parent.get_by_label("Date", exact=True).fill(day.isoformat())
    htmx_idle(parent)  # a new day reloads the "When" part
    parent.get_by_label("Start time").fill("15:00")
    parent.get_by_label("Duration (hours)").fill("3.5")
    parent.get_by_role("button", name="Book Session", exact=True).click()

    expect(parent).to_have_url(re.compile(rf"/{world.slug}/family/$"))
    starts = when(local_start(3))
    expect(parent.get_by_role("status").first).to_have_text(
        f"{world.first}'s session with {TUTOR} is booked for {starts}: "
        "3.5 hours from Growth Package (20.5 left)."
    )
    upcoming = region(parent, "Upcoming Sessions").get_by_role("row", name=re.compile(starts))
    expect(upcoming).to_have_count(1)
    expect(upcoming.get_by_role("cell")).to_have_text(
        [
            world.student,
            re.compile(re.escape(starts)),
            TUTOR,
            "Tutoring",
            "3.5",
            "Growth Package",
            re.compile("Cancel Session"),
        ]
    )
    expect_hours(package_row(parent, world), "24", "20.5")
    expect(
        parent.get_by_role("progressbar", name="Growth Package: 20.5 of 24 hours left")
    ).to_have_attribute("value", "1230")

    # The admin's Packages tab says the same.
    admin.reload()
    expect_hours(package_row(admin, world), "24", "20.5")
    assert package_minutes(in_live_app, world, package_id) == (1440, 1230, True)


# --- 2. Propose Session (tutor) → Accept (parent), in place ------------------------------


def test_tutor_proposes_and_parent_accepts_in_place(new_page, tenants, in_live_app):
    world = build(
        in_live_app,
        tenants,
        lambda session, b: {"package_id": give_growth_package(session, b).id},
    )
    package_id = int(world.extra["package_id"])

    tutor = signed_in(new_page, world, world.tutor, "tutor")
    tutor.get_by_role("button", name="Propose Session").click()  # a link styled as a button
    expect(tutor.get_by_role("heading", level=1)).to_have_text("Propose Session")
    tutor.get_by_label("Student", exact=True).select_option(label=world.student)
    tutor.get_by_label("Service", exact=True).select_option(label="Tutoring")
    expect(tutor.get_by_label("Tutor or counselor")).to_have_value(re.compile(r"^\d+$"))
    tutor.get_by_label("Date", exact=True).fill((business_today() + timedelta(days=4)).isoformat())
    tutor.get_by_label("Start time").fill("16:30")
    tutor.get_by_label("Duration (hours)").fill("2")
    tutor.get_by_role("button", name="Propose Session").click()
    expect(tutor).to_have_url(re.compile(r"/tutor/sessions/\d+$"))
    starts = when(local_start(4, 16, 30))
    expect(tutor.get_by_role("status")).to_have_text(
        f"Session proposed for {world.student} on {starts}. It is pending until the family "
        "accepts it; no hours move until then."
    )
    expect(tutor.get_by_role("heading", level=1)).to_have_text(
        f"Tutoring session with {world.student}"
    )
    expect(
        tutor.get_by_text("It would be paid from Growth Package (24 hours remaining).")
    ).to_be_visible()
    assert package_minutes(in_live_app, world, package_id) == (1440, 1440, True)

    parent = signed_in(new_page, world, world.parent, "family")
    pending = region(parent, "Pending Sessions").get_by_role("row", name=re.compile(starts))
    expect(pending.get_by_role("cell")).to_have_text(
        [
            world.student,
            starts,
            TUTOR,
            "Tutoring",
            "2",
            "Growth Package: 24 hours left, 22 after this session",
            re.compile(r"Accept.*Decline", re.DOTALL),
        ],
        use_inner_text=True,  # what is shown: the long date on this wide screen
    )
    expect(region(parent, "Upcoming Sessions")).to_contain_text("No upcoming sessions.")
    expect_hours(package_row(parent, world), "24", "24")

    mark_document(parent)
    with htmx_settled(parent):
        pending.get_by_role("button", name=re.compile(r"^Accept\b")).click()
    expect(family_notice(parent)).to_have_text(
        f"Accepted: {world.first}'s session of {starts} uses 2 hours of Growth Package (22 left)."
    )
    expect(region(parent, "Pending Sessions")).to_contain_text(
        "No sessions are waiting for your answer."
    )
    upcoming = region(parent, "Upcoming Sessions").get_by_role("row", name=re.compile(starts))
    expect(upcoming.get_by_role("cell").nth(4)).to_have_text("2")
    expect(upcoming.get_by_role("cell").nth(5)).to_have_text("Growth Package")
    expect_hours(package_row(parent, world), "24", "22")  # the hours, swapped out of band
    assert still_same_document(parent), "Accept reloaded the page instead of swapping"
    assert package_minutes(in_live_app, world, package_id) == (1440, 1320, True)


# --- 3. Cancel Session gives the hours back, in place -------------------------------------


def test_parent_cancels_session_and_hours_come_back(new_page, tenants, in_live_app):
    def setup(session: Session, b: Business) -> dict[str, object]:
        package = give_growth_package(session, b)
        ts = family_books(session, b, local_start(5), 210)
        return {"package_id": package.id, "starts_at": ts.starts_at}

    world = build(in_live_app, tenants, setup)
    package_id = int(world.extra["package_id"])
    starts = when(world.extra["starts_at"])  # type: ignore[arg-type]
    assert package_minutes(in_live_app, world, package_id) == (1440, 1230, True)

    parent = signed_in(new_page, world, world.parent, "family")
    expect_hours(package_row(parent, world), "24", "20.5")
    upcoming = region(parent, "Upcoming Sessions").get_by_role("row", name=re.compile(starts))
    expect(upcoming).to_have_count(1)

    mark_document(parent)
    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    parent.once("dialog", accept)
    with htmx_settled(parent):
        upcoming.get_by_role("button", name=re.compile(r"^Cancel Session\b")).click()
    assert dialogs == ["Cancel this session? Its hours go back to the package."]
    expect(family_notice(parent)).to_have_text(
        f"Cancelled {world.first}'s session of {starts}. "
        "3.5 hours went back to Growth Package (24 left)."
    )
    expect(region(parent, "Upcoming Sessions")).to_contain_text("No upcoming sessions.")
    expect_hours(package_row(parent, world), "24", "24")
    assert still_same_document(parent), "Cancel Session reloaded the page instead of swapping"
    assert package_minutes(in_live_app, world, package_id) == (1440, 1440, True)


# --- 4. Take Attendance + Submit Action Plan → Completed ------------------------------------


def test_attendance_and_action_plan_complete_the_session(new_page, tenants, in_live_app):
    def setup(session: Session, b: Business) -> dict[str, object]:
        package = give_growth_package(session, b)
        ts = already_started(session, b)
        return {"package_id": package.id, "starts_at": ts.starts_at}

    world = build(in_live_app, tenants, setup)
    package_id = int(world.extra["package_id"])
    starts = when(world.extra["starts_at"])  # type: ignore[arg-type]
    assert package_minutes(in_live_app, world, package_id) == (1440, 1380, True)

    tutor = signed_in(new_page, world, world.tutor, "tutor")
    region(tutor, "Needs completion").get_by_role("link", name=starts).click()
    expect(tutor.get_by_role("heading", level=1)).to_have_text(
        f"Tutoring session with {world.student}"
    )
    actions = region(tutor, "Actions")
    expect(actions.get_by_role("button", name="Cancel Session")).to_be_visible()
    tutor.get_by_label("Attendance", exact=True).select_option(label="Present")
    actions.get_by_role("button", name="Take Attendance").click()
    expect(tutor.get_by_role("status")).to_have_text(
        "Attendance taken. Add the action plan to complete the session."
    )
    expect(actions.get_by_role("button", name="Take Attendance")).to_have_count(0)
    tutor.get_by_label("Topics covered").fill("Quadratic equations: factoring")
    tutor.get_by_label("Goals").fill("Factor any quadratic in under a minute")
    tutor.get_by_label("Next steps / homework").fill("Worksheet 3, problems 1-12")
    actions.get_by_role("button", name="Submit Action Plan").click()
    expect(tutor.get_by_role("status")).to_have_text(
        "Action plan submitted. The session is completed."
    )
    expect(tutor.get_by_role("heading", level=1).locator("xpath=..")).to_contain_text("Completed")
    expect(actions).to_contain_text(
        "This session is completed. It can no longer be cancelled or changed."
    )
    expect(actions.get_by_role("button")).to_have_count(0)  # no Cancel Session, no forms
    plan = region(tutor, "Action plan")
    expect(plan).to_contain_text("Quadratic equations: factoring")
    expect(plan).to_contain_text("Worksheet 3, problems 1-12")
    expect(tutor.get_by_text("Growth Package · 23 Remaining Hrs")).to_be_visible()

    parent = signed_in(new_page, world, world.parent, "family")
    completed = region(parent, "Completed Sessions").get_by_role("article", name=starts)
    expect(completed).to_contain_text(f"Tutoring with {TUTOR}")
    expect(completed).to_contain_text("Attendance: Present")
    expect(completed.locator("dd")).to_have_text(
        [
            "Quadratic equations: factoring",
            "Factor any quadratic in under a minute",
            "Worksheet 3, problems 1-12",
        ]
    )
    expect(completed.get_by_role("button")).to_have_count(0)
    expect(region(parent, "Upcoming Sessions")).to_contain_text("No upcoming sessions.")
    expect_hours(package_row(parent, world), "24", "23")  # completing moves no hours
    assert package_minutes(in_live_app, world, package_id) == (1440, 1380, True)


# --- 5. The Status toggle: Inactive hides the package from the family -----------------------


def test_admin_sets_package_inactive_in_place(new_page, tenants, in_live_app):
    world = build(
        in_live_app,
        tenants,
        lambda session, b: {"package_id": give_growth_package(session, b).id},
    )
    package_id = int(world.extra["package_id"])

    parent = signed_in(new_page, world, world.parent, "family")
    expect_hours(package_row(parent, world), "24", "24")

    admin = signed_in(new_page, world, world.admin, "admin")
    admin.goto(f"/{world.slug}/admin/students/{world.student_id}/packages")
    row = package_row(admin, world)
    switch = row.get_by_role("switch", name=switch_name("Active"))
    expect(switch).to_have_attribute("aria-checked", "true")
    mark_document(admin)
    with htmx_settled(admin):
        switch.click()
    switch = row.get_by_role("switch", name=switch_name("Inactive"))
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(row.get_by_role("cell").last).to_contain_text("Paused")
    expect_hours(row, "24", "24")  # the hours stay with the package
    assert still_same_document(admin), "the Status toggle reloaded the page instead of swapping"
    assert package_minutes(in_live_app, world, package_id) == (1440, 1440, False)

    parent.reload()
    student = parent.get_by_role("article", name=world.student)
    expect(student).to_contain_text(f"No active packages. Contact {world.name} to buy hours.")
    expect(parent.get_by_text("Growth Package")).to_have_count(0)
    response = parent.goto(f"/{world.slug}/family/packages/{package_id}")
    assert response is not None and response.status == 404


# --- 6. axe-core on the hours pages ----------------------------------------------------------


def test_hours_pages_pass_axe(new_page, tenants, in_live_app):
    from axe_playwright_python.sync_playwright import Axe

    def setup(session: Session, b: Business) -> dict[str, object]:
        packages.save_offering(
            session,
            b.admin,
            None,
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=24 * 60,
            rollover=False,
        )
        package = give_growth_package(session, b)
        done = family_books(
            session, b, local_start(-2), 60, now=local_start(-2) - timedelta(hours=1)
        )
        later = done.starts_at + timedelta(minutes=5)
        scheduling.take_attendance(session, b.tenant, b.tutor, done, "present", now=later)
        scheduling.submit_action_plan(
            session,
            b.tenant,
            b.tutor,
            done,
            topics="Linear functions",
            goals="Graph slopes",
            next_steps="Worksheet 2",
            now=later,
        )
        started = already_started(session, b)
        family_books(session, b, local_start(3), 90)
        scheduling.propose_session(
            session,
            b.tenant,
            b.tutor,
            student=b.students[0],
            staff=b.tutor,
            service="tutoring",
            starts_at=local_start(4),
            duration_minutes=120,
        )
        return {"package_id": package.id, "started_id": started.id}

    world = build(in_live_app, tenants, setup)
    axe = Axe()
    failures: list[str] = []

    def check(page: Page, name: str) -> None:
        results = axe.run(page)
        assert results.response["testEngine"]["name"] == "axe-core"
        serious = [
            v for v in results.response["violations"] if v.get("impact") in ("critical", "serious")
        ]
        if serious:
            report = "\n".join(
                f"  [{v['impact']}] {v['id']}: {v['help']}\n"
                + "\n".join(f"      {', '.join(n['target'])}" for n in v["nodes"])
                for v in serious
            )
            failures.append(f"{name} ({page.url}):\n{report}\n{results.generate_report()}")

    parent = signed_in(new_page, world, world.parent, "family")
    expect(region(parent, "Pending Sessions").get_by_role("row")).to_have_count(2)
    upcoming = region(parent, "Upcoming Sessions")
    expect(upcoming.get_by_role("row")).to_have_count(3)
    expect(upcoming).to_contain_text("Started; waiting for attendance and the action plan.")
    expect(upcoming).to_contain_text(f"Waiting for {TUTOR} to confirm.")
    expect(region(parent, "Completed Sessions").get_by_role("article")).to_have_count(1)
    check(parent, "family dashboard with sessions")
    parent.get_by_role("link", name="Growth Package").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Growth Package")
    check(parent, "family package history")
    parent.goto(f"/{world.slug}/family/sessions/new")
    expect(parent.get_by_role("heading", level=1)).to_have_text("Book Session")
    check(parent, "Book Session")
    parent.get_by_label("Duration (hours)").fill("0")
    with htmx_settled(parent):
        parent.get_by_role("button", name="Book Session", exact=True).click()
    expect(parent.locator(".field-error").first).to_be_visible()
    check(parent, "Book Session with errors")

    tutor = signed_in(new_page, world, world.tutor, "tutor")
    expect(region(tutor, "New bookings").get_by_role("article")).to_have_count(1)
    check(tutor, "tutor portal")
    tutor.goto(f"/{world.slug}/tutor/sessions/{world.extra['started_id']}")
    expect(tutor.get_by_role("heading", name="Take Attendance")).to_be_visible()
    check(tutor, "tutor session page")
    tutor.goto(f"/{world.slug}/tutor/sessions/new")
    expect(tutor.get_by_role("heading", level=1)).to_have_text("Propose Session")
    check(tutor, "Propose Session")

    admin = signed_in(new_page, world, world.admin, "admin")
    admin.goto(f"/{world.slug}/admin/students/{world.student_id}/packages")
    expect(region(admin, "Packages").get_by_role("columnheader")).to_have_text(PACKAGE_HEADERS)
    check(admin, "admin Packages tab")
    admin.goto(f"/{world.slug}/admin/packages/{world.extra['package_id']}")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Growth Package")
    check(admin, "package page")
    admin.goto(f"/{world.slug}/admin/students/{world.student_id}/packages/new")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Add Package")
    check(admin, "Add Package")
    admin.goto(f"/{world.slug}/admin/offerings")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Offerings")
    expect(region(admin, "Current offerings").get_by_role("row")).to_have_count(2)
    check(admin, "offerings")
    admin.goto(f"/{world.slug}/admin/sessions")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Sessions")
    sessions = admin.get_by_role("table", name="Sessions matching the filters")
    expect(sessions.get_by_role("row")).to_have_count(5)  # completed, started, booked, pending
    check(admin, "admin sessions list")

    assert not failures, "axe found serious accessibility problems:\n" + "\n".join(failures)
