"""POST /stripe/webhook: only Stripe's signed events count, each acts once (design §5).

Events are signed exactly as Stripe signs them (tests/fake_stripe.py): `t=<time>,v1=<HMAC>`
over "<time>.<raw body>" with the Connect endpoint's secret.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import packages
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    Offering,
    Package,
    PackagePayment,
    Purchase,
    StripeEvent,
    Student,
    User,
)
from prepbase.tenancy import as_tenant
from tests.factories import add_purchase, sell_online
from tests.fake_stripe import WEBHOOK_SECRET, event, invoice, post_event, sign
from tests.test_races import run_threads

REPLAYS = 10


@pytest.fixture
def selling(app, business, db_session, fake_stripe):
    with app.app_context():
        sell_online(db_session, business, fake_stripe.add_account())
    return business


def bought(client, auth, business, db_session, fake, offering="one_time", **pay):
    """The parent buys `offering` for Ada and pays on (fake) Checkout: the purchase and
    the completed Checkout Session, as Stripe would put it in an event."""
    auth.as_role(business, "parent")
    url = f"/acme/family/buy/{business.students[0].id}/{business.extra[offering]}"
    assert client.post(url).status_code == 303
    auth.logout(business)
    with as_tenant(business.tenant.id):
        purchase = db_session.scalars(select(Purchase).order_by(Purchase.id.desc())).first()
    return purchase, fake.pay(purchase.checkout_session_id, **pay)


def packages_of(db_session, business) -> list[Package]:
    with as_tenant(business.tenant.id):
        return list(db_session.scalars(select(Package).order_by(Package.id)))


def ledger(db_session, business, package: Package) -> list[LedgerEntry]:
    with as_tenant(business.tenant.id):
        return list(
            db_session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.package_id == package.id)
                .order_by(LedgerEntry.id)
            )
        )


def recorded(db_session) -> int:
    return db_session.scalar(select(func.count(StripeEvent.id)))


def message(response) -> str:
    return response.get_json()["message"]


def assert_one_package_one_grant(db_session, business, purchase, minutes=600) -> Package:
    [package] = packages_of(db_session, business)
    entries = ledger(db_session, business, package)
    assert [(e.kind, e.minutes) for e in entries] == [(EntryKind.GRANT, minutes)]
    assert package.total_minutes == package.remaining_minutes == minutes
    db_session.refresh(purchase)
    assert (purchase.status, purchase.package_id) == ("paid", package.id)
    return package


# --- signatures --------------------------------------------------------------------------


# --- committed purchases, for the tests whose threads use their own connections --------


def committed_purchase(
    app, engine, business, account: str, offering_key: str, **values: object
) -> tuple[int, int]:
    """The business sells online through `account`, and a pending purchase of its
    `offering_key` offering ("one_time", "monthly") is committed: (offering, purchase) ids."""
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        sell_online(session, business, account)
        with as_tenant(business.tenant.id):
            offering = session.scalar(
                select(Offering).where(Offering.id == business.extra[offering_key])
            )
            purchase = add_purchase(session, business, offering, **values)
            session.commit()
            return offering.id, purchase.id


def committed_subscription(
    app, engine, business, account: str, checkout_id: str, subscription_id: str
) -> int:
    """A paid purchase of the monthly offering whose package started on 5 Mar 2030,
    committed; its package's id."""
    _, purchase_id = committed_purchase(
        app, engine, business, account, "monthly",
        checkout_session_id=checkout_id, subscription_id=subscription_id,
    )  # fmt: skip
    with app.app_context(), Session(engine) as session, as_tenant(business.tenant.id):
        purchase = session.scalar(select(Purchase).where(Purchase.id == purchase_id))
        offering = session.scalar(select(Offering).where(Offering.id == purchase.offering_id))
        admin = session.scalar(select(User).where(User.id == business.admin.id))
        student = session.scalar(select(Student).where(Student.id == business.students[0].id))
        package = packages.assign_package(
            session, admin, student, **packages.package_terms(offering),
            start_date=date(2030, 3, 5), offering=offering,
        )  # fmt: skip
        purchase.status, purchase.package_id = "paid", package.id
        session.commit()
        return package.id


def paid_checkout(
    business, checkout_id: str, intent: str, offering_id: int, purchase_id: int
) -> dict[str, object]:
    """A completed, paid Checkout Session of a one-time purchase, as Stripe sends it."""
    return {
        "id": checkout_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 24000,
        "currency": "usd",
        "payment_intent": intent,
        "subscription": None,
        "metadata": {
            "tenant_id": str(business.tenant.id),
            "purchase_id": str(purchase_id),
            "student_id": str(business.students[0].id),
            "offering_id": str(offering_id),
        },
    }


def test_unsigned_forged_stale_or_broken_bodies_are_refused_and_change_nothing(
    client, auth, selling, db_session, fake_stripe
):
    purchase, session = bought(client, auth, selling, db_session, fake_stripe)
    body = json.dumps(
        event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    )
    now = int(time.time())

    def deliver(payload: str, header: str | None):
        headers = {"Stripe-Signature": header} if header is not None else {}
        return client.post(
            "/stripe/webhook", data=payload, headers=headers, content_type="application/json"
        )

    refused = {
        "missing": deliver(body, None),
        "empty": deliver(body, ""),
        "garbage header": deliver(body, "t=soon,v1=abc"),
        "no v1": deliver(body, f"t={now},v0=abc"),
        "wrong secret": deliver(body, sign(body, "whsec_someone_else")),
        "stale": deliver(body, sign(body, timestamp=now - 301)),
        "tampered": deliver(body.replace("24000", "100"), sign(body)),
        "truncated": deliver(body[:-20], sign(body)),
        "signed but not JSON": deliver("{not json", sign("{not json")),
        "signed but no event": deliver("{}", sign("{}")),
    }
    for case, response in refused.items():
        assert response.status_code == 400, case
    assert recorded(db_session) == 0
    assert packages_of(db_session, selling) == []
    db_session.refresh(purchase)
    assert purchase.status == "pending"

    # A recent signature (within Stripe's 5 minutes) is accepted.
    assert deliver(body, sign(body, timestamp=now - 200)).status_code == 200
    assert_one_package_one_grant(db_session, selling, purchase)


def test_signatures_dated_more_than_five_minutes_ahead_are_refused(
    client, auth, selling, db_session, fake_stripe
):
    """A signature from the future (a replay prepared in advance, or a clock gone wrong)
    is refused like a stale one; a little clock skew is not."""
    purchase, session = bought(client, auth, selling, db_session, fake_stripe)
    body = json.dumps(
        event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    )
    now = int(time.time())

    def deliver(timestamp: int):
        return client.post(
            "/stripe/webhook",
            data=body,
            headers={"Stripe-Signature": sign(body, timestamp=timestamp)},
            content_type="application/json",
        )

    assert deliver(now + 301).status_code == 400
    assert deliver(now + 24 * 3600).status_code == 400
    assert recorded(db_session) == 0
    db_session.refresh(purchase)
    assert purchase.status == "pending"
    assert deliver(now + 200).status_code == 200
    assert_one_package_one_grant(db_session, selling, purchase)


def test_webhook_is_refused_when_the_installation_has_no_webhook_secret(client, business):
    body = json.dumps(event("account.updated", {"id": "acct_x", "object": "account"}, "acct_x"))
    response = client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
        content_type="application/json",
    )
    assert response.status_code == 503


def test_webhook_needs_no_csrf_token_or_session(raw_client, selling, db_session):
    body = event("some.thing", {"id": "x", "object": "thing"}, selling.tenant.stripe_account_id)
    response = post_event(raw_client, body)
    assert response.status_code == 200
    assert message(response) == "ignored: not an event PrepBase acts on"


# --- exactly once ----------------------------------------------------------------------------


def test_checkout_completed_replayed_ten_times_assigns_one_package(
    client, auth, selling, db_session, fake_stripe
):
    purchase, session = bought(client, auth, selling, db_session, fake_stripe)
    completed = event("checkout.session.completed", session, selling.tenant.stripe_account_id)
    outcomes = [message(post_event(client, completed)) for _ in range(REPLAYS)]
    assert outcomes[0] == "fulfilled"
    assert set(outcomes[1:]) == {"duplicate: handled before"}
    package = assert_one_package_one_grant(db_session, selling, purchase)
    assert (package.name, package.service, package.offering_id) == (
        "Ten Hour Pack",
        "tutoring",
        selling.extra["one_time"],
    )
    assert package.created_by_id == selling.parent.id
    db_session.refresh(purchase)
    assert purchase.payment_intent_id == session["payment_intent"]
    assert recorded(db_session) == 1
    row = db_session.scalar(select(StripeEvent))
    assert (row.event_id, row.tenant_id, row.outcome) == (
        completed["id"],
        selling.tenant.id,
        "fulfilled",
    )


def test_completed_and_async_succeeded_both_delivered_in_any_order_assign_one_package(
    client, auth, selling, db_session, fake_stripe
):
    purchase, session = bought(client, auth, selling, db_session, fake_stripe)
    account = selling.tenant.stripe_account_id
    succeeded = event("checkout.session.async_payment_succeeded", session, account)
    completed = event("checkout.session.completed", session, account)
    for _ in range(REPLAYS):  # the later event first, then interleaved replays of both
        assert post_event(client, succeeded).status_code == 200
        assert post_event(client, completed).status_code == 200
    assert_one_package_one_grant(db_session, selling, purchase)
    assert recorded(db_session) == 2


def test_delayed_payment_waits_for_async_succeeded(client, auth, selling, db_session, fake_stripe):
    purchase, session = bought(client, auth, selling, db_session, fake_stripe, delayed=True)
    account = selling.tenant.stripe_account_id
    response = post_event(client, event("checkout.session.completed", session, account))
    assert message(response) == "not paid yet (unpaid)"
    assert packages_of(db_session, selling) == []
    cleared = fake_stripe.settle_delayed(purchase.checkout_session_id)
    succeeded = event("checkout.session.async_payment_succeeded", cleared, account)
    for _ in range(REPLAYS):
        post_event(client, succeeded)
    assert_one_package_one_grant(db_session, selling, purchase)
    # A failure notice arriving late (out of order) does not undo a paid purchase.
    failed = post_event(client, event("checkout.session.async_payment_failed", session, account))
    assert message(failed) == "ignored: purchase is paid"
    db_session.refresh(purchase)
    assert purchase.status == "paid"


def test_async_payment_failed_marks_the_purchase_failed_for_the_family(
    client, auth, selling, db_session, fake_stripe
):
    purchase, session = bought(client, auth, selling, db_session, fake_stripe, delayed=True)
    account = selling.tenant.stripe_account_id
    post_event(client, event("checkout.session.completed", session, account))
    failed = event("checkout.session.async_payment_failed", session, account)
    for _ in range(REPLAYS):
        assert post_event(client, failed).status_code == 200
    db_session.refresh(purchase)
    assert purchase.status == "failed"
    assert packages_of(db_session, selling) == []
    auth.as_role(selling, "parent")
    history = client.get("/acme/family/purchases").get_data(as_text=True)
    assert "Failed" in history and "Your bank did not complete the payment" in history
    done = client.get(f"/acme/family/purchases/{purchase.id}/done").get_data(as_text=True)
    assert "The payment did not go through." in done


def test_expired_checkout_cancels_a_pending_purchase(
    client, auth, selling, db_session, fake_stripe
):
    purchase, _ = bought(client, auth, selling, db_session, fake_stripe)
    expired = dict(fake_stripe.public(fake_stripe.sessions[purchase.checkout_session_id]))
    expired.update(status="expired", payment_status="unpaid")
    response = post_event(
        client, event("checkout.session.expired", expired, selling.tenant.stripe_account_id)
    )
    assert message(response) == "purchase cancelled"
    db_session.refresh(purchase)
    assert purchase.status == "cancelled"


# --- events that do not match ------------------------------------------------------------


def test_events_whose_ids_do_not_match_our_rows_are_not_acted_upon(
    app, client, auth, selling, other_business, db_session, fake_stripe
):
    with app.app_context():
        other_account = fake_stripe.add_account()
        sell_online(db_session, other_business, other_account)
    purchase, session = bought(client, auth, selling, db_session, fake_stripe)
    account = selling.tenant.stripe_account_id

    def changed(**values):
        copy = json.loads(json.dumps(session))
        for key, value in values.items():
            if key.startswith("metadata_"):
                copy["metadata"][key.removeprefix("metadata_")] = value
            else:
                copy[key] = value
        return copy

    cases = [
        # acme's purchase, delivered as the rival business's account
        (event("checkout.session.completed", session, other_account), "metadata names another"),
        # the rival's account, with metadata rewritten to the rival's id
        (
            event(
                "checkout.session.completed",
                changed(metadata_tenant_id=str(other_business.tenant.id)),
                other_account,
            ),
            "no purchase",
        ),
        (event("checkout.session.completed", session, "acct_nobody"), "no business has"),
        (event("checkout.session.completed", session, None), "no business has"),
        (event("checkout.session.completed", changed(amount_total=100), account), "amount"),
        (event("checkout.session.completed", changed(currency="eur"), account), "amount"),
        (event("checkout.session.completed", changed(id="cs_other"), account), "another Checkout"),
        (
            event("checkout.session.completed", changed(metadata_student_id="999999"), account),
            "student or offering",
        ),
        (event("checkout.session.completed", changed(mode="subscription"), account), "mode"),
    ]
    for body, expected in cases:
        response = post_event(client, body)
        assert response.status_code == 200
        assert message(response).startswith("ignored") and expected in message(response), (
            expected,
            message(response),
        )
    assert packages_of(db_session, selling) == []
    assert packages_of(db_session, other_business) == []
    db_session.refresh(purchase)
    assert purchase.status == "pending"
    assert recorded(db_session) == len(cases)


def test_account_updated_keeps_charges_enabled_in_step(
    client, auth, selling, db_session, fake_stripe
):
    account = selling.tenant.stripe_account_id
    off = {"id": account, "object": "account", "charges_enabled": False}
    assert post_event(client, event("account.updated", off, account)).status_code == 200
    db_session.refresh(selling.tenant)
    assert selling.tenant.stripe_charges_enabled is False
    assert selling.tenant.online_payments is True  # the admin's choice is kept…
    auth.as_role(selling, "parent")
    assert "Buy Hours" not in client.get("/acme/family/").get_data(as_text=True)  # …but hidden
    on = {"id": account, "object": "account", "charges_enabled": True}
    post_event(client, event("account.updated", on, account))
    db_session.refresh(selling.tenant)
    assert selling.tenant.stripe_charges_enabled is True
    assert "Buy Hours" in client.get("/acme/family/").get_data(as_text=True)
    # Another account's object delivered on this account changes nothing.
    other = {"id": "acct_elsewhere", "object": "account", "charges_enabled": False}
    response = post_event(client, event("account.updated", other, account))
    assert message(response) == "ignored: not this business's account"
    db_session.refresh(selling.tenant)
    assert selling.tenant.stripe_charges_enabled is True


def test_other_event_types_are_answered_and_ignored(client, selling, db_session):
    account = selling.tenant.stripe_account_id
    response = post_event(
        client, event("charge.dispute.created", {"id": "dp_1", "object": "dispute"}, account)
    )
    assert response.status_code == 200
    assert message(response) == "ignored: not an event PrepBase acts on"
    assert packages_of(db_session, selling) == []


# --- subscriptions -------------------------------------------------------------------------

MARCH = int(datetime(2030, 3, 5, 15, tzinfo=UTC).timestamp())
APRIL = int(datetime(2030, 4, 5, 15, tzinfo=UTC).timestamp())
MAY = int(datetime(2030, 5, 5, 15, tzinfo=UTC).timestamp())


def subscribed(client, auth, selling, db_session, fake_stripe):
    purchase, session = bought(
        client, auth, selling, db_session, fake_stripe, offering="monthly", start=MARCH
    )
    account = selling.tenant.stripe_account_id
    post_event(client, event("checkout.session.completed", session, account))
    subscription = fake_stripe.subscriptions[session["subscription"]]
    return purchase, subscription, account


def test_first_invoice_is_the_purchase_and_later_invoices_renew_once_per_period(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    [package] = packages_of(db_session, selling)
    assert (package.start_date, package.current_period_start) == (date(2030, 3, 5),) * 2
    assert fake_stripe.requests_to("GET", f"/v1/subscriptions/{subscription['id']}")
    db_session.refresh(purchase)
    assert purchase.subscription_id == subscription["id"]

    first = event(
        "invoice.paid", invoice(subscription, MARCH, billing_reason="subscription_create"), account
    )
    assert message(post_event(client, first)) == "ignored: the first period is the purchase itself"
    assert [e.kind for e in ledger(db_session, selling, package)] == [EntryKind.GRANT]

    april = event("invoice.paid", invoice(subscription, APRIL), account)
    outcomes = [message(post_event(client, april)) for _ in range(REPLAYS)]
    assert outcomes[0] == f"renewed package {package.id} for the period from 2030-04-05"
    # The same period paid again under another event id (a retried invoice) renews nothing.
    again = event("invoice.paid", invoice(subscription, APRIL), account)
    assert "was renewed already" in message(post_event(client, again))
    may = event("invoice.paid", invoice(subscription, MAY), account)
    post_event(client, may)
    post_event(client, may)

    db_session.refresh(package)
    renewals = [e for e in ledger(db_session, selling, package) if e.kind == EntryKind.RENEWAL]
    assert [e.renewal_period for e in renewals] == [date(2030, 4, 5), date(2030, 5, 5)]
    assert (package.total_minutes, package.remaining_minutes) == (3 * 240, 240)  # no rollover
    assert package.current_period_start == date(2030, 5, 5)


def test_cancelled_subscription_stops_renewals_and_keeps_the_hours(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    deleted = dict(subscription, status="canceled")
    for _ in range(REPLAYS):
        assert (
            post_event(client, event("customer.subscription.deleted", deleted, account)).status_code
            == 200
        )
    [package] = packages_of(db_session, selling)
    assert package.renewals_stopped is True
    assert (package.active, package.remaining_minutes) == (True, 240)
    with as_tenant(selling.tenant.id):
        assert packages.renew_due(db_session, date(2030, 9, 1)).renewed == 0
    unknown = dict(subscription, id="sub_unknown")
    response = post_event(client, event("customer.subscription.deleted", unknown, account))
    assert message(response) == "ignored: no package has this subscription"


def test_renewal_invoice_before_the_checkout_event_fulfils_then_renews(
    client, auth, selling, db_session, fake_stripe
):
    purchase, session = bought(
        client, auth, selling, db_session, fake_stripe, offering="monthly", start=MARCH
    )
    account = selling.tenant.stripe_account_id
    subscription = fake_stripe.subscriptions[session["subscription"]]
    response = post_event(client, event("invoice.paid", invoice(subscription, APRIL), account))
    assert response.status_code == 200
    [package] = packages_of(db_session, selling)
    kinds = [e.kind for e in ledger(db_session, selling, package)]
    assert (kinds.count(EntryKind.GRANT), kinds.count(EntryKind.RENEWAL)) == (1, 1)
    # The checkout event, when it finally comes, adds nothing.
    post_event(client, event("checkout.session.completed", session, account))
    assert len(packages_of(db_session, selling)) == 1
    db_session.refresh(package)
    assert package.total_minutes == 480


def test_renewal_invoice_for_an_unpaid_checkout_is_deferred_not_recorded(
    client, auth, selling, db_session, fake_stripe
):
    purchase, session = bought(
        client, auth, selling, db_session, fake_stripe, offering="monthly", start=MARCH
    )
    fake_stripe.sessions[purchase.checkout_session_id]["payment_status"] = "unpaid"
    account = selling.tenant.stripe_account_id
    subscription = fake_stripe.subscriptions[session["subscription"]]
    april = event("invoice.paid", invoice(subscription, APRIL), account)
    assert post_event(client, april).status_code == 503  # Stripe will send it again
    assert recorded(db_session) == 0
    post_event(client, event("checkout.session.completed", session, account))
    assert message(post_event(client, april)).startswith("renewed package")


# --- concurrent delivery ------------------------------------------------------------------


def test_concurrent_deliveries_assign_one_package_and_one_grant(
    app, engine, committed, fake_stripe
):
    """Stripe sends completed and async_payment_succeeded, each several times, at the same
    moment, to several app threads with their own connections (committed data)."""
    account = fake_stripe.add_account()
    offering_id, purchase_id = committed_purchase(
        app, engine, committed, account, "one_time", checkout_session_id="cs_race_1"
    )
    checkout = paid_checkout(committed, "cs_race_1", "pi_race_1", offering_id, purchase_id)
    events = [
        event("checkout.session.completed", checkout, account),
        event("checkout.session.async_payment_succeeded", checkout, account),
    ]
    threads = 12

    def deliver(i: int) -> str:
        response = post_event(app.test_client(), events[i % 2])
        return f"{response.status_code} {message(response)}"

    results = run_threads(threads, deliver)
    assert all(r.startswith("200 ") for r in results), results
    assert sum(r == "200 fulfilled" for r in results) == 1, results
    with as_tenant(committed.tenant.id), Session(engine) as session:
        packages_made = session.scalars(select(Package)).all()
        assert len(packages_made) == 1
        grants = session.scalars(
            select(LedgerEntry).where(LedgerEntry.package_id == packages_made[0].id)
        ).all()
        assert [(g.kind, g.minutes) for g in grants] == [(EntryKind.GRANT, 600)]
        row = session.scalar(select(Purchase).where(Purchase.id == purchase_id))
        assert (row.status, row.package_id) == ("paid", packages_made[0].id)
        assert (
            session.scalar(
                select(func.count(StripeEvent.id)).where(
                    StripeEvent.tenant_id == committed.tenant.id
                )
            )
            == 2
        )


# --- payments and receipts (design §13) ------------------------------------------------------


def payments_of(db_session, business) -> list[PackagePayment]:
    with as_tenant(business.tenant.id):
        return list(db_session.scalars(select(PackagePayment).order_by(PackagePayment.id)))


def test_a_paid_purchase_records_one_stripe_payment_with_a_receipt_however_often_replayed(
    client, auth, selling, db_session, fake_stripe
):
    purchase, session = bought(client, auth, selling, db_session, fake_stripe)
    account = selling.tenant.stripe_account_id
    for name in ["checkout.session.completed"] * REPLAYS + [
        "checkout.session.async_payment_succeeded"
    ]:
        post_event(client, event(name, session, account))  # new event ids: not deduped
    package = assert_one_package_one_grant(db_session, selling, purchase)
    [payment] = payments_of(db_session, selling)
    assert (payment.package_id, payment.purchase_id, payment.method) == (
        package.id,
        purchase.id,
        "stripe",
    )
    assert (payment.amount_minor, payment.currency, payment.receipt_number) == (24000, "usd", 1)
    assert payment.recorded_by_id is None
    assert (package.price_minor, package.currency) == (24000, "usd")


def test_each_paid_renewal_invoice_records_one_payment_replays_and_retries_none_more(
    client, auth, selling, db_session, fake_stripe
):
    purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    [package] = packages_of(db_session, selling)
    april_invoice = invoice(subscription, APRIL, amount=9900, invoice_id="in_april")
    outcomes = [
        message(post_event(client, event("invoice.paid", april_invoice, account)))
        for _ in range(REPLAYS)  # each delivery its own event id: only the invoice id dedupes
    ]
    assert outcomes[0] == (
        f"renewed package {package.id} for the period from 2030-04-05; receipt 2"
    )
    assert all("receipt" not in o for o in outcomes[1:]), outcomes
    post_event(client, event("invoice.paid", invoice(subscription, MAY, amount=9900), account))
    payments = payments_of(db_session, selling)
    assert [(p.receipt_number, p.amount_minor, p.stripe_invoice_id) for p in payments] == [
        (1, 9900, None),  # the purchase itself (the first invoice)
        (2, 9900, "in_april"),
        (3, 9900, payments[2].stripe_invoice_id),
    ]
    assert {p.method for p in payments} == {"stripe"}


def test_concurrent_deliveries_of_one_renewal_invoice_record_one_payment(
    app, engine, committed, fake_stripe
):
    """The same invoice, delivered under different event ids to 12 threads at once."""
    account = fake_stripe.add_account()
    package_id = committed_subscription(
        app, engine, committed, account, "cs_race_sub", "sub_race_1"
    )
    subscription = {"id": "sub_race_1", "metadata": {}}
    paid = invoice(subscription, APRIL, amount=9900, invoice_id="in_race_april")
    events = [event("invoice.paid", paid, account) for _ in range(12)]

    def deliver(i: int) -> str:
        response = post_event(app.test_client(), events[i])
        return f"{response.status_code} {message(response)}"

    results = run_threads(len(events), deliver)
    assert all(r.startswith("200 ") for r in results), results
    assert sum("receipt" in r for r in results) == 1, results
    with as_tenant(committed.tenant.id), Session(engine) as session:
        rows = session.scalars(
            select(PackagePayment).where(PackagePayment.package_id == package_id)
        ).all()
        assert [(p.stripe_invoice_id, p.amount_minor) for p in rows] == [("in_race_april", 9900)]
