"""End-to-end (issue 13): an admin deactivates a tutor who has two upcoming sessions: the
page asks first, the admin reassigns one (on a phone), cancels the other (without
JavaScript), then deactivates. And Log Past Session, which staff and admins open next to
Propose Session, passes axe."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import hours
from prepbase.models import Role, Service, StaffService, Tenant, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import DESKTOP, Tenants, assert_fits_viewport
from tests.e2e.test_browser import sign_in
from tests.e2e.test_hours_browser import (
    World,
    build,
    family_books,
    give_growth_package,
    local_start,
    when,
)
from tests.e2e.test_slots_browser import axe_serious

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _ledger_audit(tenants: Tenants, in_live_app) -> Iterator[None]:
    """Each test ends with the ledger audit of the businesses it made (before they go)."""
    yield

    def mismatches(session: Session) -> list[hours.Mismatch]:
        ids = set(session.scalars(select(Tenant.id).where(Tenant.slug.in_(tenants.slugs))))
        return [m for m in hours.audit(session) if m.tenant_id in ids]

    assert in_live_app(mismatches) == [], "ledger audit failed after this test"


def with_nora_and_two_sessions(session: Session, b) -> dict[str, object]:
    nora = User(
        name="Nora New", email=f"nora@{b.tenant.slug}.example.com", role=Role.TUTOR,
        password_hash=None,
    )  # fmt: skip
    nora.service_rows = [StaffService(service=Service.TUTORING)]
    session.add(nora)
    package = give_growth_package(session, b, "10")
    first = family_books(session, b, local_start(2), 60)
    second = family_books(session, b, local_start(3), 90)
    session.flush()
    return {
        "nora": nora.id,
        "tutor_id": b.tutor.id,
        "package": package.id,
        "first": first.id,
        "second": second.id,
        "first_when": when(first.starts_at),
        "second_when": when(second.starts_at),
    }


def signed_in_as(page: Page, world: World, email: str, home: str) -> None:
    sign_in(page, world.slug, email)
    expect(page).to_have_url(re.compile(rf"/{world.slug}/{home}/$"))


def article(page: Page, world: World, key: str):
    """The handover page's entry of one session."""
    return page.get_by_role("article").filter(has_text=str(world.extra[f"{key}_when"]))


def no_sideways_scroll(page: Page) -> bool:
    assert_fits_viewport(page)
    return True


def read(in_live_app, world: World):
    def run(session: Session):
        with as_tenant(world.tenant_id):
            sessions = {
                ts.id: (ts.staff_id, ts.status, ts.charged_minutes)
                for ts in session.scalars(select(TutoringSession))
            }
            tutor = session.scalars(select(User).where(User.email == world.tutor)).one()
            return sessions, tutor.active

    return in_live_app(run)


def test_admin_hands_over_a_tutors_sessions_then_deactivates(
    new_page, browser: Browser, live_server, tenants, in_live_app
):
    world = build(in_live_app, tenants, with_nora_and_two_sessions)
    base = f"/{world.slug}/admin/staff"

    # On a phone: Staff → Deactivate asks first, and lists both sessions with choices.
    phone = new_page(phone=True)
    signed_in_as(phone, world, world.admin, "admin")
    phone.goto(base)
    phone.get_by_role("link", name="Deactivate Tara Tutor").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Deactivate Tara Tutor")
    expect(phone.get_by_role("heading", level=2)).to_have_text(
        "First, 2 pending or upcoming sessions"
    )
    expect(phone.get_by_role("button", name=re.compile("^Deactivate"))).to_have_count(0)
    assert no_sideways_scroll(phone)
    assert axe_serious(phone) == []

    # Reassign the first one to Nora.
    first = article(phone, world, "first")
    first.get_by_label("Reassign to").select_option(label="Nora New (Tutoring)")
    first.get_by_role("button", name=re.compile("^Reassign")).click()
    expect(phone.get_by_role("status").filter(has_text="is now with Nora New")).to_be_visible()
    expect(phone.get_by_role("heading", level=2)).to_have_text(
        "First, 1 pending or upcoming session"
    )
    assert no_sideways_scroll(phone)

    # Without JavaScript (another admin's browser): cancel the other, then deactivate.
    context = browser.new_context(
        base_url=live_server, viewport=DESKTOP, java_script_enabled=False, locale="en-US"
    )
    try:
        plain = context.new_page()
        signed_in_as(plain, world, world.admin, "admin")
        plain.goto(f"{base}/{world.extra['tutor_id']}/deactivate")
        second = article(plain, world, "second")
        second.get_by_role("button", name=re.compile("^Cancel Session")).click()
        expect(plain.get_by_text("1.5 hours went back to Growth Package")).to_be_visible()
        expect(plain.get_by_role("heading", level=2)).to_have_text("No sessions to hand over")
        # (axe runs in the page's JavaScript: it checks this state on the phone)
        phone.reload()
        expect(phone.get_by_role("heading", level=2)).to_have_text("No sessions to hand over")
        assert axe_serious(phone) == []
        plain.get_by_role("button", name="Deactivate Tara Tutor").click()
        expect(plain).to_have_url(re.compile(rf"{base}$"))
        expect(plain.get_by_text("Tara Tutor is deactivated.")).to_be_visible()
        row = plain.get_by_role("row", name=re.compile("Tara Tutor"))
        expect(row).to_contain_text("Deactivated")
    finally:
        context.close()

    sessions, tutor_active = read(in_live_app, world)
    assert tutor_active is False
    assert sessions[world.extra["first"]] == (world.extra["nora"], "upcoming", 60)
    assert sessions[world.extra["second"]] == (world.extra["tutor_id"], "cancelled", 0)


def test_log_past_session_page_passes_axe(new_page, tenants, in_live_app):
    world = build(in_live_app, tenants)
    for email, home in ((world.tutor, "tutor"), (world.admin, "admin")):
        page = new_page(phone=home == "tutor")
        signed_in_as(page, world, email, home)
        if home == "tutor":
            page.get_by_role("button", name="Log Past Session").click()
        else:
            page.goto(f"/{world.slug}/admin/sessions")
            page.get_by_role("button", name="Log Past Session").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Log Past Session")
        expect(page.get_by_label("Attendance")).to_be_visible()
        assert no_sideways_scroll(page)
        assert axe_serious(page) == []
