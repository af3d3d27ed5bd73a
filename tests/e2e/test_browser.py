"""End-to-end: real Chromium against a live server, real SMTP, real database commits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import accounts, people
from prepbase.models import Role, Tenant, User
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import Tenants
from tests.factories import PASSWORD, make_business

pytestmark = pytest.mark.e2e

PACKAGE_HEADERS = [
    "Package Name",
    "Package Type",
    "Start Date",
    "Total Hrs",
    "Remaining Hrs",
    "Package Service",
    "Status",
]


@dataclass
class Owner:
    slug: str
    business: str
    name: str
    email: str
    password: str = PASSWORD


# --- steps a person takes ----------------------------------------------------------------


def sign_up(page: Page, tenants: Tenants, business: str = "Bright Path Tutoring") -> Owner:
    slug = tenants.new_slug()
    owner = Owner(
        slug=slug, business=business, name="Olivia Park", email=f"olivia@{slug}.example.com"
    )
    page.goto("/signup")
    page.get_by_label("Business name").fill(owner.business)
    page.get_by_label("URL name").fill(owner.slug)
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_label("Your name").fill(owner.name)
    page.get_by_label("Your e-mail").fill(owner.email)
    page.get_by_label("Password", exact=True).fill(owner.password)
    page.get_by_label("Repeat the password").fill(owner.password)
    page.get_by_role("button", name="Create my business").click()
    expect(page).to_have_url(re.compile(rf"/{slug}/admin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    return owner


def sign_in(page: Page, slug: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"/{slug}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


PHONE_BREAKPOINT = 700  # px, as in static/css/app.css


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def phone_menu(page: Page) -> bool:
    """Open the Menu of a narrow screen; False on a wide one (it has the bar).

    Decided by the viewport width (the stylesheet's 700 px breakpoint), not by
    whether the summary looks visible: before the stylesheet has applied, the
    Menu of a wide page is briefly visible too.
    """
    viewport = page.viewport_size
    if viewport is None or viewport["width"] >= PHONE_BREAKPOINT:
        return False
    main_nav(page).locator("summary", has_text="Menu").click()
    return True


def sign_out(page: Page, name: str) -> None:
    if not phone_menu(page):
        main_nav(page).locator("summary", has_text=name).click()
    main_nav(page).get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def students_menu(page: Page, item: str) -> None:
    if not phone_menu(page):
        main_nav(page).locator("summary", has_text="Students").click()
    main_nav(page).get_by_role("link", name=item, exact=True).click()


def accept_invitation(page: Page, link: str, password: str = PASSWORD) -> None:
    page.goto(link)
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Set my password").click()


@contextmanager
def htmx_settled(page: Page) -> Iterator[None]:
    """Wait until the htmx swap caused by the block has settled.

    htmx focuses the swapped form's `autofocus` field in its settle step (20 ms after the
    swap); typing before that could land in the wrong field. It first waits for the page's
    load: htmx (a deferred script) starts on DOMContentLoaded, and a button clicked before
    it has would submit its form the browser's way, a full page load (seen under CI load).
    """
    page.wait_for_load_state("load")
    page.evaluate(
        """() => { window.__settled = new Promise(resolve => {
            document.addEventListener("htmx:afterSettle", () => resolve(true), {once: true});
            setTimeout(() => resolve(false), 10000);
        }); }"""
    )
    yield
    assert page.evaluate("() => window.__settled") is True, "no htmx swap settled within 10 s"


def htmx_idle(page: Page) -> None:
    """Wait until no htmx request, swap or settle is under way (new content is processed
    in the settle step: a change made before then would not be heard), and the page has
    loaded (before that htmx has not started, and nothing is heard at all)."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def mark_document(page: Page) -> None:
    """A flag on `window` that only survives as long as the page is not reloaded.

    It is set just before an htmx action, so it first waits for htmx to be listening: a
    search typed before the page's load was heard by nobody (seen under CI load)."""
    htmx_idle(page)
    page.evaluate("window.__marker = 1")


def still_same_document(page: Page) -> bool:
    return page.evaluate("window.__marker") == 1


# --- the tests -----------------------------------------------------------------------------


def test_sign_up_invite_parent_and_parent_sees_family_dashboard(
    phone_page, tenants, mailbox, live_server
):
    page = phone_page  # the whole journey on a phone-sized (390×844) screen
    owner = sign_up(page, tenants)

    students_menu(page, "Families")
    expect(page.get_by_role("heading", level=1)).to_have_text("Families")
    page.get_by_role("button", name="Add family").click()  # a link styled as a button
    page.get_by_label("Family name").fill("Lopez family")
    page.get_by_role("button", name="Add family").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lopez family")

    page.get_by_role("link", name="Add a student to Lopez family").click()
    page.get_by_label("First name").fill("Sofia")
    page.get_by_label("Last name").fill("Lopez")
    page.get_by_label("Grade").fill("11")
    page.get_by_label("School").fill("Lincoln High School")
    expect(page.get_by_label("Family", exact=True)).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_label("Family", exact=True).locator("option:checked")).to_have_text(
        "Lopez family"
    )
    page.get_by_role("button", name="Save student").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sofia Lopez")
    expect(page.get_by_role("status")).to_contain_text("Sofia Lopez is saved.")

    page.get_by_role("main").get_by_role("link", name="Lopez family").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lopez family")
    expect(page.get_by_role("link", name="Sofia Lopez")).to_be_visible()
    parent_email = f"maria@{owner.slug}.example.com"
    page.get_by_label("Parent's name").fill("Maria Lopez")
    page.get_by_label("Parent's e-mail").fill(parent_email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {parent_email}.")
    expect(page.get_by_role("cell", name="Invited")).to_be_visible()

    link = mailbox.link(parent_email)
    assert link.startswith(f"{live_server}/{owner.slug}/invite/"), link

    sign_out(page, owner.name)
    expect(page).to_have_url(re.compile(rf"/{owner.slug}/login$"))

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Welcome to {owner.business}, Maria Lopez"
    )
    accept_invitation(page, link, "maria-lopez-2024")
    expect(page).to_have_url(re.compile(rf"/{owner.slug}/family/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Maria Lopez")
    expect(page.get_by_role("heading", name="Sofia Lopez")).to_be_visible()
    expect(page.get_by_text("Grade 11 · Lincoln High School")).to_be_visible()

    response = page.goto(link)
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This link has expired or was already used"
    )


def test_demo_roles_sign_in(new_page, tenants, mailbox, in_live_app):
    page = new_page()
    owner = sign_up(page, tenants)
    sign_out(page, owner.name)

    # The admin signs in again and invites a tutor from the staff page.
    sign_in(page, owner.slug, owner.email)
    expect(page).to_have_url(re.compile(rf"/{owner.slug}/admin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    main_nav(page).get_by_role("link", name="Staff", exact=True).click()
    page.get_by_role("button", name="Invite staff").click()  # a link styled as a button
    tutor_email = f"maya@{owner.slug}.example.com"
    page.get_by_label("Name", exact=True).fill("Maya Chen")
    page.get_by_label("E-mail").fill(tutor_email)
    page.get_by_label("Role").select_option(label="Tutor")
    page.get_by_label("Tutoring").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {tutor_email}.")
    expect(page.get_by_role("row", name=re.compile("Maya Chen"))).to_contain_text("Invited")
    sign_out(page, owner.name)

    # The tutor accepts the invitation, signs out, and signs in with the new password.
    accept_invitation(page, mailbox.link(tutor_email), "maya-chen-secret")
    expect(page).to_have_url(re.compile(rf"/{owner.slug}/tutor/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Maya Chen")
    sign_out(page, "Maya Chen")
    sign_in(page, owner.slug, tutor_email, "maya-chen-secret")
    expect(page).to_have_url(re.compile(rf"/{owner.slug}/tutor/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Maya Chen")
    expect(page.get_by_text("Tutor · Tutoring")).to_be_visible()
    sign_out(page, "Maya Chen")

    # A parent who already has a password (made through the domain functions).
    def add_parent(session: Session) -> None:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == owner.slug))
        with as_tenant(tenant_id):
            admin = session.scalar(select(User).where(User.role == Role.ADMIN))
            family = people.create_family(session, admin, name="Nguyen family")
            people.save_student(
                session,
                admin,
                None,
                family=family,
                first_name="Kim",
                last_name="Nguyen",
                grade="9",
                school="Riverside Academy",
                notes="",
            )
            session.add(
                User(
                    name="Linh Nguyen",
                    email=f"linh@{owner.slug}.example.com",
                    role=Role.PARENT,
                    password_hash=accounts.hash_password(PASSWORD),
                    family=family,
                )
            )
            session.flush()

    in_live_app(add_parent)
    sign_in(page, owner.slug, f"linh@{owner.slug}.example.com")
    expect(page).to_have_url(re.compile(rf"/{owner.slug}/family/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Linh Nguyen")
    expect(page.get_by_role("heading", name="Kim Nguyen")).to_be_visible()

    # A parent is not let into the admin pages, and a wrong password is refused in place.
    response = page.goto(f"/{owner.slug}/admin/")
    assert response is not None and response.status == 403
    sign_out(page, "Linh Nguyen")
    sign_in(page, owner.slug, owner.email, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail or password.")
    expect(page).to_have_url(re.compile(rf"/{owner.slug}/login$"))


def test_htmx_student_search_and_tabs(page, tenants, in_live_app):
    owner = sign_up(page, tenants)

    def add_students(session: Session) -> None:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == owner.slug))
        with as_tenant(tenant_id):
            admin = session.scalar(select(User).where(User.role == Role.ADMIN))
            family = people.create_family(session, admin, name="Garcia family")
            for first, grade, school in (
                ("Leo", "10", "Lincoln High School"),
                ("Mia", "7", "Jefferson Middle"),
            ):
                people.save_student(
                    session,
                    admin,
                    None,
                    family=family,
                    first_name=first,
                    last_name="Garcia",
                    grade=grade,
                    school=school,
                    notes="",
                )

    in_live_app(add_students)

    students_menu(page, "Student Profiles")
    expect(page.get_by_role("heading", level=1)).to_have_text("Student Profiles")
    results = page.locator("#student-results tbody tr")
    expect(results).to_have_count(2)

    mark_document(page)
    page.get_by_label("Search students").fill("jeff")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Mia Garcia")
    expect(page.get_by_text("1 student matching “jeff”.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/students\?q=jeff$"))
    page.get_by_label("Search students").fill("nobody-here")
    expect(page.get_by_text("No student matches “nobody-here”.")).to_be_visible()
    page.get_by_label("Search students").fill("")
    expect(results).to_have_count(2)
    assert still_same_document(page), "the search reloaded the page instead of swapping"

    page.get_by_role("link", name="Leo Garcia").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leo Garcia")
    tabs = page.get_by_role("navigation", name="Student profile")
    expect(tabs.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")

    mark_document(page)
    tabs.get_by_role("link", name="Packages").click()
    expect(page).to_have_url(re.compile(r"/admin/students/\d+/packages$"))
    packages = page.get_by_role("region", name="Packages", exact=True)
    expect(packages.get_by_role("columnheader")).to_have_text(PACKAGE_HEADERS)
    expect(page.get_by_text("No packages are assigned to Leo.")).to_be_visible()
    expect(tabs.get_by_role("link", name="Packages")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Leo Garcia")
    assert still_same_document(page), "the tab reloaded the page instead of swapping"

    # The pushed URL is a real page too: reloading it shows the same tab.
    page.reload()
    expect(packages.get_by_role("columnheader")).to_have_text(PACKAGE_HEADERS)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/admin/students/\d+$"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_form_errors_show_in_page(page, tenants, in_live_app):
    business = f"Nope Tutoring {tenants.new_slug()}"
    page.goto("/signup")
    mark_document(page)
    page.get_by_label("Business name").fill(business)
    page.get_by_label("URL name").fill("admin")
    page.get_by_label("Your name").fill("Nora Nope")
    page.get_by_label("Your e-mail").fill("nora@nope.example.com")
    page.get_by_label("Password", exact=True).fill("abc")
    page.get_by_label("Repeat the password").fill("abc")
    with (
        htmx_settled(page),
        page.expect_response(
            lambda r: r.url.endswith("/signup") and r.request.method == "POST"
        ) as answer,
    ):
        page.get_by_role("button", name="Create my business").click()
    assert answer.value.status == 422
    password = page.get_by_label("Password", exact=True)
    expect(page.locator("#password-error")).to_have_text(
        "Use at least 10 characters for the password."
    )
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", re.compile(r"\bpassword-error\b"))
    expect(page.get_by_label("Business name")).to_have_value(business)  # input is kept

    # With a good password the business rule on the URL name answers, still in place.
    page.get_by_label("Password", exact=True).fill("long-enough-password")
    page.get_by_label("Repeat the password").fill("long-enough-password")
    with (
        htmx_settled(page),
        page.expect_response(
            lambda r: r.url.endswith("/signup") and r.request.method == "POST"
        ) as answer,
    ):
        page.get_by_role("button", name="Create my business").click()
    assert answer.value.status == 422
    expect(page.locator("#slug-error")).to_contain_text("reserved")
    expect(page.get_by_label("URL name")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/signup$"))
    assert still_same_document(page), "the refused form reloaded the page instead of swapping"

    def count_created(session: Session) -> int:
        return session.scalar(select(func.count(Tenant.id)).where(Tenant.name == business))

    assert in_live_app(count_created) == 0


def test_pages_pass_axe(new_page, tenants, in_live_app):
    from axe_playwright_python.sync_playwright import Axe

    slug = tenants.new_slug("axe")

    def build(session: Session) -> dict[str, object]:
        b = make_business(session, slug)
        return {
            "admin": b.admin.email,
            "parent": b.parent.email,
            "student_id": b.students[0].id,
            "student": b.students[0].full_name,
        }

    data = in_live_app(build)
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

    page = new_page()
    page.goto("/signup")
    check(page, "sign-up")
    with htmx_settled(page):
        page.get_by_role("button", name="Create my business").click()  # empty: errors in place
    expect(page.locator(".field-error").first).to_be_visible()
    check(page, "sign-up with errors")
    page.goto(f"/{slug}/login")
    check(page, "sign-in")

    sign_in(page, slug, str(data["admin"]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    check(page, "admin dashboard")
    page.goto(f"/{slug}/admin/students")
    expect(page.get_by_role("heading", level=1)).to_have_text("Student Profiles")
    check(page, "Student Profiles")
    page.goto(f"/{slug}/admin/students/{data['student_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(str(data["student"]))
    check(page, "student profile")
    page.goto(f"/{slug}/admin/students/{data['student_id']}/packages")
    expect(page.get_by_role("heading", name="Packages")).to_be_visible()
    check(page, "student packages tab")

    parent = new_page(phone=True)
    sign_in(parent, slug, str(data["parent"]))
    expect(parent).to_have_url(re.compile(rf"/{slug}/family/$"))
    check(parent, "family dashboard (phone)")

    assert not failures, "axe found serious accessibility problems:\n" + "\n".join(failures)
