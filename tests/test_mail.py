"""Mail that arrives and is safe (issue 11): verified TLS, complete headers, a plain-text
and an HTML part from templates, retries with backoff, and Settings → E-mail."""

from __future__ import annotations

import re
import ssl
import subprocess
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from prepbase.mail.links import external_url
from prepbase.mail.outbox import BACKOFF, MAX_ATTEMPTS, deliver_pending, queue_email
from prepbase.mail.sessions import send_due_reminders
from prepbase.models import OutboundEmail, Student, Tenant, utcnow
from prepbase.tenancy import as_tenant
from tests.conftest import Mailbox, _Collector, free_port
from tests.factories import add_hours_rows
from tests.test_family_portal import World, local_day, text


@pytest.fixture
def world(app, db_session, business) -> World:
    return World(app, db_session, business)


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


def contact(db_session, business, email="office@acme.example.com", phone="+1 (555) 010-0100"):
    tenant = db_session.get(Tenant, business.tenant.id)
    tenant.contact_email, tenant.contact_phone = email, phone
    db_session.commit()
    business.tenant = tenant
    return tenant


def rows(db_session, business, **where) -> list[OutboundEmail]:
    with as_tenant(business.tenant.id):
        query = select(OutboundEmail).filter_by(**where).order_by(OutboundEmail.id)
        found = db_session.scalars(query).all()
        for row in found:
            db_session.refresh(row)
        return found


# --- headers ------------------------------------------------------------------------------


def test_every_message_has_date_message_id_and_reply_to_and_a_retry_is_the_same_message(
    app, business, db_session, mailbox, runner
):
    contact(db_session, business)
    with app.app_context(), as_tenant(business.tenant.id):
        app.config["MAIL_PORT"], port = 1, app.config["MAIL_PORT"]  # the server is down
        try:
            message = queue_email(db_session, "retry@example.com", "Hello", "Body")
            db_session.commit()
            assert deliver_pending(db_session) == 0
        finally:
            app.config["MAIL_PORT"] = port
        assert deliver_pending(db_session, now=utcnow() + BACKOFF[0]) == 1
        # The sender died after sending (say): the message is requeued and goes out again.
        db_session.refresh(message)
        message.status, message.claimed_at = "sending", utcnow() - timedelta(hours=1)
        db_session.commit()
    assert runner.invoke(args=["prepbase", "send-mail"]).exit_code == 0

    first, again = mailbox.to("retry@example.com")
    db_session.refresh(message)
    assert message.message_id == first["Message-ID"] == again["Message-ID"]
    assert re.fullmatch(r"<[^<>@\s]+@localhost>", message.message_id)  # MAIL_FROM's domain
    assert first["Date"] == again["Date"]
    assert parsedate_to_datetime(first["Date"]) == message.created_at.replace(microsecond=0)
    assert first["Reply-To"] == "Acme Tutoring <office@acme.example.com>"
    assert (message.status, message.attempts) == ("sent", 3)


def test_reply_to_follows_the_contact_email_in_settings(client, auth, business, mailbox):
    auth.as_role(business, "admin")
    response = client.post(
        "/acme/admin/settings",
        data={
            "name": "Acme Tutoring",
            "timezone": "America/New_York",
            "low_balance_hours": "2",
            "contact_email": "Front.Desk@Acme.example.com",
            "contact_phone": "",
        },
    )
    assert response.status_code == 303, text(response)
    auth.logout(business)
    client.post("/acme/forgot-password", data={"email": business.parent.email})
    [message] = mailbox.to(business.parent.email)
    assert message["Reply-To"] == "Acme Tutoring <front.desk@acme.example.com>"
    assert message["Message-ID"] and message["Date"]


def test_each_message_has_a_text_and_an_html_part_and_the_html_is_escaped(
    client, auth, business, world, db_session, mailbox
):
    with world.scope():
        student = db_session.get(Student, business.students[0].id)
        student.first_name = "<script>alert(1)</script>"
    world.package("10")
    auth.as_role(business, "tutor")
    response = client.post(
        "/acme/tutor/sessions/new",
        data={
            "student": str(business.students[0].id),
            "service": "tutoring",
            "staff": str(business.tutor.id),
            "date": local_day(5).isoformat(),
            "start_time": "15:00",
            "duration": "1",
        },
    )
    assert response.status_code == 303, text(response)
    [message] = mailbox.to(business.parent.email)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]
    plain, html = mailbox.body(message), mailbox.html(message)
    # The text part is not HTML: the name is as written there, and escaped in the HTML.
    assert "<script>alert(1)</script> Acme's tutoring session with Tara Tutor" in plain
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme&#39;s tutoring session" in html
    accept = re.search(r"Accept: (\S+)", plain).group(1)
    assert f'href="{accept.replace("&", "&amp;")}"' in html and ">Accept</a>" in html
    assert message["Subject"] == "Tara Tutor proposed a session for <script>alert(1)</script>"


def test_a_name_cannot_smuggle_a_header_into_the_subject(app, world, business, db_session, mailbox):
    with world.scope():
        student = db_session.get(Student, business.students[0].id)
        student.first_name = "Ada\r\nBcc: thief@evil.example"
    world.propose()
    with app.app_context(), as_tenant(business.tenant.id):
        assert deliver_pending(db_session) == 3
    for message in mailbox.messages:
        assert message["Bcc"] is None
        assert message["Subject"] == "Tara Tutor proposed a session for Ada Bcc: thief@evil.example"
    assert "thief@evil.example" not in {m["To"] for m in mailbox.messages}


def test_families_see_the_contact_details_on_screen_and_in_mail(
    client, auth, business, world, db_session
):
    contact(db_session, business)
    world.package("3")
    world.book(60)  # 2 hours left: at the line, the family is e-mailed
    [mail, *_] = rows(db_session, business, to_addr=business.parent.email)
    assert (
        "To keep sessions going, contact Acme Tutoring about a renewal package. "
        "E-mail office@acme.example.com or call +1 (555) 010-0100." in mail.body
    )
    assert 'href="mailto:office@acme.example.com"' in mail.html_body
    assert 'href="tel:+15550100100"' in mail.html_body
    auth.as_role(business, "parent")
    page = text(client.get("/acme/family/"))
    assert 'Contact Acme Tutoring to buy more hours. <span class="how-to-reach">E-mail ' in page
    assert '<a href="mailto:office@acme.example.com">office@acme.example.com</a>' in page
    assert '<a href="tel:+15550100100">+1 (555) 010-0100</a>' in page
    buy = text(client.get("/acme/family/buy"))
    assert "Contact Acme Tutoring to buy more hours. " in buy and "mailto:office@acme" in buy


# --- Settings: the business's contact e-mail and phone --------------------------------------


def test_sign_up_starts_with_the_owners_email_as_contact(business):
    assert business.tenant.contact_email == "owner@acme.example.com"
    assert business.tenant.contact_phone is None


def test_settings_save_and_validate_the_contact_email_and_phone(admin_client, business, db_session):
    page = text(admin_client.get("/acme/admin/settings"))
    assert '<label for="contact_email">Contact e-mail</label>' in page
    assert '<label for="contact_phone">Contact phone (optional)</label>' in page
    assert 'value="owner@acme.example.com"' in page
    good = {"name": "Acme Tutoring", "timezone": "America/New_York", "low_balance_hours": "2"}
    for contact_email, phone, message in (
        ("not-an-email", "", "Enter a valid e-mail address."),
        ("", "", "This field is required."),
        ("office@acme.example.com", "call me", "Enter a phone number"),
        ("office@acme.example.com", "+1 555 010 0100 ext 4", "Enter a phone number"),
        ("office@acme.example.com", "12", "Enter a phone number"),
        ("office@acme.example.com", "١٢٣٤٥٦٧", "Enter a phone number"),
    ):
        data = {**good, "contact_email": contact_email, "contact_phone": phone}
        bad = admin_client.post("/acme/admin/settings", data=data)
        assert bad.status_code == 422, (contact_email, phone)
        assert message in text(bad)
    tenant = db_session.get(Tenant, business.tenant.id)
    db_session.refresh(tenant)
    assert (tenant.contact_email, tenant.contact_phone) == ("owner@acme.example.com", None)
    data = {**good, "contact_email": "office@acme.example.com", "contact_phone": " 030  1234-567 "}
    assert admin_client.post("/acme/admin/settings", data=data).status_code == 303
    db_session.refresh(tenant)
    assert (tenant.contact_email, tenant.contact_phone) == (
        "office@acme.example.com",
        "030 1234-567",
    )


@pytest.fixture
def admin_client(client, auth, business):
    auth.as_role(business, "admin")
    return client


# --- retries with backoff -------------------------------------------------------------------


def test_a_failed_message_is_retried_later_each_time_then_marked_failed(
    app, business, db_session, mailbox
):
    with app.app_context(), as_tenant(business.tenant.id):
        message = queue_email(db_session, "refused-always@example.com", "Never", "Body")
        db_session.commit()
        now = utcnow()
        waits = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert deliver_pending(db_session, now=now) == 0
            db_session.refresh(message)
            assert message.attempts == attempt
            if attempt == MAX_ATTEMPTS:
                break
            assert message.status == "pending"
            waits.append(message.next_attempt_at - now)
            # Not a moment before its time, by a request or by send-mail alike.
            assert deliver_pending(db_session, now=message.next_attempt_at - timedelta(1e-3)) == 0
            db_session.refresh(message)
            assert message.attempts == attempt
            now = message.next_attempt_at
    assert waits == list(BACKOFF)
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 5, 30, 120)]
    assert (message.status, message.attempts, message.next_attempt_at) == (
        "failed",
        MAX_ATTEMPTS,
        None,
    )
    assert "No such user" in message.last_error
    with app.app_context(), as_tenant(business.tenant.id):
        assert deliver_pending(db_session, now=now + timedelta(days=30)) == 0
    assert mailbox.messages == []


def test_a_request_sends_its_mail_but_not_a_retry_that_is_not_due(
    app, client, business, db_session, mailbox
):
    with app.app_context(), as_tenant(business.tenant.id):
        waiting = queue_email(db_session, "later@example.com", "Later", "Body")
        waiting.attempts, waiting.next_attempt_at = 1, utcnow() + timedelta(minutes=5)
        due = queue_email(db_session, "due@example.com", "Due", "Body")
        due.attempts, due.next_attempt_at = 1, utcnow() - timedelta(seconds=1)
        db_session.commit()
    client.post("/acme/forgot-password", data={"email": business.parent.email})
    assert sorted(m["To"] for m in mailbox.messages) == ["due@example.com", business.parent.email]
    db_session.refresh(waiting)
    assert (waiting.status, waiting.attempts) == ("pending", 1)


def test_a_claim_left_by_a_dead_sender_on_its_last_attempt_ends_failed(
    app, business, db_session, runner
):
    with app.app_context(), as_tenant(business.tenant.id):
        message = queue_email(db_session, "last@example.com", "Last", "Body")
        db_session.flush()
        message.status, message.attempts = "sending", MAX_ATTEMPTS
        message.claimed_at = utcnow() - timedelta(hours=1)
        db_session.commit()
    assert runner.invoke(args=["prepbase", "send-mail"]).exit_code == 0
    db_session.refresh(message)
    assert message.status == "failed"  # not pending forever with no attempt left


# --- Settings → E-mail ------------------------------------------------------------------------


@pytest.fixture
def bounced(app, business, other_business, db_session):
    """A message of each business that failed for good (tests.factories.add_hours_rows)."""
    with app.app_context():
        add_hours_rows(db_session, business)
        add_hours_rows(db_session, other_business)
    return business.extra["message_id"], other_business.extra["message_id"]


def test_admins_see_the_failed_messages_and_resend_one(
    admin_client, business, db_session, mailbox, bounced
):
    mine, theirs = bounced
    settings = text(admin_client.get("/acme/admin/settings"))
    assert "1 message could not be delivered." in settings
    assert 'href="/acme/admin/settings/email"' in settings
    page = text(admin_client.get("/acme/admin/settings/email"))
    assert "gone@acme.example.com" in page and "gone@rival.example.com" not in page
    row = re.search(rf'<tr id="email-{mine}">(.*?)</tr>', page, re.S).group(1)
    assert "Bounced" in row and f"<td>{MAX_ATTEMPTS}</td>" in row and "550 gone" in row
    assert f'action="/acme/admin/settings/email/{mine}/resend"' in row

    response = admin_client.post(f"/acme/admin/settings/email/{mine}/resend")
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/admin/settings/email"
    [message] = mailbox.to("gone@acme.example.com")  # sent after the request committed
    [row] = rows(db_session, business, id=mine)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert message["Message-ID"] == row.message_id
    assert "is being sent again" in text(admin_client.get("/acme/admin/settings/email"))
    again = admin_client.post(f"/acme/admin/settings/email/{mine}/resend")
    assert again.status_code == 303
    assert "not waiting to be resent" in text(admin_client.get("/acme/admin/settings/email"))
    assert len(mailbox.to("gone@acme.example.com")) == 1


def test_another_business_message_cannot_be_resent(
    admin_client, other_business, db_session, mailbox, bounced
):
    mine, theirs = bounced
    assert admin_client.post(f"/acme/admin/settings/email/{theirs}/resend").status_code == 404
    assert admin_client.post("/acme/admin/settings/email/999999/resend").status_code == 404
    [row] = rows(db_session, other_business, id=theirs)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert mailbox.messages == []


def test_resend_needs_csrf_and_an_admin(client, auth, business, db_session, bounced):
    mine, _ = bounced
    auth.as_role(business, "admin")
    client.send_csrf = False  # the same signed-in browser, without the token
    assert client.post(f"/acme/admin/settings/email/{mine}/resend").status_code == 400
    client.send_csrf = True
    auth.logout(business)
    auth.as_role(business, "tutor")
    assert client.post(f"/acme/admin/settings/email/{mine}/resend").status_code == 403
    assert client.get("/acme/admin/settings/email").status_code == 403
    [row] = rows(db_session, business, id=mine)
    assert row.status == "failed"


# --- TLS to the SMTP server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """Self-signed certificates: one for 127.0.0.1, one for another host name."""
    folder = tmp_path_factory.mktemp("tls")
    made = {}
    for name, alt in (("loopback", "IP:127.0.0.1"), ("elsewhere", "DNS:mail.elsewhere.test")):
        cert, key = folder / f"{name}.pem", folder / f"{name}.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", f"/CN={name}", "-addext", f"subjectAltName={alt}"],
            check=True, capture_output=True,
        )  # fmt: skip
        made[name] = (cert, key)
    return made


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request, app, certificates, monkeypatch):
    """An SMTP server on loopback that speaks STARTTLS (or SSL) with a self-signed
    certificate; yields (use the certificate named…, mailbox)."""
    servers = []

    def start(name: str) -> tuple[Mailbox, str]:
        cert, key = certificates[name]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        collector = _Collector()
        kwargs = (
            {"tls_context": context, "require_starttls": True}
            if request.param == "starttls"
            else {"ssl_context": context}
        )
        controller = Controller(collector, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        servers.append(controller)
        monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
        monkeypatch.setitem(app.config, "MAIL_USE_TLS", request.param == "starttls")
        monkeypatch.setitem(app.config, "MAIL_USE_SSL", request.param == "ssl")
        return Mailbox(collector), str(cert)

    yield start
    for controller in servers:
        controller.stop()


def send_one(app, db_session, business) -> OutboundEmail:
    with app.app_context(), as_tenant(business.tenant.id):
        message = queue_email(db_session, "secure@example.com", "Over TLS", "Body")
        db_session.commit()
        deliver_pending(db_session)
        db_session.refresh(message)
    return message


def test_a_self_signed_smtp_certificate_is_refused(app, business, db_session, tls_server):
    mailbox, _ = tls_server("loopback")
    message = send_one(app, db_session, business)
    assert mailbox.messages == []
    assert (message.status, message.attempts) == ("pending", 1)
    assert "CERTIFICATE_VERIFY_FAILED" in message.last_error


def test_the_smtp_certificate_must_name_the_host(
    app, business, db_session, tls_server, monkeypatch
):
    mailbox, cert = tls_server("elsewhere")
    monkeypatch.setitem(app.config, "MAIL_CA_FILE", cert)  # trusted, but for another host
    message = send_one(app, db_session, business)
    assert mailbox.messages == []
    assert message.status == "pending"
    assert "CERTIFICATE_VERIFY_FAILED" in message.last_error
    assert "127.0.0.1" in message.last_error  # "IP address mismatch … '127.0.0.1'"


def test_mail_goes_out_over_tls_with_the_configured_ca(
    app, business, db_session, tls_server, monkeypatch
):
    mailbox, cert = tls_server("loopback")
    monkeypatch.setitem(app.config, "MAIL_CA_FILE", cert)
    message = send_one(app, db_session, business)
    assert [m["Subject"] for m in mailbox.messages] == ["Over TLS"]
    assert (message.status, message.last_error) == ("sent", None)


# --- links --------------------------------------------------------------------------------


def test_jobs_link_from_public_base_url(app, world, business, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://app.example.com/")
    world.package("10")
    ts = world.book(60, starts_at=utcnow() + timedelta(hours=3), now=utcnow())
    with world.scope():
        assert send_due_reminders(db_session, business.tenant) == 1
    reminder = next(
        m
        for m in rows(db_session, business, to_addr=business.parent.email)
        if m.subject.startswith("Reminder")
    )
    assert f"Your dashboard: https://app.example.com/acme/family/#session-{ts.id}" in reminder.body


def test_links_ignore_a_forged_host_when_public_base_url_is_set(app, monkeypatch):
    with app.test_request_context("/acme/forgot-password", headers={"Host": "evil.example"}):
        assert external_url("tenant.auth.login", tenant_slug="acme") == (
            "http://evil.example/acme/login"  # development: the request's host
        )
        monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://app.example.com/")
        assert external_url("tenant.auth.login", tenant_slug="acme", anchor="top") == (
            "https://app.example.com/acme/login#top"
        )
