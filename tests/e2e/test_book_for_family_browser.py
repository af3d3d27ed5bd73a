"""End-to-end: an owner takes a family's call. On a phone, Propose Session's "Book it now
for the family" books a session at once (upcoming, its hours used), and a proposal's page
accepts it for the family; both pages fit 390 px and pass axe."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import scheduling
from prepbase.models import Package, TutoringSession
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_fits_viewport
from tests.e2e.test_browser import sign_in
from tests.e2e.test_hours_browser import build, business_today, give_growth_package, local_start
from tests.e2e.test_slots_browser import axe_serious

pytestmark = pytest.mark.e2e


def with_a_package_and_a_proposal(session: Session, b) -> dict[str, object]:
    package = give_growth_package(session, b, "10")
    proposal = scheduling.propose_session(
        session,
        b.tenant,
        b.tutor,
        student=b.students[0],
        staff=b.tutor,
        service="tutoring",
        starts_at=local_start(4),
        duration_minutes=60,
    )
    session.flush()
    return {"package": package.id, "proposal": proposal.id, "tutor_id": b.tutor.id}


def test_an_admin_books_now_and_accepts_for_the_family_on_a_phone(new_page, tenants, in_live_app):
    world = build(in_live_app, tenants, with_a_package_and_a_proposal)
    phone = new_page(phone=True)
    sign_in(phone, world.slug, world.admin)
    expect(phone).to_have_url(re.compile(rf"/{world.slug}/admin/$"))

    day = (business_today() + timedelta(days=3)).isoformat()
    phone.goto(
        f"/{world.slug}/tutor/sessions/new?student={world.student_id}"
        f"&staff={world.extra['tutor_id']}&date={day}&start_time=10:00"
    )
    assert_fits_viewport(phone)
    assert axe_serious(phone) == []
    phone.get_by_label("Book it now for the family").check()
    phone.get_by_role("button", name="Propose Session").click()
    expect(phone.get_by_role("status").filter(has_text="Booked for")).to_contain_text(
        "upcoming, 1 hour used from Growth Package"
    )

    phone.goto(f"/{world.slug}/tutor/sessions/{world.extra['proposal']}")
    assert_fits_viewport(phone)
    assert axe_serious(phone) == []
    phone.get_by_role("button", name="Accept for the family").click()
    expect(phone.get_by_role("status").filter(has_text="Accepted for the family")).to_be_visible()
    expect(phone.get_by_role("button", name="Accept for the family")).to_have_count(0)

    def read(session: Session):
        with as_tenant(world.tenant_id):
            rows = session.scalars(select(TutoringSession).order_by(TutoringSession.id)).all()
            package = session.get(Package, world.extra["package"])
            return [(ts.status, ts.charged_minutes) for ts in rows], package.remaining_minutes

    sessions, remaining = in_live_app(read)
    assert sessions == [("upcoming", 60), ("upcoming", 60)]
    assert remaining == 10 * 60 - 120
