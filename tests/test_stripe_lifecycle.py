"""The rest of the Stripe lifecycle (issue 17): a subscription's failed invoice, the
family cancelling at period end, and disconnecting Stripe — signed events, once under
replay, disorder and concurrent delivery, with the real stripe library and the fake."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import packages
from prepbase.models import (
    EntryKind,
    Offering,
    OutboundEmail,
    Purchase,
    Tenant,
)
from prepbase.tenancy import as_tenant
from tests.factories import sell_online
from tests.fake_stripe import event, invoice, post_event
from tests.test_races import run_threads
from tests.test_webhooks import (
    APRIL,
    MAY,
    REPLAYS,
    bought,
    committed_subscription,
    ledger,
    message,
    packages_of,
    subscribed,
)


@pytest.fixture
def selling(app, business, db_session, fake_stripe):
    with app.app_context():
        sell_online(db_session, business, fake_stripe.add_account())
    return business


def failed(subscription: dict, period_start: int, invoice_id: str) -> dict:
    body = invoice(subscription, period_start, amount=0, invoice_id=invoice_id)
    body.update(status="open", amount_due=9900, amount_paid=0)
    return body


def mails(db_session, business, subject_part: str) -> list[OutboundEmail]:
    with as_tenant(business.tenant.id):
        return [
            m
            for m in db_session.scalars(select(OutboundEmail).order_by(OutboundEmail.id))
            if subject_part in m.subject
        ]


# --- invoice.payment_failed --------------------------------------------------------------


def test_failed_invoice_tells_family_and_admins_once_and_a_later_payment_renews_once(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    [package] = packages_of(db_session, selling)
    april = failed(subscription, APRIL, "in_april")
    # Stripe sends one event per failed attempt, each maybe replayed.
    outcomes = [
        message(post_event(client, event("invoice.payment_failed", april, account)))
        for _ in range(3)
    ]
    outcomes += [message(post_event(client, event("invoice.payment_failed", april, account)))]
    assert outcomes[0].startswith(f"package {package.id} not renewed: invoice in_april unpaid")
    assert all(o == "invoice in_april: told before" for o in outcomes[1:]), outcomes
    told = mails(db_session, selling, "did not go through")
    addresses = sorted(m.to_addr for m in told)
    assert len(told) >= 2 and len(set(addresses)) == len(addresses)
    assert any(m.to_addr == selling.admin.email for m in told)
    assert "does not renew until the payment goes through" in told[0].body
    assert "$99.00" in told[0].body
    db_session.refresh(package)
    db_session.refresh(purchase)
    assert purchase.payment_failed_invoice_id == "in_april"
    assert [e.kind for e in ledger(db_session, selling, package)] == [EntryKind.GRANT]
    with as_tenant(selling.tenant.id):  # the calendar does not renew it either
        assert packages.renew_due(db_session, date(2030, 4, 20)).renewed == 0
    # The admin sees it.
    auth.as_role(selling, "admin")
    assert b"last payment failed" in client.get("/acme/admin/purchases").data
    # Stripe's retry succeeds: renewed once, however often its event comes.
    paid = invoice(subscription, APRIL, amount=9900, invoice_id="in_april")
    for _ in range(REPLAYS):
        post_event(client, event("invoice.paid", paid, account))
    # A late failure event of the same invoice (disorder) tells nobody again.
    late = message(post_event(client, event("invoice.payment_failed", april, account)))
    assert late == "ignored: invoice in_april was paid since"
    db_session.refresh(package)
    db_session.refresh(purchase)
    renewals = [e for e in ledger(db_session, selling, package) if e.kind == EntryKind.RENEWAL]
    assert [e.renewal_period for e in renewals] == [date(2030, 4, 5)]
    assert purchase.payment_failed_invoice_id is None
    assert len(mails(db_session, selling, "did not go through")) == len(told)
    # The next period's failure is a new invoice: told again.
    may = failed(subscription, MAY, "in_may")
    assert "not renewed" in message(
        post_event(client, event("invoice.payment_failed", may, account))
    )
    assert len(mails(db_session, selling, "did not go through")) == 2 * len(told)


def test_failed_first_invoice_and_unknown_subscriptions_are_ignored(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    first = failed(subscription, APRIL, "in_first")
    first["billing_reason"] = "subscription_create"
    assert message(post_event(client, event("invoice.payment_failed", first, account))) == (
        "ignored: the first period is paid at Checkout"
    )
    other = failed({"id": "sub_other", "metadata": {}}, APRIL, "in_other")
    assert message(post_event(client, event("invoice.payment_failed", other, account))) == (
        "ignored: no package has this subscription"
    )
    assert mails(db_session, selling, "did not go through") == []


def test_concurrent_failure_events_tell_once(app, engine, committed, fake_stripe):
    account = fake_stripe.add_account()
    committed_subscription(app, engine, committed, account, "cs_fail_sub", "sub_fail_1")
    body = failed({"id": "sub_fail_1", "metadata": {}}, APRIL, "in_race_fail")
    events = [event("invoice.payment_failed", body, account) for _ in range(10)]

    def deliver(i: int) -> str:
        response = post_event(app.test_client(), events[i])
        return f"{response.status_code} {message(response)}"

    results = run_threads(len(events), deliver)
    assert all(r.startswith("200 ") for r in results), results
    assert sum("not renewed" in r for r in results) == 1, results
    with as_tenant(committed.tenant.id), Session(engine) as session:
        told = [
            m for m in session.scalars(select(OutboundEmail)) if "did not go through" in m.subject
        ]
        assert len({m.to_addr for m in told}) == len(told) >= 1


# --- the family cancels at period end ---------------------------------------------------------


def test_family_cancels_at_period_end_and_the_deletion_stops_renewals(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    auth.as_role(selling, "parent")
    page = client.get("/acme/family/purchases")
    assert b"Cancel subscription" in page.data
    url = f"/acme/family/purchases/{purchase.id}/cancel-subscription"
    assert client.post(url).status_code in (200, 303)
    assert client.post(url).status_code in (200, 303)  # a double click: once at Stripe
    sent = fake_stripe.requests_to("POST", f"/v1/subscriptions/{subscription['id']}")
    assert {s.idempotency_key for s in sent} == {
        f"subscription-{subscription['id']}-cancel-at-period-end"
    }
    assert len(sent) == 1
    assert sent[0].params == {"cancel_at_period_end": "true"}
    db_session.refresh(purchase)
    assert purchase.cancel_at_period_end is True
    page = client.get("/acme/family/purchases")
    assert b"Cancel subscription" not in page.data and b"ends with the period" in page.data
    auth.logout(selling)
    auth.as_role(selling, "admin")
    assert b"cancels at period end" in client.get("/acme/admin/purchases").data
    [package] = packages_of(db_session, selling)
    assert b"Cancels at period end" in client.get(f"/acme/admin/packages/{package.id}").data
    # Stripe echoes the change; then the period ends and the subscription is deleted.
    updated = fake_stripe.subscriptions[subscription["id"]]
    for _ in range(3):
        post_event(client, event("customer.subscription.updated", updated, account))
    for _ in range(3):
        post_event(
            client,
            event("customer.subscription.deleted", dict(updated, status="canceled"), account),
        )
    db_session.refresh(package)
    assert package.renewals_stopped is True
    assert package.remaining_minutes == 240


def test_subscription_updated_follows_the_dashboard_both_ways(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    on = dict(subscription, cancel_at_period_end=True)
    off = dict(subscription, cancel_at_period_end=False)
    assert message(post_event(client, event("customer.subscription.updated", on, account))) == (
        f"purchase {purchase.id}: cancel_at_period_end=True"
    )
    db_session.refresh(purchase)
    assert purchase.cancel_at_period_end is True
    post_event(client, event("customer.subscription.updated", off, account))
    db_session.refresh(purchase)
    assert purchase.cancel_at_period_end is False


def test_only_the_family_may_cancel_its_subscription(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    auth.logout(selling)
    auth.as_role(selling, "tutor")
    response = client.post(f"/acme/family/purchases/{purchase.id}/cancel-subscription")
    assert response.status_code in (403, 404)
    assert fake_stripe.requests_to("POST", "/v1/subscriptions/") == []


# --- disconnecting Stripe ----------------------------------------------------------------------


def test_disconnecting_stripe_turns_buying_off_and_no_pending_checkout_completes(
    client, auth, selling, db_session, fake_stripe
):
    pending, checkout = bought(client, auth, selling, db_session, fake_stripe)
    fake_stripe.sessions[checkout["id"]]["status"] = "open"  # not paid yet after all
    fake_stripe.sessions[checkout["id"]]["payment_status"] = "unpaid"
    account = selling.tenant.stripe_account_id
    auth.as_role(selling, "admin")
    assert b"Disconnect Stripe" in client.get("/acme/admin/settings").data
    assert client.post("/acme/admin/settings/payments/disconnect").status_code in (200, 303)
    db_session.refresh(pending)
    tenant = db_session.get(Tenant, selling.tenant.id)
    db_session.refresh(tenant)
    assert tenant.online_payments is False and tenant.stripe_disconnected_at is not None
    assert tenant.stripe_account_id == account  # kept: refunds of past purchases follow
    assert pending.status == "cancelled"
    assert fake_stripe.requests_to("POST", f"/v1/checkout/sessions/{checkout['id']}/expire")
    with as_tenant(selling.tenant.id):
        assert db_session.scalars(select(Offering)).all()  # offerings stay
    page = client.get("/acme/admin/settings")
    assert b"Stripe is disconnected" in page.data and b"Connect Stripe again" in page.data
    # The family paid at the last second anyway: no package, however often told.
    paid = dict(fake_stripe.public(fake_stripe.sessions[checkout["id"]]))
    paid.update(status="complete", payment_status="paid", payment_intent="pi_late")
    for _ in range(3):
        outcome = message(post_event(client, event("checkout.session.completed", paid, account)))
        assert outcome in (
            "ignored: Stripe is disconnected; purchase cancelled",
            "duplicate: handled before",
        )
    assert packages_of(db_session, selling) == []
    auth.logout(selling)
    auth.as_role(selling, "parent")
    buy = client.get("/acme/family/buy")
    assert b"not selling hours online" in buy.data or b"Contact" in buy.data
    with as_tenant(selling.tenant.id):
        assert (
            db_session.scalar(select(Purchase).where(Purchase.id == pending.id)).package_id is None
        )
