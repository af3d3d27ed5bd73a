"""Refunds of online purchases (issue 17): from PrepBase or the Stripe Dashboard, the
purchase's unused hours follow, once per Stripe refund id, under replay, disorder and
concurrent delivery (the real stripe library against the fake Stripe)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import hours
from prepbase.models import EntryKind, LedgerEntry, Package, Purchase, StripeRefund
from prepbase.tenancy import as_tenant
from tests.factories import sell_online
from tests.fake_stripe import event, post_event
from tests.test_races import run_threads
from tests.test_webhooks import (
    bought,
    committed_purchase,
    ledger,
    message,
    packages_of,
    paid_checkout,
)


@pytest.fixture
def selling(app, business, db_session, fake_stripe):
    with app.app_context():
        sell_online(db_session, business, fake_stripe.add_account())
    return business


def paid(client, auth, selling, db_session, fake):
    purchase, session = bought(client, auth, selling, db_session, fake)
    response = post_event(
        client, event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    )
    assert message(response) == "fulfilled"
    db_session.refresh(purchase)
    return purchase, session["payment_intent"]


def removals(db_session, business, package) -> list[int]:
    return [
        e.minutes
        for e in ledger(db_session, business, package)
        if e.kind == EntryKind.REFUND_REMOVAL
    ]


def test_admin_refunds_half_and_the_hours_follow_once(
    client,
    auth,
    selling,
    db_session,
    fake_stripe,
):
    purchase, intent = paid(client, auth, selling, db_session, fake_stripe)
    [package] = packages_of(db_session, selling)
    auth.as_role(selling, "admin")
    page = client.get(f"/acme/admin/packages/{package.id}")
    assert b"Refund through Stripe" in page.data
    url = f"/acme/admin/packages/{package.id}/refund"
    assert client.post(url, data={"refund-amount": "abc"}).status_code == 422
    assert client.post(url, data={"refund-amount": "240.01"}).status_code == 422
    assert fake_stripe.requests_to("POST", "/v1/refunds") == []
    done = client.post(url, data={"refund-amount": "120"})
    assert done.status_code in (200, 303), done.data
    [sent] = fake_stripe.requests_to("POST", "/v1/refunds")
    assert (sent.params, sent.account) == (
        {"payment_intent": intent, "amount": "12000"},
        selling.tenant.stripe_account_id,
    )
    db_session.refresh(package)
    assert removals(db_session, selling, package) == [-300]
    assert package.remaining_minutes == 300
    [refund] = fake_stripe.refunds.values()
    # Stripe's own events for that refund arrive later, replayed and in any order.
    account = selling.tenant.stripe_account_id
    for kind, obj in [
        ("charge.refunded", fake_stripe.charge(intent)),
        ("refund.created", refund),
        ("refund.updated", refund),
    ]:
        for _ in range(3):
            assert post_event(client, event(kind, obj, account)).status_code == 200
    db_session.refresh(package)
    assert removals(db_session, selling, package) == [-300]
    page = client.get(f"/acme/admin/packages/{package.id}")
    assert b"Refund of purchase" in page.data and b"$120.00" in page.data


def test_dashboard_refund_after_hours_were_used_takes_back_only_what_is_left(
    client,
    auth,
    selling,
    db_session,
    fake_stripe,
):
    purchase, intent = paid(client, auth, selling, db_session, fake_stripe)
    [package] = packages_of(db_session, selling)
    with as_tenant(selling.tenant.id):
        hours.adjust(db_session, package, -480, selling.admin, "used in sessions")
        db_session.commit()
    refund = fake_stripe.refund(intent)  # the whole price, in the Dashboard
    account = selling.tenant.stripe_account_id
    replies = [
        message(post_event(client, event("charge.refunded", fake_stripe.charge(intent), account)))
    ]
    replies += [message(post_event(client, event("refund.created", refund, account)))]
    assert "120 of 600 minutes taken back" in replies[0], replies
    assert replies[1].endswith("applied before")
    db_session.refresh(package)
    assert package.remaining_minutes == 0
    assert removals(db_session, selling, package) == [-120]
    with as_tenant(selling.tenant.id):
        [row] = db_session.scalars(select(StripeRefund)).all()
    assert (row.minutes_due, row.minutes_removed, row.refunded_by_id) == (600, 120, None)
    # Nothing is left to refund from PrepBase.
    auth.as_role(selling, "admin")
    page = client.get(f"/acme/admin/packages/{package.id}")
    assert b"Refund through Stripe" not in page.data or b"at most $0.00" in page.data
    assert (
        client.post(
            f"/acme/admin/packages/{package.id}/refund", data={"refund-amount": "1"}
        ).status_code
        == 422
    )


def test_two_partial_refunds_take_back_exactly_the_whole(
    client,
    auth,
    selling,
    db_session,
    fake_stripe,
):
    purchase, intent = paid(client, auth, selling, db_session, fake_stripe)
    [package] = packages_of(db_session, selling)
    account = selling.tenant.stripe_account_id
    for amount in (7000, 9000, 8000):  # 175, 225, 200 minutes (rounded on the total)
        refund = fake_stripe.refund(intent, amount)
        post_event(client, event("refund.created", refund, account))
    db_session.refresh(package)
    assert removals(db_session, selling, package) == [-175, -225, -200]
    assert package.remaining_minutes == 0


def test_concurrent_deliveries_of_one_refund_take_the_hours_back_once(
    app, engine, committed, fake_stripe
):
    account = fake_stripe.add_account()
    offering_id, purchase_id = committed_purchase(
        app, engine, committed, account, "one_time", checkout_session_id="cs_rf_1"
    )
    checkout = paid_checkout(committed, "cs_rf_1", "pi_rf_1", offering_id, purchase_id)
    fake_stripe.sessions["cs_rf_1"] = checkout
    completed = event("checkout.session.completed", checkout, account)
    assert message(post_event(app.test_client(), completed)) == "fulfilled"
    refund = fake_stripe.refund("pi_rf_1", 12000)
    events = [event("refund.created", refund, account) for _ in range(4)]
    events += [event("charge.refunded", fake_stripe.charge("pi_rf_1"), account) for _ in range(4)]

    def deliver(i: int) -> str:
        response = post_event(app.test_client(), events[i])
        return f"{response.status_code} {message(response)}"

    results = run_threads(len(events), deliver)
    assert all(r.startswith("200 ") for r in results), results
    assert sum("taken back" in r for r in results) == 1, results
    with as_tenant(committed.tenant.id), Session(engine) as session:
        package = session.scalar(select(Package))
        entries = session.scalars(
            select(LedgerEntry.minutes).where(
                LedgerEntry.package_id == package.id,
                LedgerEntry.kind == EntryKind.REFUND_REMOVAL,
            )
        ).all()
        assert entries == [-300]
        assert package.remaining_minutes == 300
        assert session.scalar(select(Purchase.id).where(Purchase.id == purchase_id))


def test_unsigned_or_forged_refund_events_change_nothing(
    client, auth, selling, db_session, fake_stripe
):
    purchase, intent = paid(client, auth, selling, db_session, fake_stripe)
    refund = fake_stripe.refund(intent)
    body = event("refund.created", refund, selling.tenant.stripe_account_id)
    assert post_event(client, body, secret="whsec_someone_else").status_code == 400
    assert post_event(client, body, timestamp=int(time.time()) - 301).status_code == 400
    [package] = packages_of(db_session, selling)
    assert removals(db_session, selling, package) == []
    assert post_event(client, body).status_code == 200
    db_session.refresh(package)
    assert removals(db_session, selling, package) == [-600]
