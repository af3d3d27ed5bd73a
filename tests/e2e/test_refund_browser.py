"""An admin refunds half of an online purchase in Chromium, and the hours follow
(issue 17): the refund goes to the fake Stripe through the real stripe library."""

from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from prepbase.models import Offering, StripeRefund
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import sign_in
from tests.e2e.test_buy_hours import serious_axe_violations
from tests.factories import add_purchase, make_business, sell_online
from tests.fake_stripe import event, sign

pytestmark = pytest.mark.e2e


def deliver(live_server: str, body: dict) -> None:
    payload = json.dumps(body)
    response = requests.post(
        f"{live_server}/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_admin_refunds_half_and_the_hours_follow(
    phone, new_page, tenants, in_live_app, live_server, live_stripe
):
    slug = tenants.new_slug()
    account = live_stripe.add_account(charges_enabled=True)

    def setup(session):
        business = make_business(session, slug)
        sell_online(session, business, account)
        with as_tenant(business.tenant.id):
            offering = session.scalar(
                select(Offering).where(Offering.id == business.extra["one_time"])
            )
        purchase = add_purchase(session, business, offering, checkout_session_id=f"cs_e2e_{slug}")
        return business.tenant.id, business.students[0].id, purchase.id, offering.id

    tenant_id, student_id, purchase_id, offering_id = in_live_app(setup)
    checkout = {
        "id": f"cs_e2e_{slug}",
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 24000,
        "currency": "usd",
        "payment_intent": f"pi_e2e_{slug}",
        "subscription": None,
        "metadata": {
            "tenant_id": str(tenant_id),
            "purchase_id": str(purchase_id),
            "student_id": str(student_id),
            "offering_id": str(offering_id),
        },
    }
    live_stripe.sessions[checkout["id"]] = dict(checkout)
    deliver(live_server, event("checkout.session.completed", checkout, account))

    page = new_page(phone=phone)
    sign_in(page, slug, f"owner@{slug}.example.com")
    expect(page).to_have_url(re.compile(rf"/{slug}/admin/"))
    page.goto(f"/{slug}/admin/purchases")
    page.get_by_role("link", name="Package").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ten Hour Pack")
    remaining = page.locator("dt:text-is('Remaining Hrs') + dd")
    expect(remaining).to_have_text("10")
    problems = serious_axe_violations(page)

    page.get_by_label("Amount to refund").fill("120")
    page.get_by_role("button", name="Refund through Stripe").click()
    expect(page.get_by_text(re.compile(r"Refunded \$120\.00: 5 hours taken back"))).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"Refund of purchase"))).to_be_visible()
    expect(remaining).to_have_text("5")
    [sent] = live_stripe.requests_to("POST", "/v1/refunds")
    assert sent.account == account and sent.params["amount"] == "12000"
    if phone:
        assert_no_sideways_scroll(page, 390)
    problems += serious_axe_violations(page)

    # Stripe's own event for the refund changes nothing more.
    [refund] = live_stripe.refunds.values()
    deliver(live_server, event("refund.created", refund, account))

    def refunds(session):
        with as_tenant(tenant_id):
            return [
                (r.amount_minor, r.minutes_removed) for r in session.scalars(select(StripeRefund))
            ]

    assert in_live_app(refunds) == [(12000, 300)]
    assert not problems, "\n".join(problems)
