"""Settings → Webhooks in a browser, on a phone (issue 19): an admin adds an endpoint,
reads its secret, and sees the delivery of an event in the log, then resends it; the
pages are axe clean and fit 390 px."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from prepbase import packages
from prepbase.models import Student, User
from prepbase.tenancy import as_tenant
from prepbase.webhook_delivery import delivery
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import sign_in
from tests.e2e.test_buy_hours import serious_axe_violations
from tests.factories import make_business
from tests.webhook_receiver import start_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver():
    server, receiver = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def test_admin_adds_an_endpoint_and_sees_a_delivery(new_page, tenants, in_live_app, receiver):
    slug = tenants.new_slug()

    def setup(session):
        business = make_business(session, slug)
        return business.tenant.id, business.admin.email, business.students[0].id

    tenant_id, admin_email, student_id = in_live_app(setup)
    page = new_page(phone=True)
    sign_in(page, slug, admin_email)
    expect(page).to_have_url(re.compile(rf"/{slug}/admin/$"))
    page.goto(f"/{slug}/admin/settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    assert serious_axe_violations(page) == []
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", name="Add endpoint")).to_be_visible()
    assert serious_axe_violations(page) == []
    assert_no_sideways_scroll(page, 390)

    # a refused URL first: the message is under the field
    page.get_by_label("Endpoint URL").fill("ftp://example.com/hooks")
    page.get_by_role("button", name="Save endpoint").click()
    expect(page.get_by_text("Use an http:// or https:// URL.")).to_be_visible()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description (optional)").fill("Our CRM")
    page.get_by_role("button", name="Save endpoint").click()
    expect(page.get_by_role("heading", name=receiver.url)).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    expect(page.get_by_text("No events sent to this endpoint yet.")).to_be_visible()

    def give_and_deliver(session):
        with as_tenant(tenant_id):
            packages.assign_package(
                session,
                session.scalars(select(User).where(User.email == admin_email)).one(),
                session.get(Student, student_id),
                name="Growth Package",
                service="tutoring",
                package_type="one_time",
                period=None,
                minutes=600,
                start_date=date(2020, 1, 1),
            )
            session.commit()
            return delivery.deliver_due(session)

    assert in_live_app(give_and_deliver) == 1
    page.reload()
    row = page.locator("#webhook-log tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("package.created")
    expect(row).to_contain_text("Delivered")
    expect(row).to_contain_text("200")
    body = Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert body["type"] == "package.created"
    expect(row).to_contain_text(receiver.requests[0].headers["webhook-id"])
    assert serious_axe_violations(page) == []
    assert_no_sideways_scroll(page, 390)

    row.get_by_role("button", name=re.compile(r"^Resend")).click()
    expect(page.get_by_text("The event is sent again")).to_be_visible()
    expect(page.locator("#webhook-log tbody tr")).to_contain_text("Pending")

    def deliver(session):
        with as_tenant(tenant_id):
            return delivery.deliver_due(session)

    assert in_live_app(deliver) == 1
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]
