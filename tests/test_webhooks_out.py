"""Webhooks out (issue 19): each change sends its event once, signed per Standard
Webhooks (verified here with the `standardwebhooks` library by a real receiver on
127.0.0.1), retried with backoff under the same `webhook-id`, endpoints that keep
failing turned off with the admins told, and no request into private addresses."""

from __future__ import annotations

import functools
import json
import ssl
import subprocess
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from standardwebhooks.webhooks import Webhook

from prepbase import hours as ledger
from prepbase import packages, payments, scheduling
from prepbase.extensions import db
from prepbase.mail import hours as hours_mail
from prepbase.models import (
    OutboundEmail,
    SessionGroup,
    Tenant,
    TutoringSession,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from prepbase.tenancy import as_tenant
from prepbase.webhook_delivery import delivery, endpoints, ssrf
from tests.factories import add_group, add_purchase
from tests.test_hours_rules import give
from tests.test_series import FIRST as SERIES_FIRST
from tests.test_series import NOW
from tests.test_series import book as book_series
from tests.test_tutor_sessions import ZONE, World, local_at, local_day
from tests.webhook_receiver import start_receiver


@pytest.fixture
def receiver():
    server, receiver = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(app, business, db_session) -> World:
    return World(app, business, db_session)


def add(world: World, url: str, types=None) -> WebhookEndpoint:
    with world.scope():
        endpoint = endpoints.add_endpoint(
            world.db, world.b.tenant, url=url, description="CRM", event_types=types
        )
        world.db.commit()
    return endpoint


def deliver(world: World, now: datetime | None = None) -> int:
    with world.scope():
        return delivery.deliver_due(world.db, now)


def verified(receiver, secret: str) -> list[dict]:
    """Every request the receiver got, its signature checked (raises when wrong)."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]


def the_delivery(world: World) -> WebhookDelivery:
    with world.scope():
        row = world.db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first()
        world.db.refresh(row)
        return row


# --- each change, once, signed ------------------------------------------------------------


def test_every_change_sends_its_event_once_signed(world, receiver):
    endpoint = add(world, receiver.url)
    package = world.give("5")  # package.created
    started = world.started(60)  # session.booked (a past session, to complete)
    first = world.book(60, at=local_at(local_day(2), 9))  # booked
    world.book(60, at=local_at(local_day(2), 11))  # booked; 180 → 120: package.low_balance
    proposal = world.propose(60)  # session.proposed
    world.accept(proposal)  # session.accepted
    with world.scope():  # session.cancelled, hours.refunded
        scheduling.cancel_session(world.db, world.b.tenant, world.b.admin, first)
        world.db.commit()
    last = world.book(120, at=local_at(local_day(4), 10))  # booked; 120 → 0: package.depleted
    world.complete(started)  # session.completed

    assert deliver(world) == 12
    bodies = verified(receiver, endpoint.secret)
    assert Counter(b["type"] for b in bodies) == {
        "package.created": 1,
        "session.booked": 4,
        "package.low_balance": 1,
        "session.proposed": 1,
        "session.accepted": 1,
        "session.cancelled": 1,
        "hours.refunded": 1,
        "package.depleted": 1,
        "session.completed": 1,
    }
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 12
    assert all(r.path == "/hooks/prepbase" for r in receiver.requests)
    # nothing is sent twice: a second run finds nothing due
    assert deliver(world) == 0 and len(receiver.requests) == 12

    by_type = {b["type"]: b for b in bodies}
    booked = [b["data"]["session"] for b in bodies if b["type"] == "session.booked"]
    assert booked[-1]["id"] == last.id
    assert booked[-1]["duration_minutes"] == 120 and booked[-1]["charged_minutes"] == 120
    assert booked[-1]["package_id"] == package.id and booked[-1]["status"] == "upcoming"
    starts = datetime.fromisoformat(booked[-1]["starts_at"])
    assert starts == local_at(local_day(4), 10)
    assert starts.utcoffset() == local_at(local_day(4), 10).astimezone(ZONE).utcoffset()
    assert by_type["session.cancelled"]["data"]["session"]["id"] == first.id
    assert by_type["session.cancelled"]["data"]["session"]["status"] == "cancelled"
    refund = by_type["hours.refunded"]["data"]["refund"]
    assert (refund["session_id"], refund["minutes"], refund["kind"]) == (first.id, 60, "refund")
    assert refund["package_id"] == package.id
    low = by_type["package.low_balance"]["data"]
    assert low["balance"] == {
        "before_minutes": 180,
        "after_minutes": 120,
        "low_balance_minutes": 120,
    }
    assert by_type["package.depleted"]["data"]["balance"]["after_minutes"] == 0
    created = by_type["package.created"]["data"]["package"]
    assert (created["id"], created["total_minutes"], created["remaining_minutes"]) == (
        package.id,
        300,
        300,
    )
    assert by_type["session.completed"]["data"]["session"]["id"] == started.id
    assert by_type["session.completed"]["data"]["session"]["attendance"] == "present"
    stamp = by_type["session.accepted"]["timestamp"]
    assert stamp.endswith("Z") and datetime.fromisoformat(stamp) <= utcnow()


def test_an_endpoint_gets_only_the_events_it_chose(world, receiver):
    endpoint = add(world, receiver.url, ["session.cancelled"])
    world.give("5")
    ts = world.book(60)
    with world.scope():
        scheduling.cancel_session(world.db, world.b.tenant, world.b.admin, ts)
        world.db.commit()
    assert deliver(world) == 1
    assert [b["type"] for b in verified(receiver, endpoint.secret)] == ["session.cancelled"]


def test_a_rolled_back_change_sends_nothing(world, receiver):
    add(world, receiver.url)
    with world.scope():
        world.db.rollback()
    with pytest.raises(scheduling.NotEnoughHours), world.scope():
        scheduling.book_session(
            world.db,
            world.b.tenant,
            world.b.parent,
            student=world.b.students[0],
            staff=world.b.tutor,
            service="tutoring",
            starts_at=local_at(local_day(2), 9),
            duration_minutes=60,
        )
    with world.scope():
        world.db.rollback()
    assert deliver(world) == 0 and receiver.requests == []
    assert world.count(WebhookEvent) == 0


# --- retries ------------------------------------------------------------------------------


def test_500_three_times_then_200_arrives_on_the_fourth_try(world, receiver):
    endpoint = add(world, receiver.url)
    receiver.script = [500, 500, 500, 200]
    world.give("5")
    t0 = utcnow()
    assert deliver(world, t0) == 0
    assert deliver(world, t0 + timedelta(seconds=29)) == 0  # not due before 30 s
    assert len(receiver.requests) == 1
    assert deliver(world, t0 + timedelta(seconds=31)) == 0
    assert deliver(world, t0 + timedelta(seconds=31 + 121)) == 0
    assert len(receiver.requests) == 3
    row = the_delivery(world)
    assert (row.status, row.attempts, row.response_code) == ("pending", 3, 500)
    assert row.last_error == "The endpoint answered 500."
    assert deliver(world, t0 + timedelta(seconds=31 + 121 + 601)) == 1
    assert len(receiver.requests) == 4
    bodies = verified(receiver, endpoint.secret)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # one event
    assert len({json.dumps(b) for b in bodies}) == 1  # the same body every time
    row = the_delivery(world)
    assert (row.status, row.attempts, row.response_code, row.last_error) == (
        "delivered",
        4,
        200,
        None,
    )
    with world.scope():
        world.db.refresh(endpoint)
        assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_a_receiver_too_slow_gets_it_again_with_the_same_id(world, receiver, monkeypatch):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 0.5)
    endpoint = add(world, receiver.url)
    receiver.script = ["slow"]  # it handles the event, but answers after the sender left
    world.give("5")
    t0 = utcnow()
    assert deliver(world, t0) == 0
    row = the_delivery(world)
    assert row.last_error == "No answer within 0.5 seconds." and row.response_code is None
    assert deliver(world, t0 + timedelta(seconds=31)) == 1
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]  # at least once: the receiver dedupes on it
    handled = {b["type"] for b in verified(receiver, endpoint.secret)}
    assert handled == {"package.created"}


def test_two_workers_never_send_the_same_delivery(world, receiver):
    add(world, receiver.url)
    world.give("5")
    with world.scope():
        row = world.db.scalars(select(WebhookDelivery)).one()
        now = utcnow()
        assert delivery._claim(world.db, row.id, now) == 1
        assert delivery._claim(world.db, row.id, now) is None  # the other worker
        # a worker that died: its claim runs out, then the delivery is due again
        assert delivery.deliver_due(world.db, now + timedelta(seconds=30)) == 0
        assert delivery.deliver_due(world.db, now + delivery.CLAIM + timedelta(seconds=1)) == 1
    assert len(receiver.requests) == 1


def test_an_endpoint_failing_for_a_day_is_turned_off_and_admins_told(world, receiver):
    endpoint = add(world, receiver.url)
    receiver.script = [503] * 20
    world.give("5")
    now = utcnow()
    for _ in range(delivery.MAX_ATTEMPTS):
        deliver(world, now)
        row = the_delivery(world)
        now = row.next_attempt_at + timedelta(seconds=1)
    assert len(receiver.requests) == delivery.MAX_ATTEMPTS
    assert (row.status, row.attempts, row.response_code) == ("failed", delivery.MAX_ATTEMPTS, 503)
    with world.scope():
        world.db.refresh(endpoint)
        tenant = world.db.get(Tenant, world.b.tenant.id)
        world.db.refresh(tenant)
        assert endpoint.active is False
        assert "failed attempts in a row" in endpoint.disabled_reason
        assert tenant.webhook_types == ""
        subject = "A webhook endpoint was turned off"
        mails = world.db.scalars(select(OutboundEmail).where(OutboundEmail.subject == subject))
        mails = list(mails)
        assert [m.to_addr for m in mails] == [world.b.admin.email]
        assert receiver.url in mails[0].body
    # off: new changes write no event and nothing more is sent
    world.give("1", name="Top-up")
    assert world.count(WebhookEvent) == 1
    assert deliver(world, now + timedelta(days=1)) == 0
    # on again, and Resend: the same event, attempts from zero
    receiver.script = []
    with world.scope():
        endpoints.set_endpoint_active(world.db, world.b.tenant, endpoint, True)
        endpoints.resend(world.db, row)
        world.db.commit()
    assert deliver(world, now) == 1
    assert receiver.requests[-1].headers["webhook-id"] == receiver.requests[0].headers["webhook-id"]
    assert the_delivery(world).attempts == 1


def test_failures_for_less_than_a_day_do_not_turn_it_off(world, receiver):
    endpoint = add(world, receiver.url)
    receiver.script = [500] * 30
    for n in range(8):
        world.give("1", name=f"Pack {n}")
    deliver(world, utcnow() + timedelta(hours=2))
    with world.scope():
        world.db.refresh(endpoint)
        assert endpoint.consecutive_failures == 8 and endpoint.active is True


# --- addresses (SSRF) ---------------------------------------------------------------------


@pytest.fixture
def no_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False)


REFUSED = [
    ("http://127.0.0.1/hooks", "private, loopback or link-local"),
    ("http://10.1.2.3/hooks", "private, loopback or link-local"),
    ("http://169.254.169.254/latest/meta-data/", "private, loopback or link-local"),
    ("http://[::1]:8080/hooks", "private, loopback or link-local"),
    ("http://localhost:8080/hooks", "private, loopback or link-local"),
    ("http://0.0.0.0/hooks", "private, loopback or link-local"),
    ("http://[::ffff:127.0.0.1]/hooks", "private, loopback or link-local"),
    ("file:///etc/passwd", "Use an http:// or https:// URL."),
    ("ftp://example.com/hooks", "Use an http:// or https:// URL."),
    ("javascript:alert(1)", "Use an http:// or https:// URL."),
    ("http://", "This URL has no host name."),
    ("http://user:pw@example.com/", "Leave the user name and password out of the URL."),
    ("http://example.com:99999/", "This is not a valid URL."),
    ("https://example.com/" + "a" * 2000, "at most 2000 characters"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_settings_refuse_urls_that_are_not_public_http(
    client, auth, business, no_private, url, message, world
):
    auth.as_role(business, "admin")
    response = client.post(
        business.url("/admin/settings/webhooks/new"), data={"url": url, "all_events": "y"}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert world.count(WebhookEndpoint) == 0


def test_public_addresses_only():
    assert ssrf.is_public("93.184.216.34") and ssrf.is_public("2606:4700::1111")
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::",
    ):
        assert not ssrf.is_public(address), address


def test_delivery_checks_the_address_again(world, receiver, app, monkeypatch):
    add(world, receiver.url)  # saved while private addresses were allowed
    world.give("5")
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False)
    assert deliver(world) == 0
    assert receiver.requests == []  # no connection was made
    row = the_delivery(world)
    assert "private, loopback or link-local" in row.last_error and row.status == "pending"


def test_delivery_connects_to_the_address_it_checked(world, receiver, monkeypatch):
    """The host is resolved once per delivery, and that address is the one connected
    to: a second lookup (DNS rebinding) is never made."""
    port = receiver.url.split(":")[2].split("/")[0]
    lookups = []

    def resolver(host, port, *args, **kwargs):
        lookups.append(host)
        return [(2, 1, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", resolver)
    endpoint = add(world, f"http://hooks.test:{port}/hooks/prepbase")
    world.give("5")
    lookups.clear()
    assert deliver(world) == 1
    # the name once (the check), then the connection to the checked address itself
    assert lookups == ["hooks.test", "127.0.0.1"]
    assert receiver.requests[0].headers["host"] == f"hooks.test:{port}"
    assert verified(receiver, endpoint.secret)[0]["type"] == "package.created"


# --- no cost without endpoints ------------------------------------------------------------


def _booking_statements(app, world) -> list[str]:
    """The SQL one family booking sends, its rows loaded as a request has them."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement)

    with world.scope():
        world.db.expire_all()
        for row in (world.b.tenant, world.b.parent, world.b.tutor, world.b.students[0]):
            world.db.refresh(row)
        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            scheduling.book_session(
                world.db,
                world.b.tenant,
                world.b.parent,
                student=world.b.students[0],
                staff=world.b.tutor,
                service="tutoring",
                starts_at=local_at(local_day(3), 9),
                duration_minutes=60,
            )
            world.db.flush()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        world.db.rollback()
    return seen


def test_a_business_without_endpoints_pays_no_statement(app, world, monkeypatch):
    world.give("20")
    with_emit = _booking_statements(app, world)
    assert not [s for s in with_emit if "webhook" in s.lower()]
    silent = lambda *args, **kwargs: None  # noqa: E731
    for module, name in (
        (scheduling, "emit"),
        (scheduling, "emit_in_scope"),
        (ledger, "emit_in_scope"),
        (hours_mail, "emit"),
    ):
        monkeypatch.setattr(module, name, silent)
    without_emit = _booking_statements(app, world)
    assert len(with_emit) == len(without_emit)


# --- the job ------------------------------------------------------------------------------


def test_the_job_delivers_every_business_to_its_own_endpoints(
    app, world, other_business, db_session, receiver
):
    other = World(app, other_business, db_session)
    mine, theirs = add(world, receiver.url + "?b=acme"), add(other, receiver.url + "?b=rival")
    world.give("5")
    other.give("3")
    other.give("2", name="Second")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prepbase", "deliver-webhooks"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 webhook(s) delivered")
    by_business = {"acme": [], "rival": []}
    for request in receiver.requests:
        by_business[request.path.rsplit("=", 1)[1]].append(request)
    acme = [Webhook(mine.secret).verify(r.body, r.headers) for r in by_business["acme"]]
    rival = [Webhook(theirs.secret).verify(r.body, r.headers) for r in by_business["rival"]]
    assert [b["data"]["package"]["total_minutes"] for b in acme] == [300]
    assert sorted(b["data"]["package"]["total_minutes"] for b in rival) == [120, 180]
    again = runner.invoke(args=["prepbase", "deliver-webhooks"])
    assert again.output.startswith("0 webhook(s) delivered") and len(receiver.requests) == 3


def test_an_online_purchase_and_an_import_send_their_events(world, receiver):
    endpoint = add(world, receiver.url, ["package.created", "purchase.paid"])
    with world.scope():
        offering = packages.save_offering(
            world.db,
            world.b.admin,
            None,
            name="Ten Hour Pack",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=600,
            rollover=False,
        )
        purchase = add_purchase(world.db, world.b, offering, amount_minor=24000)
        package = payments.fulfil_purchase(world.db, purchase, start_date=date(2020, 1, 1))
        world.db.commit()
        assert package is not None
        # fulfilled once: a second call (Stripe's retry) sends nothing more
        assert payments.fulfil_purchase(world.db, purchase, start_date=date(2020, 1, 1)) is None
        ids = packages.open_imported_packages(
            world.db,
            world.b.admin,
            [
                packages.Imported(
                    student_id=world.b.students[1].id,
                    name="Old system",
                    service="tutoring",
                    total_minutes=600,
                    used_minutes=150,
                    start_date=date(2020, 1, 1),
                    expires_on=None,
                )
            ],
            "Imported",
        )
        world.db.commit()
    assert deliver(world) == 3
    bodies = verified(receiver, endpoint.secret)
    assert [b["type"] for b in bodies] == ["package.created", "purchase.paid", "package.created"]
    paid = bodies[1]["data"]["purchase"]
    assert (paid["id"], paid["package_id"], paid["amount_minor"], paid["status"]) == (
        purchase.id,
        package.id,
        24000,
        "paid",
    )
    assert paid["invoice_id"] is None and paid["paid_at"]
    imported = bodies[2]["data"]["package"]
    assert (imported["id"], imported["total_minutes"], imported["remaining_minutes"]) == (
        ids[0],
        600,
        450,
    )


def test_a_group_session_sends_one_event_per_student(app, world, receiver, db_session):
    endpoint = add(
        world, receiver.url, ["session.proposed", "session.accepted", "session.cancelled"]
    )
    world.give("5")
    world.give("5", student=1)
    with app.app_context():
        add_group(db_session, world.b)
    with world.scope():
        rows = db_session.scalars(select(TutoringSession).order_by(TutoringSession.id)).all()
        for ts in rows:
            scheduling.accept_session(db_session, world.b.tenant, world.b.parent, ts)
        db_session.commit()
        group = db_session.get(SessionGroup, world.b.extra["group_id"])
        scheduling.cancel_group(db_session, world.b.tenant, world.b.tutor, group, "Tutor ill")
        db_session.commit()
    assert deliver(world) == 6
    sessions = {ts.id for ts in rows}
    bodies = verified(receiver, endpoint.secret)
    for kind in ("session.proposed", "session.accepted", "session.cancelled"):
        about = [b["data"]["session"] for b in bodies if b["type"] == kind]
        assert {s["id"] for s in about} == sessions and len(about) == 2, kind
        assert {s["group_id"] for s in about} == {world.b.extra["group_id"]}


def test_a_series_sends_one_booked_event_per_occurrence_paid(app, business, db_session, receiver):
    """Occurrences waiting for hours are not booked yet: their event comes when hours
    arrive (here, a cancellation's refund pays the waiting one)."""
    with app.app_context(), as_tenant(business.tenant.id):
        endpoint = endpoints.add_endpoint(
            db_session,
            business.tenant,
            url=receiver.url,
            event_types=["session.booked", "session.cancelled"],
        )
        give(db_session, business, "2", start=date(2027, 1, 1))
        made = book_series(db_session, business, count=3)
        assert [ts.status for ts in made] == ["upcoming", "upcoming", "waiting"]
        db_session.commit()
        scheduling.cancel_session(db_session, business.tenant, business.admin, made[0], now=NOW)
        db_session.commit()
        assert delivery.deliver_due(db_session) == 4
    bodies = verified(receiver, endpoint.secret)
    assert [(b["type"], b["data"]["session"]["id"]) for b in bodies] == [
        ("session.booked", made[0].id),
        ("session.booked", made[1].id),
        ("session.cancelled", made[0].id),
        ("session.booked", made[2].id),
    ]
    assert {b["data"]["session"]["series_id"] for b in bodies} == {made[0].series_id}


# --- https --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hooks_certificate(tmp_path_factory):
    """A self-signed certificate for the name hooks.test (as tests/test_mail.py makes)."""
    folder = tmp_path_factory.mktemp("webhook-tls")
    cert, key = folder / "hooks.pem", folder / "hooks.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=hooks.test", "-addext", "subjectAltName=DNS:hooks.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_https_checks_the_certificate_against_the_url_host(world, monkeypatch, hooks_certificate):
    """The connection goes to the checked address (127.0.0.1) while TLS checks the
    certificate against the URL's host name: trusted and named → delivered; a
    certificate the machine does not trust → not delivered."""
    server, receiver = start_receiver(tls=hooks_certificate)
    try:
        port = receiver.url.split(":")[2].split("/")[0]
        monkeypatch.setattr(
            ssrf.socket,
            "getaddrinfo",
            lambda host, port, *a, **kw: [(2, 1, 6, "", ("127.0.0.1", port))],
        )
        endpoint = add(world, f"https://hooks.test:{port}/hooks/prepbase")
        world.give("5")
        assert deliver(world) == 0  # self-signed: refused
        row = the_delivery(world)
        assert "CERTIFICATE_VERIFY_FAILED" in row.last_error and receiver.requests == []
        trusting = functools.partial(ssl.create_default_context, cafile=hooks_certificate[0])
        monkeypatch.setattr(ssl, "create_default_context", trusting)
        assert deliver(world, row.next_attempt_at) == 1
        assert verified(receiver, endpoint.secret)[0]["type"] == "package.created"
    finally:
        server.shutdown()
        server.server_close()


def test_a_series_reads_the_endpoints_once(app, business, db_session, receiver):
    """A weekly series emits an event per occurrence: the endpoints are read once per
    transaction, and a change to them (here, turning one off) is seen at once."""
    with app.app_context(), as_tenant(business.tenant.id):
        first = endpoints.add_endpoint(
            db_session, business.tenant, url=receiver.url, event_types=["session.booked"]
        )
        give(db_session, business, "10", start=date(2027, 1, 1))
        db_session.commit()
        engine = db_session.get_bind()
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            made = book_series(db_session, business, count=4)
            db_session.flush()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        reads = [
            s
            for s in seen
            if s.lstrip().upper().startswith("SELECT") and "FROM webhook_endpoint" in s
        ]
        assert len(made) == 4 and len(reads) == 1, reads
        second = endpoints.add_endpoint(
            db_session, business.tenant, url=receiver.url, event_types=["session.booked"]
        )
        endpoints.set_endpoint_active(db_session, business.tenant, first, False, "test")
        before = db_session.scalar(select(func.max(WebhookEvent.id)))
        made_again = book_series(
            db_session, business, count=1, first=SERIES_FIRST + timedelta(weeks=8)
        )
        db_session.flush()
        deliveries = db_session.scalars(
            select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id > before)
        ).all()
        db_session.rollback()
    assert len(made_again) == 1
    assert deliveries == [second.id]
