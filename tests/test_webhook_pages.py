"""Settings → Webhooks through the routes: add an endpoint (422 with messages on bad
input), its page with the secret and the delivery log (paged, Resend), turn off and on,
a new secret, delete; another business's endpoint or delivery is a 404."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from prepbase.models import Tenant, WebhookDelivery, WebhookEndpoint, WebhookEvent
from prepbase.webhook_delivery import delivery as webhook_delivery
from prepbase.webhook_delivery import endpoints
from tests.test_tutor_sessions import World, text
from tests.webhook_receiver import start_receiver


@pytest.fixture
def receiver():
    server, receiver = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


@pytest.fixture
def world(app, business, db_session) -> World:
    return World(app, business, db_session)


def only_endpoint(world: World) -> WebhookEndpoint:
    with world.scope():
        row = world.db.scalars(select(WebhookEndpoint)).one()
        world.db.refresh(row)
        return row


def tenant_types(world: World) -> str:
    with world.scope():
        tenant = world.db.get(Tenant, world.b.tenant.id)
        world.db.refresh(tenant)
        return tenant.webhook_types


def test_add_an_endpoint_see_its_secret_and_its_log(admin, business, world, receiver):
    page = admin.get(business.url("/admin/settings/webhooks"))
    assert page.status_code == 200 and "No endpoints yet." in text(page)
    assert 'href="/acme/admin/settings/webhooks"' in text(
        admin.get(business.url("/admin/settings"))
    )
    response = admin.post(
        business.url("/admin/settings/webhooks/new"),
        data={
            "url": receiver.url,
            "description": "Our CRM",
            "events": ["session.booked", "package.created"],
        },
    )
    assert response.status_code == 303
    endpoint = only_endpoint(world)
    assert response.headers["Location"].endswith(f"/admin/settings/webhooks/{endpoint.id}")
    assert endpoint.event_types == "session.booked package.created"
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", endpoint.secret)
    assert tenant_types(world) == "package.created session.booked"
    detail = text(admin.get(business.url(f"/admin/settings/webhooks/{endpoint.id}")))
    assert endpoint.secret in detail and "No events sent to this endpoint yet." in detail

    world.give("5")
    world.book(60)
    with world.scope():
        assert webhook_delivery.deliver_due(world.db) == 2
    detail = text(admin.get(business.url(f"/admin/settings/webhooks/{endpoint.id}")))
    assert detail.count("Delivered") == 2 and "session.booked" in detail
    with world.scope():
        event = world.db.scalars(
            select(WebhookEvent).where(WebhookEvent.type == "session.booked")
        ).one()
        sent = world.db.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
        ).one()
        event_id, sent_id, endpoint_id = event.public_id, sent.id, endpoint.id
        world.db.rollback()  # the requests below must not run inside this session's savepoint
    assert event_id in detail

    # Resend: the same event, pending again, attempts from zero
    # (plain strings: touching an expired row here would open this session's savepoint)
    url = f"/acme/admin/settings/webhooks/{endpoint_id}/deliveries/{sent_id}/resend"
    assert admin.post(url).status_code == 303
    with world.scope():
        row = world.db.get(WebhookDelivery, sent_id)
        assert (row.status, row.attempts) == ("pending", 0)
        world.db.rollback()
    # a pending one cannot be resent again: a message, nothing changes
    page = admin.post(url, follow_redirects=True)
    assert "This delivery is waiting to be sent already." in text(page)
    with world.scope():
        assert webhook_delivery.deliver_due(world.db) == 1
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids.count(event_id) == 2


def test_the_form_refuses_bad_input_with_422(admin, business, world, receiver):
    new = business.url("/admin/settings/webhooks/new")
    cases = [
        ({"url": "", "all_events": "y"}, "Enter the URL that receives the webhooks."),
        ({"url": "gopher://example.com/", "all_events": "y"}, "Use an http:// or https:// URL."),
        ({"url": receiver.url}, "Choose at least one event, or All events."),
        (
            {"url": receiver.url, "events": ["session.exploded"]},
            "is not a valid choice for this field.",
        ),
        ({"url": receiver.url, "all_events": "y", "description": "x" * 201}, "200 characters"),
        ({"url": "http://no-such-host.invalid/", "all_events": "y"}, "could not be found"),
    ]
    for data, message in cases:
        response = admin.post(new, data=data)
        assert response.status_code == 422, data
        assert message in text(response), (data, text(response)[:3000])
    assert world.count(WebhookEndpoint) == 0
    assert tenant_types(world) == ""


def test_turn_off_on_new_secret_edit_and_delete(admin, business, world, receiver):
    with world.scope():
        endpoint = endpoints.add_endpoint(world.db, world.b.tenant, url=receiver.url)
        world.db.commit()
    base = business.url(f"/admin/settings/webhooks/{endpoint.id}")
    assert tenant_types(world) == "*"
    assert admin.post(f"{base}/disable").status_code == 303
    row = only_endpoint(world)
    assert (row.active, row.disabled_reason) == (False, "Turned off by an admin.")
    assert tenant_types(world) == ""
    world.give("5")  # off: no event
    assert world.count(WebhookEvent) == 0
    assert admin.post(f"{base}/enable").status_code == 303
    assert only_endpoint(world).active is True and tenant_types(world) == "*"

    old = only_endpoint(world).secret
    assert admin.post(f"{base}/rotate").status_code == 303
    assert only_endpoint(world).secret not in (old, None)

    edit = admin.get(f"{base}/edit")
    assert edit.status_code == 200 and receiver.url in text(edit)
    response = admin.post(
        f"{base}/edit", data={"url": receiver.url + "?v=2", "events": ["hours.refunded"]}
    )
    assert response.status_code == 303
    assert only_endpoint(world).url.endswith("?v=2") and tenant_types(world) == "hours.refunded"

    world.give("1", name="Top-up")  # not an event it receives
    assert world.count(WebhookEvent) == 0
    assert admin.post(f"{base}/delete").status_code == 303
    assert world.count(WebhookEndpoint) == 0 and tenant_types(world) == ""
    assert admin.get(base).status_code == 404


def test_the_log_is_paged(admin, business, world, receiver):
    with world.scope():
        endpoints.add_endpoint(world.db, world.b.tenant, url=receiver.url)
        world.db.commit()
    for n in range(26):
        world.give("1", name=f"Pack {n}")
    for n in range(26):
        world.give("1", name=f"More {n}", student=1)
    endpoint = only_endpoint(world)
    base = business.url(f"/admin/settings/webhooks/{endpoint.id}")
    first = text(admin.get(base))
    assert first.count("package.created") == 50 and "Next page" in first
    second = admin.get(f"{base}?page=2")
    assert text(second).count("package.created") == 2 and "Previous page" in text(second)
    fragment = admin.get(f"{base}?page=2", headers={"HX-Request": "true"})
    assert text(fragment).lstrip().startswith('<div id="webhook-log">')


def test_another_business_endpoint_and_delivery_are_404(
    app, admin, business, other_business, world, db_session
):
    foreign = World(app, other_business, db_session)
    with foreign.scope():
        theirs = endpoints.add_endpoint(
            db_session, other_business.tenant, url="http://127.0.0.1:9/"
        )
        db_session.commit()
    foreign.give("2")
    with foreign.scope():
        their_delivery = db_session.scalars(select(WebhookDelivery)).one()
    with world.scope():
        mine = endpoints.add_endpoint(db_session, business.tenant, url="http://127.0.0.1:9/")
        db_session.commit()
    base = business.url(f"/admin/settings/webhooks/{theirs.id}")
    assert admin.get(base).status_code == 404
    assert admin.get(f"{base}/edit").status_code == 404
    for action in ("edit", "disable", "enable", "rotate", "delete"):
        assert (
            admin.post(f"{base}/{action}", data={"url": "http://127.0.0.1:9/x"}).status_code == 404
        )
    resend = f"/admin/settings/webhooks/{mine.id}/deliveries/{their_delivery.id}/resend"
    assert admin.post(business.url(resend)).status_code == 404
    with foreign.scope():
        db_session.refresh(theirs)
        assert (theirs.active, theirs.url) == (True, "http://127.0.0.1:9/")
    listed = text(admin.get(business.url("/admin/settings/webhooks")))
    assert f'/webhooks/{theirs.id}"' not in listed and f'/webhooks/{mine.id}"' in listed


def test_staff_and_families_cannot_see_webhooks(client, auth, business):
    for role in ("tutor", "parent"):
        auth.as_role(business, role)
        assert client.get(business.url("/admin/settings/webhooks")).status_code in (403, 404)
        auth.logout(business)
