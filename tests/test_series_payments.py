"""Hours bought online pay the sessions waiting for them (design §5 with §10): a fulfilled
purchase and a subscription's renewal, both through Stripe's signed events."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from prepbase import scheduling
from prepbase.models import OutboundEmail, SessionStatus, TutoringSession
from prepbase.series import NewSeries, make_rule
from prepbase.tenancy import as_tenant
from tests.factories import business_today, sell_online
from tests.fake_stripe import event, invoice, post_event
from tests.test_webhooks import APRIL, bought, message, subscribed

UPCOMING, WAITING = SessionStatus.UPCOMING, SessionStatus.WAITING


@pytest.fixture
def selling(app, business, db_session, fake_stripe):
    with app.app_context():
        sell_online(db_session, business, fake_stripe.add_account())
    return business


def waiting_series(app, db_session, business, *, staff, service, first: date, count: int):
    """A family-booked weekly series no package covers yet: every occurrence waits."""
    with app.app_context(), as_tenant(business.tenant.id):
        made = scheduling.book_series(
            db_session,
            business.tenant,
            business.parent,
            NewSeries(
                business.students[0],
                staff,
                service,
                make_rule(first_day=first, start=time(16, 0), count=count),
                60,
            ),
        )
        db_session.commit()
    assert [ts.status for ts in made] == [WAITING] * count
    return made


def statuses(db_session, business) -> list[str]:
    with as_tenant(business.tenant.id):
        return list(
            db_session.scalars(
                select(TutoringSession.status)
                .order_by(TutoringSession.starts_at)
                .execution_options(populate_existing=True)
            )
        )


def test_a_fulfilled_purchase_pays_the_waiting_sessions(
    app, client, auth, selling, db_session, fake_stripe
):
    waiting_series(
        app,
        db_session,
        selling,
        staff=selling.tutor,
        service="tutoring",
        first=business_today(7),
        count=3,
    )
    purchase, checkout = bought(client, auth, selling, db_session, fake_stripe)
    account = selling.tenant.stripe_account_id
    response = post_event(client, event("checkout.session.completed", checkout, account))
    assert message(response) == "fulfilled"
    assert statuses(db_session, selling) == [UPCOMING] * 3
    with as_tenant(selling.tenant.id):
        subjects = db_session.scalars(select(OutboundEmail.subject)).all()
    assert "3 of Ada's waiting sessions are booked" in subjects
    assert "Ada's waiting sessions with you: hours arrived" in subjects


def test_a_subscription_renewal_pays_the_waiting_sessions(
    app, client, auth, selling, db_session, fake_stripe
):
    """The monthly Counseling plan (4 hours) starts 5 Mar 2030: at purchase it pays the
    first four weekly sessions; April's paid invoice renews it and pays the next two."""
    waiting_series(
        app,
        db_session,
        selling,
        staff=selling.counselor,
        service="counseling",
        first=date(2030, 3, 12),
        count=6,
    )
    _purchase, subscription, account = subscribed(client, auth, selling, db_session, fake_stripe)
    assert statuses(db_session, selling) == [UPCOMING] * 4 + [WAITING] * 2
    april = event("invoice.paid", invoice(subscription, APRIL), account)
    assert message(post_event(client, april)).startswith("renewed package")
    assert statuses(db_session, selling) == [UPCOMING] * 6
