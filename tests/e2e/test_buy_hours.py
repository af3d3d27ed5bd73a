"""Buy Hours in Chromium: from the dashboard to Stripe Checkout (the fake on loopback),
then back on the success page, which turns to "done" once a signed webhook arrives."""

from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from prepbase.models import Purchase, StripeEvent
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import sign_in
from tests.factories import make_business, sell_online
from tests.fake_stripe import event, sign

pytestmark = pytest.mark.e2e


def the_purchase(in_live_app, tenant_id: int) -> Purchase:
    """The business's one purchase, as stored (detached, to read its fields)."""

    def find(session):
        with as_tenant(tenant_id):
            purchase = session.scalar(select(Purchase))
            session.expunge(purchase)
            return purchase

    return in_live_app(find)


def serious_axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url} [{v['impact']}] {v['id']}: {v['help']} "
        + "; ".join(", ".join(n["target"]) for n in v["nodes"])
        for v in results.response["violations"]
        if v.get("impact") in ("critical", "serious")
    ]


def test_family_buys_hours_through_checkout_and_sees_them_arrive(
    new_page, page, tenants, in_live_app, live_server, live_stripe
):
    slug = tenants.new_slug()
    account = live_stripe.add_account(charges_enabled=True)

    def setup(session):
        business = make_business(session, slug)
        sell_online(session, business, account)
        return business.tenant.id, business.parent.email

    tenant_id, parent_email = in_live_app(setup)
    sign_in(page, slug, parent_email)
    expect(page).to_have_url(re.compile(rf"/{slug}/family/$"))

    page.get_by_role("link", name="Buy Hours", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Buy Hours")
    expect(page.get_by_role("heading", name=f"Ada {slug.title()}")).to_be_visible()
    problems = serious_axe_violations(page)
    page.get_by_role("button", name=re.compile(r"^Buy Hours\W+Ten Hour Pack for Ada$")).click()

    # HX-Redirect sends the browser to Stripe Checkout (here: the fake's page).
    expect(page).to_have_url(re.compile(rf"^{live_stripe.base_url}/checkout/cs_test_\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Fake Stripe")
    [sent] = live_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.account == account
    assert sent.params["line_items"][0]["price_data"]["unit_amount"] == "24000"

    purchase = the_purchase(in_live_app, tenant_id)
    assert page.url == purchase.checkout_url
    assert sent.idempotency_key == f"purchase-{purchase.id}-checkout"

    # The family pays; Stripe sends them back to the success page before the webhook.
    paid = live_stripe.pay(purchase.checkout_session_id)
    # Stripe's API has not caught up yet, so only the webhook can fulfil the purchase.
    live_stripe.sessions[purchase.checkout_session_id].update(
        status="open", payment_status="unpaid"
    )
    page.goto(f"/{slug}/family/purchases/{purchase.id}/done")
    status = page.locator("#purchase-status")
    expect(status).to_have_attribute("data-state", "processing")
    expect(status).to_contain_text("Processing your payment")

    payload = json.dumps(event("checkout.session.completed", paid, account))
    response = requests.post(
        f"{live_server}/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text

    # The page polls every 2 s and turns to done by itself.
    expect(status).to_have_attribute("data-state", "done", timeout=8000)
    expect(status).to_contain_text("Payment received.")
    assert page.evaluate("document.querySelectorAll('[hx-trigger]').length") == 0

    def outcome(session):
        return session.scalar(select(StripeEvent.outcome).where(StripeEvent.tenant_id == tenant_id))

    assert in_live_app(outcome) == "fulfilled"  # the webhook did it, not the browser
    problems += serious_axe_violations(page)

    page.get_by_role("button", name="Back to the dashboard").click()  # a link styled as a button
    expect(page.get_by_role("cell", name="Ten Hour Pack", exact=True)).to_be_visible()

    # The business sees the purchase; its Settings show the connected account.
    admin = new_page()
    sign_in(admin, slug, f"owner@{slug}.example.com")
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Purchases").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Purchases")
    expect(admin.get_by_role("row", name=re.compile("Ten Hour Pack"))).to_contain_text("Paid")
    problems += serious_axe_violations(admin)
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(admin.get_by_role("heading", name="Online Payments")).to_be_visible()
    expect(admin.get_by_role("switch", name="Online payments")).to_be_checked()
    problems += serious_axe_violations(admin)
    assert not problems, "\n".join(problems)


def test_family_back_from_checkout_on_a_phone_chooses_to_cancel(
    new_page, tenants, in_live_app, live_stripe
):
    """Stripe's cancel_url is opened with a GET: the page only asks, the button cancels."""
    slug = tenants.new_slug()
    account = live_stripe.add_account(charges_enabled=True)

    def setup(session):
        business = make_business(session, slug)
        sell_online(session, business, account)
        return business.tenant.id, business.parent.email

    tenant_id, parent_email = in_live_app(setup)
    page = new_page(phone=True)
    sign_in(page, slug, parent_email)
    expect(page).to_have_url(re.compile(rf"/{slug}/family/$"))
    page.goto(f"/{slug}/family/buy")
    page.get_by_role("button", name=re.compile(r"^Buy Hours\W+Ten Hour Pack for Ada$")).click()
    expect(page).to_have_url(re.compile(rf"^{live_stripe.base_url}/checkout/cs_test_\d+$"))

    def purchase(session):
        with as_tenant(tenant_id):
            found = session.scalar(select(Purchase))
            session.expunge(found)
            return found

    bought = in_live_app(purchase)
    page.goto(f"/{slug}/family/purchases/{bought.id}/cancel")  # what Stripe's "back" does
    expect(page.get_by_role("heading", level=1)).to_have_text("Payment not finished")
    back = page.get_by_role("link", name="Return to the payment")
    expect(back).to_have_attribute("href", bought.checkout_url)
    assert_no_sideways_scroll(page, 390)
    problems = serious_axe_violations(page)
    assert in_live_app(purchase).status == "pending"

    page.get_by_role("button", name="Cancel this purchase").click()
    expect(page).to_have_url(re.compile(rf"/{slug}/family/$"))
    expect(
        page.get_by_text("Payment cancelled: nothing was charged for Ten Hour Pack.")
    ).to_be_visible()
    assert in_live_app(purchase).status == "cancelled"
    assert not problems, "\n".join(problems)
