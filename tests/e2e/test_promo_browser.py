"""Buy Hours with a promo code and extra hours on a phone (issue 17): the total is shown
before Checkout, Checkout charges it, and the package and receipt follow the payment."""

from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from prepbase import promotions
from prepbase.models import LedgerEntry, Offering, Purchase
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import sign_in
from tests.e2e.test_buy_hours import (
    serious_axe_violations,
    the_purchase,
)
from tests.factories import make_business, sell_online
from tests.fake_stripe import event, sign

pytestmark = pytest.mark.e2e


def test_family_buys_with_a_promo_code_and_two_extra_hours(
    new_page,
    tenants,
    in_live_app,
    live_server,
    live_stripe,
):
    slug = tenants.new_slug()
    account = live_stripe.add_account(charges_enabled=True)

    def setup(session):
        business = make_business(session, slug)
        sell_online(session, business, account)
        with as_tenant(business.tenant.id):
            offering = session.get(Offering, business.extra["one_time"])
            offering.allows_extensions = True
            offering.extension_min_hours = 1
            offering.extension_max_hours = 4
            offering.extension_price_minor = 3000
            promotions.save_code(session, None, code="SPRING", kind="percent", value=10)
            session.commit()
        return business.tenant.id, business.parent.email

    tenant_id, parent_email = in_live_app(setup)
    page = new_page(phone=True)
    sign_in(page, slug, parent_email)
    expect(page).to_have_url(re.compile(rf"/{slug}/family/$"))
    page.goto(f"/{slug}/family/buy")
    page.get_by_role(
        "link", name=re.compile(r"^Promo code or extra hours\W+Ten Hour Pack for Ada$")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ten Hour Pack")
    problems = serious_axe_violations(page)

    # A wrong code is refused in the page.
    page.get_by_label("Promo code").fill("NOPE")
    page.get_by_role("button", name="Show total").click()
    expect(page.get_by_text("NOPE is not a promo code here")).to_be_visible()

    page.get_by_label("Promo code").fill("spring")
    page.get_by_label("Extra hours").fill("2")
    page.get_by_role("button", name="Show total").click()
    expect(page.locator("#total-to-pay")).to_have_text("$270.00")
    assert_no_sideways_scroll(page, 390)
    problems += serious_axe_violations(page)

    page.get_by_role("button", name="Pay with Stripe").click()
    expect(page).to_have_url(re.compile(rf"^{live_stripe.base_url}/checkout/cs_test_\d+$"))
    [sent] = live_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.params["line_items"][0]["price_data"]["unit_amount"] == "27000"

    purchase = the_purchase(in_live_app, tenant_id)
    paid = live_stripe.pay(purchase.checkout_session_id)
    payload = json.dumps(event("checkout.session.completed", paid, account))
    response = requests.post(
        f"{live_server}/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text

    def granted(session):
        with as_tenant(tenant_id):
            bought = session.get(Purchase, purchase.id)
            entries = session.scalars(
                select(LedgerEntry.minutes).where(LedgerEntry.package_id == bought.package_id)
            ).all()
            return bought.package.total_minutes, list(entries)

    assert in_live_app(granted) == (720, [720])  # 10 h + 2 h in one grant

    page.goto(f"/{slug}/family/receipts")
    page.get_by_role("link", name="Receipt 1").click()
    receipt = page.get_by_role("article")
    for words in ("Ten Hour Pack", "Hours12", "Extra hours2", "SPRING", "$270.00", "−$30.00"):
        expect(receipt).to_contain_text(words)
    assert_no_sideways_scroll(page, 390)
    problems += serious_axe_violations(page)
    assert not problems, "\n".join(problems)
