"""Online payments through the pages: Settings → Online Payments, priced offerings, Buy
Hours with Stripe Checkout, the success and cancel pages, purchases (design §4, §5).

The real `stripe` library talks to the fake Stripe on loopback (tests/fake_stripe.py);
the tests read what it sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from prepbase import packages, people
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    Offering,
    Package,
    Purchase,
    StripeEvent,
    Tenant,
    utcnow,
)
from prepbase.tenancy import as_tenant
from tests.factories import add_purchase, sell_online
from tests.fake_stripe import event, invoice, post_event

# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def selling(app, business, db_session, fake_stripe):
    """acme sells online through a connected fake Stripe account that takes charges."""
    with app.app_context():
        account = fake_stripe.add_account(charges_enabled=True)
        sell_online(db_session, business, account)
    return business


def purchases(db_session, business) -> list[Purchase]:
    with as_tenant(business.tenant.id):
        return list(db_session.scalars(select(Purchase).order_by(Purchase.id)))


def packages_of(db_session, business, student=0) -> list[Package]:
    with as_tenant(business.tenant.id):
        return list(
            db_session.scalars(
                select(Package)
                .where(Package.student_id == business.students[student].id)
                .order_by(Package.id)
            )
        )


def entries(db_session, business, package_id: int) -> list[LedgerEntry]:
    with as_tenant(business.tenant.id):
        return list(
            db_session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.package_id == package_id)
                .order_by(LedgerEntry.id)
            )
        )


def buy(client, business, offering: str, student: int = 0, **kw):
    return client.post(
        business.url(f"/family/buy/{business.students[student].id}/{business.extra[offering]}"),
        **kw,
    )


def body(response) -> str:
    return response.get_data(as_text=True)


# --- Settings → Online Payments -------------------------------------------------------------


def test_without_platform_keys_online_payments_are_not_available(
    client, auth, business, db_session
):
    auth.as_role(business, "admin")
    page = body(client.get("/acme/admin/settings"))
    assert "Online Payments" in page
    assert "not available on this installation" in page
    assert "Connect Stripe" not in page
    response = client.post(
        "/acme/admin/settings/payments",
        data={"payments-currency": "usd", "payments-online_payments": "y"},
    )
    assert response.status_code == 422
    assert "not available on this installation" in body(response)
    db_session.refresh(business.tenant)
    assert business.tenant.online_payments is False
    assert client.post("/acme/admin/settings/payments/connect").status_code == 303
    db_session.refresh(business.tenant)
    assert business.tenant.stripe_account_id is None


def test_connect_stripe_creates_the_account_with_controller_settings_once(
    client, auth, business, db_session, fake_stripe
):
    auth.as_role(business, "admin")
    assert "Connect Stripe" in body(client.get("/acme/admin/settings"))
    response = client.post("/acme/admin/settings/payments/connect")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{fake_stripe.base_url}/onboarding/acct_")

    [create] = fake_stripe.requests_to("POST", "/v1/accounts")
    assert create.params["controller"] == {
        "fees": {"payer": "account"},
        "losses": {"payments": "stripe"},
        "requirement_collection": "stripe",
        "stripe_dashboard": {"type": "full"},
    }
    assert "type" not in create.params  # the deprecated account types are not used
    assert create.idempotency_key == f"tenant-{business.tenant.id}-connect-account"
    assert create.account is None  # created on the platform
    [link] = fake_stripe.requests_to("POST", "/v1/account_links")
    db_session.refresh(business.tenant)
    account = business.tenant.stripe_account_id
    assert link.params["account"] == account
    assert link.params["type"] == "account_onboarding"
    assert link.params["return_url"].endswith("/acme/admin/settings/payments/return")
    assert link.params["refresh_url"].endswith("/acme/admin/settings/payments/refresh")
    assert link.idempotency_key.startswith(f"tenant-{business.tenant.id}-account-link-")
    assert business.tenant.stripe_charges_enabled is False

    # Connecting again (a second click, "Continue Stripe setup") makes no second account.
    again = client.post("/acme/admin/settings/payments/connect", headers={"HX-Request": "true"})
    assert again.status_code == 204
    assert again.headers["HX-Redirect"].startswith(f"{fake_stripe.base_url}/onboarding/")
    assert len(fake_stripe.requests_to("POST", "/v1/accounts")) == 1
    keys = {s.idempotency_key for s in fake_stripe.requests_to("POST", "/v1/account_links")}
    assert len(keys) == 2  # each click a fresh single-use link


def test_return_page_refetches_the_account_and_refresh_mints_a_new_link(
    client, auth, business, db_session, fake_stripe
):
    auth.as_role(business, "admin")
    first = client.post("/acme/admin/settings/payments/connect").headers["Location"]
    db_session.refresh(business.tenant)
    account = business.tenant.stripe_account_id

    response = client.get("/acme/admin/settings/payments/return", follow_redirects=True)
    assert "cannot take payments yet" in body(response)
    assert "Continue Stripe setup" in body(response)

    refreshed = client.get("/acme/admin/settings/payments/refresh")
    assert refreshed.status_code == 303
    assert refreshed.headers["Location"] != first

    fake_stripe.enable_charges(account)
    response = client.get("/acme/admin/settings/payments/return", follow_redirects=True)
    assert "can take payments" in body(response)
    assert fake_stripe.requests_to("GET", f"/v1/accounts/{account}")
    db_session.refresh(business.tenant)
    assert business.tenant.stripe_charges_enabled is True


def test_online_payments_switch_needs_an_account_that_takes_charges(
    client, auth, business, db_session, fake_stripe
):
    auth.as_role(business, "admin")
    page = body(client.get("/acme/admin/settings/payments"))
    assert "Cannot be turned on yet. Connect your Stripe account first." in page
    data = {"payments-currency": "eur", "payments-online_payments": "y"}
    refused = client.post("/acme/admin/settings/payments", data=data)
    assert refused.status_code == 422
    assert "Online payments cannot be turned on: Connect your Stripe account first." in body(
        refused
    )
    db_session.refresh(business.tenant)
    assert (business.tenant.online_payments, business.tenant.currency) == (False, "usd")

    client.post("/acme/admin/settings/payments/connect")
    db_session.refresh(business.tenant)
    refused = client.post("/acme/admin/settings/payments", data=data)
    assert refused.status_code == 422
    assert "finish the Stripe setup" in body(refused)

    fake_stripe.enable_charges(business.tenant.stripe_account_id)
    client.get("/acme/admin/settings/payments/return")
    saved = client.post("/acme/admin/settings/payments", data=data)
    assert saved.status_code == 303
    db_session.refresh(business.tenant)
    assert (business.tenant.online_payments, business.tenant.currency) == (True, "eur")

    # Switching off leaves the currency; an unknown currency is refused.
    client.post("/acme/admin/settings/payments", data={"payments-currency": "eur"})
    db_session.refresh(business.tenant)
    assert business.tenant.online_payments is False
    bad = client.post("/acme/admin/settings/payments", data={"payments-currency": "xyz"})
    assert bad.status_code == 422


def test_settings_page_keeps_the_low_balance_threshold(client, auth, business, fake_stripe):
    auth.as_role(business, "admin")
    page = body(client.get("/acme/admin/settings"))
    assert "Low-balance reminder (hours)" in page
    assert page.index("Low-balance reminder") < page.index("Online Payments")
    assert 'id="payments-currency"' in page


# --- offerings with a price -------------------------------------------------------------


OFFERING = {
    "name": "Spring Pack",
    "service": "tutoring",
    "package_type": "one_time",
    "period": "",
    "hours": "10",
}


def test_offering_price_is_typed_in_the_business_currency_and_stored_in_minor_units(
    client, auth, business, db_session
):
    auth.as_role(business, "admin")
    response = client.post(
        "/acme/admin/offerings/new", data={**OFFERING, "price": "240.50", "sold_online": "y"}
    )
    assert response.status_code == 303
    with as_tenant(business.tenant.id):
        offering = db_session.scalar(select(Offering).where(Offering.name == "Spring Pack"))
    assert (offering.price_minor, offering.currency, offering.sold_online) == (24050, "usd", True)
    page = body(client.get("/acme/admin/offerings"))
    assert "$240.50" in page
    edit = body(client.get(f"/acme/admin/offerings/{offering.id}/edit"))
    assert 'value="240.50"' in edit


@pytest.mark.parametrize(
    "price,online,message",
    [
        ("abc", "", "Enter the price as a number"),
        ("-5", "", "A price cannot be negative."),
        ("10.005", "", "Use at most 2 decimals for USD."),
        ("", "y", "Set a price to let families buy this online."),
        ("0", "y", "Set a price to let families buy this online."),
    ],
)
def test_bad_prices_are_refused(client, auth, business, db_session, price, online, message):
    auth.as_role(business, "admin")
    data = {**OFFERING, "price": price}
    if online:
        data["sold_online"] = online
    response = client.post("/acme/admin/offerings/new", data=data)
    assert response.status_code == 422
    assert message in body(response)
    with as_tenant(business.tenant.id):
        assert db_session.scalar(select(func.count(Offering.id))) == 0


def test_yen_prices_have_no_decimals(client, auth, business, db_session):
    business.tenant.currency = "jpy"
    db_session.commit()
    auth.as_role(business, "admin")
    refused = client.post("/acme/admin/offerings/new", data={**OFFERING, "price": "1000.5"})
    assert "Use whole amounts for JPY." in body(refused)
    client.post("/acme/admin/offerings/new", data={**OFFERING, "price": "5000"})
    with as_tenant(business.tenant.id):
        offering = db_session.scalar(select(Offering))
    assert (offering.price_minor, offering.currency) == (5000, "jpy")


# --- Buy Hours -------------------------------------------------------------------------------


def test_payments_off_means_no_buy_hours_and_checkout_refused(
    client, auth, selling, db_session, fake_stripe
):
    selling.tenant.online_payments = False
    db_session.commit()
    auth.as_role(selling, "parent")
    dashboard = body(client.get("/acme/family/"))
    assert "Buy Hours" not in dashboard
    assert "Contact Acme Tutoring to buy hours." in dashboard
    assert "Contact Acme Tutoring to buy more hours." in body(client.get("/acme/family/buy"))
    response = buy(client, selling, "one_time")
    assert response.status_code == 422
    assert "not selling hours online right now" in body(response)
    assert purchases(db_session, selling) == []
    assert fake_stripe.requests_to("POST", "/v1/checkout/sessions") == []


def test_charges_disabled_hides_buy_hours_even_when_switched_on(
    client, auth, selling, db_session, fake_stripe
):
    selling.tenant.stripe_charges_enabled = False
    db_session.commit()
    auth.as_role(selling, "parent")
    assert "Buy Hours" not in body(client.get("/acme/family/"))
    assert buy(client, selling, "one_time").status_code == 422


def test_buy_hours_lists_offerings_for_each_student(client, auth, selling, db_session):
    with as_tenant(selling.tenant.id):
        packages.save_offering(
            db_session,
            selling.admin,
            None,
            name="Office Only",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=60,
            rollover=False,
            price_minor=5000,
        )
        db_session.commit()
    auth.as_role(selling, "parent")
    assert "Buy Hours" in body(client.get("/acme/family/"))
    page = body(client.get("/acme/family/buy"))
    assert "Ada Acme" in page and "Ben Acme" in page
    assert page.count("<td>Ten Hour Pack</td>") == 2
    assert "$240.00" in page and "$99.00 per month" in page
    assert "Office Only" not in page  # not sold online
    auth.logout(selling)
    auth.as_role(selling, "student")
    page = body(client.get("/acme/family/buy"))
    assert "Ada Acme" in page and "Ben Acme" not in page


def test_buying_one_time_opens_checkout_as_a_direct_charge_with_our_amount(
    client, auth, selling, db_session, fake_stripe
):
    auth.as_role(selling, "parent")
    response = buy(client, selling, "one_time", data={"amount": "1", "unit_amount": "1"})
    assert response.status_code == 303
    [purchase] = purchases(db_session, selling)
    assert response.headers["Location"] == purchase.checkout_url
    assert purchase.checkout_url.startswith(f"{fake_stripe.base_url}/checkout/cs_")
    assert (purchase.status, purchase.amount_minor, purchase.currency) == ("pending", 24000, "usd")
    assert (purchase.user_id, purchase.student_id) == (selling.parent.id, selling.students[0].id)

    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.account == selling.tenant.stripe_account_id  # Stripe-Account: direct charge
    assert sent.idempotency_key == f"purchase-{purchase.id}-checkout"
    assert sent.params["mode"] == "payment"
    [line] = sent.params["line_items"]
    assert line["quantity"] == "1"
    assert line["price_data"]["unit_amount"] == "24000"  # from the database, not the form
    assert line["price_data"]["currency"] == "usd"
    assert "recurring" not in line["price_data"]
    metadata = {
        "tenant_id": str(selling.tenant.id),
        "purchase_id": str(purchase.id),
        "student_id": str(selling.students[0].id),
        "offering_id": str(selling.extra["one_time"]),
    }
    assert sent.params["metadata"] == metadata
    assert sent.params["payment_intent_data"] == {"metadata": metadata}  # no platform fee
    assert sent.params["client_reference_id"] == str(purchase.id)
    assert sent.params["success_url"].endswith(f"/acme/family/purchases/{purchase.id}/done")
    assert sent.params["cancel_url"].endswith(f"/acme/family/purchases/{purchase.id}/cancel")
    assert sent.params["customer_email"] == selling.parent.email
    assert packages_of(db_session, selling) == []  # nothing before a verified payment


def test_buying_recurring_opens_a_subscription_checkout_with_a_recurring_price(
    app, client, auth, selling, db_session, fake_stripe
):
    from decimal import Decimal

    app.config["PLATFORM_FEE_PERCENT"] = Decimal("2.5")
    auth.as_role(selling, "parent")
    response = buy(client, selling, "monthly", student=1, headers={"HX-Request": "true"})
    assert response.status_code == 204
    [purchase] = purchases(db_session, selling)
    assert response.headers["HX-Redirect"] == purchase.checkout_url
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.params["mode"] == "subscription"
    price = sent.params["line_items"][0]["price_data"]
    assert price["recurring"] == {"interval": "month"}
    assert price["unit_amount"] == "9900"
    assert sent.params["subscription_data"]["metadata"]["purchase_id"] == str(purchase.id)
    assert sent.params["subscription_data"]["application_fee_percent"] == "2.5"
    assert "payment_intent_data" not in sent.params


def test_platform_fee_on_one_time_purchases(app, client, auth, selling, fake_stripe):
    from decimal import Decimal

    app.config["PLATFORM_FEE_PERCENT"] = Decimal("2.5")
    auth.as_role(selling, "parent")
    buy(client, selling, "one_time")
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.params["payment_intent_data"]["application_fee_amount"] == "600"


def test_double_click_makes_one_purchase_and_one_checkout_session(
    client, auth, selling, db_session, fake_stripe
):
    auth.as_role(selling, "parent")
    first = buy(client, selling, "one_time")
    second = buy(client, selling, "one_time")
    assert first.headers["Location"] == second.headers["Location"]
    assert len(purchases(db_session, selling)) == 1
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1
    # Another offering, or another student, is another purchase.
    buy(client, selling, "one_time", student=1)
    assert len(purchases(db_session, selling)) == 2


def test_stripe_error_marks_the_purchase_failed_and_says_so(
    client, auth, selling, db_session, fake_stripe
):
    auth.as_role(selling, "parent")
    fake_stripe.fail_next(500, "Stripe is having a bad day")
    response = buy(client, selling, "one_time", headers={"HX-Request": "true"})
    assert response.status_code == 502
    assert "Stripe could not start the payment. Nothing was charged" in body(response)
    [purchase] = purchases(db_session, selling)
    assert purchase.status == "failed"
    assert purchase.checkout_session_id is None and purchase.checkout_url is None
    assert packages_of(db_session, selling) == []
    history = body(client.get("/acme/family/purchases"))
    assert "Failed" in history and "Nothing was charged" in history
    # The next click starts afresh and works.
    retry = buy(client, selling, "one_time")
    assert retry.status_code == 303
    assert [p.status for p in purchases(db_session, selling)] == ["failed", "pending"]


def test_stripe_timeout_marks_the_purchase_failed(
    app, client, auth, selling, db_session, fake_stripe
):
    app.config["STRIPE_TIMEOUT_SECONDS"] = 0.5
    fake_stripe.stall_next(2)
    auth.as_role(selling, "parent")
    response = buy(client, selling, "one_time")
    assert response.status_code == 502
    assert "We could not reach Stripe to start the payment" in body(response)
    [purchase] = purchases(db_session, selling)
    assert (purchase.status, purchase.checkout_url) == ("failed", None)


def test_a_family_cannot_buy_for_another_business_student_or_offering(
    app, client, auth, selling, other_business, db_session, fake_stripe
):
    with app.app_context():
        other_account = fake_stripe.add_account()
        sell_online(db_session, other_business, other_account)
    auth.as_role(selling, "parent")
    own_student, own_offering = selling.students[0].id, selling.extra["one_time"]
    for student_id, offering_id in (
        (other_business.students[0].id, own_offering),
        (own_student, other_business.extra["one_time"]),
        (other_business.students[0].id, other_business.extra["one_time"]),
    ):
        response = client.post(f"/acme/family/buy/{student_id}/{offering_id}")
        assert response.status_code == 404
    assert purchases(db_session, selling) == []
    assert purchases(db_session, other_business) == []
    assert fake_stripe.requests_to("POST", "/v1/checkout/sessions") == []


def test_a_family_cannot_buy_for_a_student_of_another_family(
    app, client, auth, selling, db_session
):
    with app.app_context(), as_tenant(selling.tenant.id):
        family = people.create_family(db_session, selling.admin, name="Other family")
        stranger = people.save_student(
            db_session,
            selling.admin,
            None,
            family=family,
            first_name="Sam",
            last_name="Stranger",
            grade="9",
            school="",
            notes="",
        )
        db_session.commit()
    auth.as_role(selling, "parent")
    assert (
        client.post(f"/acme/family/buy/{stranger.id}/{selling.extra['one_time']}").status_code
        == 404
    )
    auth.logout(selling)
    auth.as_role(selling, "student")  # Ada may buy for herself, not for her brother
    assert buy(client, selling, "one_time", student=1).status_code == 404
    assert buy(client, selling, "one_time", student=0).status_code == 303


@pytest.mark.parametrize("change", ["archived", "not_online", "unpriced"])
def test_an_offering_not_for_sale_is_refused(client, auth, selling, db_session, change):
    with as_tenant(selling.tenant.id):
        offering = db_session.scalar(
            select(Offering).where(Offering.id == selling.extra["one_time"])
        )
        if change == "archived":
            offering.archived = True
        elif change == "not_online":
            offering.sold_online = False
        else:
            offering.price_minor = 0
        db_session.commit()
    auth.as_role(selling, "parent")
    response = buy(client, selling, "one_time")
    assert response.status_code == 422
    assert "Ten Hour Pack cannot be bought online." in body(response)
    assert purchases(db_session, selling) == []


def test_staff_cannot_buy(client, auth, selling):
    auth.as_role(selling, "admin")
    assert buy(client, selling, "one_time").status_code == 403


# --- after Checkout ------------------------------------------------------------------------


def start(client, auth, selling, db_session, offering="one_time") -> Purchase:
    auth.as_role(selling, "parent")
    assert buy(client, selling, offering).status_code == 303
    return purchases(db_session, selling)[-1]


def test_success_page_polls_while_processing_then_shows_done_after_the_webhook(
    client, auth, selling, db_session, fake_stripe
):
    purchase = start(client, auth, selling, db_session)
    url = f"/acme/family/purchases/{purchase.id}/done"
    page = body(client.get(url))
    assert "Processing your payment" in page
    assert 'hx-trigger="every 2s"' in page and f'hx-get="{url}"' in page
    assert packages_of(db_session, selling) == []  # the browser's return alone adds nothing

    session = fake_stripe.pay(purchase.checkout_session_id)
    fake_stripe.sessions[purchase.checkout_session_id]["payment_status"] = "unpaid"  # lagging
    response = post_event(
        client, event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    )
    assert response.status_code == 200

    poll = client.get(url, headers={"HX-Request": "true"})
    fragment = body(poll)
    assert fragment.lstrip().startswith('<div id="purchase-status" data-state="done"')
    assert "every 2s" not in fragment
    assert "Payment received." in fragment
    [package] = packages_of(db_session, selling)
    assert (package.name, package.total_minutes, package.remaining_minutes) == (
        "Ten Hour Pack",
        600,
        600,
    )


def test_success_page_fulfils_from_the_retrieved_session_when_the_webhook_is_late(
    client, auth, selling, db_session, fake_stripe
):
    purchase = start(client, auth, selling, db_session)
    fake_stripe.pay(purchase.checkout_session_id)
    page = body(client.get(f"/acme/family/purchases/{purchase.id}/done"))
    assert "Payment received." in page
    assert fake_stripe.requests_to("GET", f"/v1/checkout/sessions/{purchase.checkout_session_id}")
    [package] = packages_of(db_session, selling)
    [grant] = entries(db_session, selling, package.id)
    assert (grant.kind, grant.minutes) == (EntryKind.GRANT, 600)
    # The webhook arriving afterwards changes nothing.
    session = fake_stripe.public(fake_stripe.sessions[purchase.checkout_session_id])
    account = selling.tenant.stripe_account_id
    assert (
        post_event(client, event("checkout.session.completed", session, account)).status_code == 200
    )
    assert len(packages_of(db_session, selling)) == 1
    assert len(entries(db_session, selling, package.id)) == 1


def test_success_page_of_a_delayed_bank_payment_stops_polling(
    client, auth, selling, db_session, fake_stripe
):
    purchase = start(client, auth, selling, db_session)
    fake_stripe.pay(purchase.checkout_session_id, delayed=True)
    page = body(client.get(f"/acme/family/purchases/{purchase.id}/done"))
    assert "Your bank is processing the payment." in page
    assert "every 2s" not in page
    assert packages_of(db_session, selling) == []


def test_success_page_survives_stripe_being_down(client, auth, selling, db_session, fake_stripe):
    purchase = start(client, auth, selling, db_session)
    fake_stripe.fail_next(500)
    response = client.get(f"/acme/family/purchases/{purchase.id}/done")
    assert response.status_code == 200
    assert "Processing your payment" in body(response)


def test_coming_back_from_checkout_changes_nothing_until_the_family_cancels(
    client, raw_client, auth, selling, db_session, fake_stripe
):
    """Stripe's cancel_url is a GET: it only asks; the purchase is cancelled by a POST."""
    purchase = start(client, auth, selling, db_session)
    url = f"/acme/family/purchases/{purchase.id}/cancel"
    response = client.get(url)
    assert response.status_code == 200
    page = body(response)
    assert "nothing was charged" in page
    assert f'href="{purchase.checkout_url}"' in page  # back to the still-open payment
    assert f'action="{url}"' in page and 'name="csrf_token"' in page
    db_session.refresh(purchase)
    assert purchase.status == "pending"

    with as_tenant(selling.tenant.id):  # once Stripe has closed the page, no way back
        purchase.checkout_expires_at = utcnow() - timedelta(minutes=1)
        db_session.commit()
    page = body(client.get(url))
    assert "nothing was charged" in page and purchase.checkout_url not in page

    raw_client.set_cookie("session", client.get_cookie("session").value)  # no CSRF token
    assert raw_client.post(url).status_code == 400
    db_session.refresh(purchase)
    assert purchase.status == "pending"

    response = client.post(url, follow_redirects=True)
    assert response.request.path == "/acme/family/"
    assert "Payment cancelled: nothing was charged for Ten Hour Pack." in body(response)
    db_session.refresh(purchase)
    assert purchase.status == "cancelled"
    # Back on the page later: it shows the purchase as it is, and offers nothing.
    response = client.get(url, follow_redirects=True)
    assert response.request.path == f"/acme/family/purchases/{purchase.id}/done"
    assert "This purchase was cancelled" in body(response)

    # The family went back to the still-open Checkout and paid after all.
    session = fake_stripe.pay(purchase.checkout_session_id)
    post_event(
        client, event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    )
    db_session.refresh(purchase)
    assert purchase.status == "paid" and purchase.package_id is not None


def test_cancelling_a_purchase_paid_meanwhile_shows_it_paid(
    client, auth, selling, db_session, fake_stripe
):
    purchase = start(client, auth, selling, db_session)
    session = fake_stripe.pay(purchase.checkout_session_id)
    post_event(
        client, event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    )
    response = client.post(f"/acme/family/purchases/{purchase.id}/cancel")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/acme/family/purchases/{purchase.id}/done"
    db_session.refresh(purchase)
    assert purchase.status == "paid"


def test_purchase_pages_of_another_family_are_404(
    app, client, auth, selling, db_session, fake_stripe
):
    purchase = start(client, auth, selling, db_session)
    auth.logout(selling)
    with app.app_context(), as_tenant(selling.tenant.id):
        family = people.create_family(db_session, selling.admin, name="Other family")
        db_session.commit()
        user, token = people.invite_user(
            db_session,
            selling.admin,
            name="Olga Other",
            email="olga@acme.example.com",
            role="parent",
            family=family,
            ttl=timedelta(days=1),
        )
        user.password_hash = selling.parent.password_hash
        db_session.commit()
    auth.login(selling, "olga@acme.example.com")
    for suffix in ("done", "cancel"):
        assert client.get(f"/acme/family/purchases/{purchase.id}/{suffix}").status_code == 404
    assert client.post(f"/acme/family/purchases/{purchase.id}/cancel").status_code == 404
    assert "Ten Hour Pack" not in body(client.get("/acme/family/purchases"))
    db_session.refresh(purchase)
    assert purchase.status == "pending"


def test_admins_see_every_purchase_families_their_own(
    app, client, auth, selling, db_session, fake_stripe
):
    purchase = start(client, auth, selling, db_session)
    session = fake_stripe.pay(purchase.checkout_session_id)
    post_event(
        client, event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    )
    db_session.refresh(purchase)
    history = body(client.get("/acme/family/purchases"))
    assert "Ten Hour Pack" in history and "$240.00" in history and "Paid" in history
    auth.logout(selling)

    auth.as_role(selling, "admin")
    page = body(client.get("/acme/admin/purchases"))
    for text in (
        "Acme family",
        "Pat Parent",
        "Ada Acme",
        "Ten Hour Pack",
        "$240.00",
        "Paid",
        purchase.checkout_session_id,
        purchase.payment_intent_id,
    ):
        assert text in page, text
    auth.logout(selling)
    auth.as_role(selling, "tutor")
    assert client.get("/acme/admin/purchases").status_code == 403


def test_archived_offering_stays_on_past_purchases(client, auth, selling, db_session, fake_stripe):
    purchase = start(client, auth, selling, db_session)
    auth.logout(selling)
    auth.as_role(selling, "admin")
    client.post(f"/acme/admin/offerings/{selling.extra['one_time']}/archive")
    page = body(client.get("/acme/admin/purchases"))
    assert "Ten Hour Pack" in page
    db_session.refresh(purchase)
    assert purchase.offering.archived is True


def test_renewal_job_leaves_subscription_packages_to_their_invoices(app, business, db_session):
    with app.app_context(), as_tenant(business.tenant.id):
        offering = packages.save_offering(
            db_session,
            business.admin,
            None,
            name="Weekly",
            service="tutoring",
            package_type="recurring",
            period="weekly",
            minutes=60,
            rollover=True,
        )
        by_hand, bought = (
            packages.assign_package(
                db_session,
                business.admin,
                business.students[0],
                name=name,
                service="tutoring",
                package_type="recurring",
                period="weekly",
                minutes=60,
                start_date=date(2030, 1, 1),
                rollover=True,
            )
            for name in ("By hand", "Bought")
        )
        add_purchase(
            db_session,
            business,
            offering,
            status="paid",
            package_id=bought.id,
            subscription_id="sub_x",
        )
        report = packages.renew_due(db_session, date(2030, 1, 8))
        db_session.refresh(by_hand)
        db_session.refresh(bought)
    assert report.renewed == 1
    assert (by_hand.total_minutes, bought.total_minutes) == (120, 60)


# --- the whole story ----------------------------------------------------------------------


def test_done_when_a_business_connects_and_a_family_buys_both_kinds(
    client, auth, business, db_session, fake_stripe
):
    """Issue 5's "done when": connect, turn on, buy One-Time and Recurring, each once in
    the Packages tab with its hours and a grant; a renewal invoice adds one period."""
    auth.as_role(business, "admin")
    client.post("/acme/admin/settings/payments/connect")
    db_session.refresh(business.tenant)
    account = business.tenant.stripe_account_id
    fake_stripe.enable_charges(account)
    client.get("/acme/admin/settings/payments/return")
    assert (
        client.post(
            "/acme/admin/settings/payments",
            data={"payments-currency": "usd", "payments-online_payments": "y"},
        ).status_code
        == 303
    )
    for name, kind, period, hours, price in (
        ("Ten Hour Pack", "one_time", "", "10", "240"),
        ("Monthly Coaching", "recurring", "monthly", "4", "99"),
    ):
        client.post(
            "/acme/admin/offerings/new",
            data={
                "name": name,
                "service": "tutoring",
                "package_type": kind,
                "period": period,
                "hours": hours,
                "price": price,
                "sold_online": "y",
            },
        )
    with as_tenant(business.tenant.id):
        ids = dict(db_session.execute(select(Offering.package_type, Offering.id)).all())
    auth.logout(business)

    auth.as_role(business, "parent")
    student = business.students[0].id
    paid = {}
    for kind in ("one_time", "recurring"):
        client.post(f"/acme/family/buy/{student}/{ids[kind]}")
        purchase = purchases(db_session, business)[-1]
        session = fake_stripe.pay(
            purchase.checkout_session_id,
            start=int(datetime(2030, 3, 5, 17, tzinfo=UTC).timestamp()),
        )
        completed = event("checkout.session.completed", session, account)
        for _ in range(3):  # Stripe may deliver more than once
            assert post_event(client, completed).status_code == 200
        paid[kind] = session
    auth.logout(business)

    auth.as_role(business, "admin")
    tab = body(client.get(f"/acme/admin/students/{student}/packages"))
    assert tab.count(">Ten Hour Pack</a>") == 1 and tab.count(">Monthly Coaching</a>") == 1
    one_time, monthly = packages_of(db_session, business)
    assert (one_time.package_type, one_time.total_minutes) == ("one_time", 600)
    assert (monthly.package_type, monthly.period, monthly.total_minutes) == (
        "recurring",
        "monthly",
        240,
    )
    assert monthly.start_date == date(2030, 3, 5)  # the subscription's first period
    for package in (one_time, monthly):
        assert [e.kind for e in entries(db_session, business, package.id)] == [EntryKind.GRANT]

    subscription = fake_stripe.subscriptions[paid["recurring"]["subscription"]]
    april = int(datetime(2030, 4, 5, 17, tzinfo=UTC).timestamp())
    renewal = event("invoice.paid", invoice(subscription, april), account)
    for _ in range(3):
        assert post_event(client, renewal).status_code == 200
    db_session.refresh(monthly)
    assert (monthly.total_minutes, monthly.current_period_start) == (480, date(2030, 4, 5))
    kinds = [e.kind for e in entries(db_session, business, monthly.id)]
    assert kinds.count(EntryKind.RENEWAL) == 1
    with as_tenant(business.tenant.id):
        assert db_session.scalar(select(func.count(StripeEvent.id))) == 3
    assert db_session.scalar(select(Tenant.online_payments).where(Tenant.id == business.tenant.id))


@pytest.mark.parametrize("online", [True, False])
def test_running_low_points_to_buy_hours_only_while_selling_online(
    app, client, auth, selling, db_session, online
):
    from prepbase import scheduling
    from prepbase.models import OutboundEmail, utcnow

    selling.tenant.online_payments = online
    db_session.commit()
    with app.app_context(), as_tenant(selling.tenant.id):
        packages.assign_package(
            db_session,
            selling.admin,
            selling.students[0],
            name="Small Pack",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=180,
            start_date=date(2020, 1, 1),
        )
        scheduling.book_session(
            db_session,
            selling.tenant,
            selling.parent,
            student=selling.students[0],
            staff=selling.tutor,
            service="tutoring",
            starts_at=utcnow() + timedelta(days=3),
            duration_minutes=90,
        )
        db_session.commit()
        # the low-balance message is queued first, with the debit (then the booking's)
        [mail, *_] = db_session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)).all()
    wanted = "Buy Hours on your dashboard" if online else "contact Acme Tutoring about a renewal"
    assert wanted in mail.body
    auth.as_role(selling, "parent")
    banner = body(client.get("/acme/family/"))
    assert "Small Pack is running low" in banner
    assert ("Contact Acme Tutoring to buy more hours." in banner) is not online


def test_simultaneous_clicks_make_one_purchase_and_one_checkout_session(
    app, engine, committed, fake_stripe
):
    """Two requests of the same parent at the same moment (committed data, own
    connections): the second waits for the first and reuses its Checkout."""
    from sqlalchemy.orm import Session

    from tests.test_races import run_threads

    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        sell_online(session, committed, fake_stripe.add_account())
    clients = []
    for _ in range(2):
        c = app.test_client()
        login = c.post(
            committed.url("/login"),
            data={"email": committed.parent.email, "password": committed.password},
        )
        assert login.status_code == 303
        clients.append(c)
    url = committed.url(f"/family/buy/{committed.students[0].id}/{committed.extra['one_time']}")
    fake_stripe.stall_next(0.5)  # the first Checkout takes a while: the clicks overlap
    results = run_threads(2, lambda i: clients[i].post(url).headers.get("Location", "none"))
    assert results[0] == results[1] and results[0].startswith(fake_stripe.base_url), results
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1
    with as_tenant(committed.tenant.id), Session(engine) as session:
        assert session.scalar(select(func.count(Purchase.id))) == 1
