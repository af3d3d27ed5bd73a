"""Configuration from the environment, the CLI commands, and the mail outbox."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from config import ConfigError, load_config
from prepbase import create_app
from prepbase.mail.outbox import MAX_ATTEMPTS, deliver_pending, queue_email
from prepbase.models import OutboundEmail, utcnow
from prepbase.tenancy import as_tenant

# --- configuration -------------------------------------------------------------------


@pytest.fixture
def production_env(monkeypatch) -> None:
    """What production needs, and nothing left over from the machine's environment."""
    for name in ("SECRET_KEY_FALLBACKS", "ALLOWED_HOSTS", "TRUSTED_PROXIES", "INSECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://app.example.com")


@pytest.mark.parametrize(
    "secret",
    [
        None,
        "",
        "dev",
        "short-secret",
        "x" * 64,  # one character repeated
        "ab" * 32,  # too few different characters
        "0123456789abcdef" * 4,  # a short block repeated
    ],
)
def test_production_refuses_to_start_without_a_real_secret(monkeypatch, production_env, secret):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app("production")


def test_production_refuses_a_weak_former_key(monkeypatch, production_env):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f"{secrets.token_hex(32)},{'y' * 64}")
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS"):
        load_config("production")


def test_former_keys_are_read_for_rotation(monkeypatch, production_env):
    old = [secrets.token_hex(32), secrets.token_urlsafe(32)]
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f" {old[0]} , {old[1]},")
    assert load_config("production")["SECRET_KEY_FALLBACKS"] == old
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert load_config("production")["SECRET_KEY_FALLBACKS"] == []


def test_production_refuses_to_start_without_public_base_url(monkeypatch, production_env):
    monkeypatch.delenv("PUBLIC_BASE_URL")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        create_app("production")


@pytest.mark.parametrize(
    "url",
    [
        "app.example.com",
        "ftp://app.example.com",
        "https://",
        "https://app.example.com/prepbase",
        "https://app.example.com/?next=x",
        "https://user:pw@app.example.com",
        "https://app.example.com:99999",
    ],
)
def test_production_refuses_a_public_base_url_that_is_not_scheme_and_host(
    monkeypatch, production_env, url
):
    monkeypatch.setenv("PUBLIC_BASE_URL", url)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_config("production")


def test_production_settings(monkeypatch, production_env, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.internal/prepbase")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://App.Example.com:8443/")
    monkeypatch.setenv("ALLOWED_HOSTS", "internal.example, ,10.0.0.5")
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    config = load_config("production")
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.internal/prepbase"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert config["MAIL_BACKEND"] == "smtp"
    assert config["PUBLIC_BASE_URL"] == "https://App.Example.com:8443"
    assert config["TRUSTED_HOSTS"] == ["app.example.com", "internal.example", "10.0.0.5"]
    assert config["TRUSTED_PROXIES"] == 2
    assert config["HSTS_VALUE"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("value", ["one", "-1", "1.5", "١"])
def test_trusted_proxies_must_be_a_whole_number(monkeypatch, production_env, value):
    monkeypatch.setenv("TRUSTED_PROXIES", value)
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_config("production")


def test_development_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr("config.INSTANCE_DIR", tmp_path)
    for name in ("PUBLIC_BASE_URL", "TRUSTED_PROXIES", "INSECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    config = load_config("development")
    assert str(config["SQLALCHEMY_DATABASE_URI"]).startswith(f"sqlite:///{tmp_path}")
    assert config["MAIL_BACKEND"] == "console"
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SESSION_COOKIE_SECURE"] is False
    # links follow the request's host, every host is answered, plain http is fine
    assert config["PUBLIC_BASE_URL"] is None
    assert config["TRUSTED_HOSTS"] is None
    assert config["HSTS_VALUE"] is None
    assert config["TRUSTED_PROXIES"] == 0
    # the generated key is kept, so every worker and restart shares it
    assert load_config("development")["SECRET_KEY"] == config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError):
        load_config("staging")


LIMIT_SCRIPT = """
import sys
from prepbase import create_app
from prepbase.extensions import db
from prepbase.business import signup_business
from tests.conftest import CSRFClient

app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1],
                 RATELIMIT_STORAGE_URI=sys.argv[2], LOGIN_RATE_LIMIT="3 per minute",
                 RATELIMIT_KEY_PREFIX=sys.argv[4],
                 PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
app.test_client_class = CSRFClient
with app.app_context():
    if sys.argv[3] == "setup":
        db.metadata.create_all(db.engine)
        signup_business(db.session, business_name="Limit", slug="limit",
            timezone="UTC", admin_name="L", email="l@example.com", password="long-enough-pw")
        db.session.commit()
        sys.exit(0)
client = app.test_client()
for _ in range(int(sys.argv[3])):
    wrong = {"email": "l@example.com", "password": "wrong-password"}
    print(client.post("/limit/login", data=wrong).status_code)
"""


def test_rate_limit_counters_are_shared_through_redis(tmp_path):
    """With REDIS_URL two app processes count sign-in attempts together."""
    import os
    import subprocess
    import sys
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/15"
    prefix = f"prepbase-test-{uuid.uuid4().hex}"  # its own counters: runs may overlap
    server = redis.Redis.from_url(url)
    try:
        server.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis must run in CI")
        pytest.skip("no Redis on 127.0.0.1:6379")
    database = f"sqlite:///{tmp_path / 'limits.sqlite3'}"

    def run(arg: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", LIMIT_SCRIPT, database, url, arg, prefix],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.split()

    try:
        run("setup")
        assert run("2") == ["422", "422"]  # first process: two wrong passwords
        assert run("2") == ["422", "429"]  # second process: the third attempt is the limit
        assert server.keys(f"*{prefix}*")
    finally:
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)


REDIS_DOWN_SCRIPT = """
import sys
from prepbase import create_app
from prepbase.extensions import db
from prepbase.business import signup_business
from tests.conftest import CSRFClient

# RATELIMIT_STORAGE_URI comes from REDIS_URL, as in production.
app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1], LOGIN_RATE_LIMIT="3 per minute",
                 MAIL_BACKEND="console", PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
app.test_client_class = CSRFClient
with app.app_context():
    db.metadata.create_all(db.engine)
    signup_business(db.session, business_name="Limit", slug="limit",
        timezone="UTC", admin_name="L", email="l@example.com", password="long-enough-pw")
    db.session.commit()
app.testing = False  # errors become error pages, as for a real server
client = app.test_client()
wrong = {"email": "l@example.com", "password": "wrong-password"}
print(*[client.post("/limit/login", data=wrong).status_code for _ in range(4)])
print(client.post("/limit/forgot-password", data={"email": "l@example.com"}).status_code)
print(client.post("/signup", data={"business_name": "Summit Prep", "slug": "summit-prep",
    "timezone": "America/Chicago", "admin_name": "Sue Summit", "email": "sue@example.com",
    "password": "long-enough-pw", "confirm": "long-enough-pw"}).status_code)
"""


def test_redis_down_falls_back_to_counting_in_memory(tmp_path):
    """REDIS_URL set but nothing listening: sign-in, reset and sign-up still answer, the
    limits still hold (in this process), and the log says why."""
    import os
    import subprocess
    import sys

    from tests.conftest import free_port

    env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    done = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN_SCRIPT, f"sqlite:///{tmp_path / 'down.sqlite3'}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["422 422 422 429", "200", "303"], done.stderr
    assert "falling back to in-memory storage" in done.stderr


# --- CLI ------------------------------------------------------------------------------


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


def test_seed_demo_creates_every_role_once(runner, client):
    result = runner.invoke(args=["prepbase", "seed-demo"])
    assert result.exit_code == 0, result.output
    for email in (
        "owner@brightpath.example.com",
        "maya@brightpath.example.com",
        "priya@brightpath.example.com",
        "ana.garcia@example.com",
        "ethan.johnson@example.com",
    ):
        assert email in result.output
    again = runner.invoke(args=["prepbase", "seed-demo", "--if-missing"])
    assert again.exit_code == 0 and "exists already" in again.output
    twice = runner.invoke(args=["prepbase", "seed-demo"])
    assert twice.exit_code != 0
    for email, landing in (
        ("owner@brightpath.example.com", "/demo/admin/"),
        ("sam@brightpath.example.com", "/demo/tutor/"),
        ("priya@brightpath.example.com", "/demo/tutor/"),
        ("dan.smith@example.com", "/demo/family/"),
        ("ethan.johnson@example.com", "/demo/family/"),
    ):
        response = client.post("/demo/login", data={"email": email, "password": "prepbase-demo"})
        assert response.headers["Location"] == landing
        client.post("/demo/logout")
    # the demo shows every screen with something on it
    client.post(
        "/demo/login", data={"email": "ana.garcia@example.com", "password": "prepbase-demo"}
    )
    family = client.get("/demo/family/").get_data(as_text=True)
    assert "Quadratic equations" in family  # a completed session's action plan
    assert "Accept" in family and "running low" in family.lower()
    client.post("/demo/logout")
    client.post(
        "/demo/login", data={"email": "owner@brightpath.example.com", "password": "prepbase-demo"}
    )
    admin = client.get("/demo/admin/").get_data(as_text=True)
    assert "Running low" in admin and "SAT Intensive" in admin


# --- mail outbox --------------------------------------------------------------------------


def test_mail_that_fails_stays_pending_and_send_mail_retries(
    app, business, db_session, mailbox, runner
):
    with app.app_context(), as_tenant(business.tenant.id):
        app.config["MAIL_PORT"], port = 1, app.config["MAIL_PORT"]  # nothing listens on port 1
        try:
            queue_email(db_session, "retry@example.com", "Hello", "Body")
            db_session.commit()
            assert deliver_pending(db_session) == 0
            message = db_session.scalar(
                select(OutboundEmail).where(OutboundEmail.to_addr == "retry@example.com")
            )
            assert (message.status, message.attempts) == ("pending", 1)
            assert message.last_error
        finally:
            app.config["MAIL_PORT"] = port
    with time_machine.travel(message.next_attempt_at, tick=True):  # its retry is due
        result = runner.invoke(args=["prepbase", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "1 e-mail(s) sent" in result.output
    assert [m["Subject"] for m in mailbox.to("retry@example.com")] == ["Hello"]
    db_session.refresh(message)
    assert message.status == "sent"
    assert runner.invoke(args=["prepbase", "send-mail"]).output.startswith("0 e-mail")


def test_a_batch_goes_over_one_connection_and_a_refused_address_fails_alone(
    app, business, db_session, mailbox
):
    addresses = ("one@example.com", "refused@example.com", "two@example.com")
    with app.app_context(), as_tenant(business.tenant.id):
        for address in addresses:
            queue_email(db_session, address, "Batch", "Body")
        db_session.commit()
        assert deliver_pending(db_session) == 2
        batch = select(OutboundEmail).where(OutboundEmail.subject == "Batch")
        rows = {m.to_addr: m for m in db_session.scalars(batch)}
    assert [m["To"] for m in mailbox.messages] == ["one@example.com", "two@example.com"]
    assert mailbox.connections == 1
    assert rows["one@example.com"].status == rows["two@example.com"].status == "sent"
    refused = rows["refused@example.com"]
    assert (refused.status, refused.attempts) == ("pending", 1)
    assert "No such user" in refused.last_error


def test_a_message_that_keeps_failing_stops_being_retried(app, business, db_session, mailbox):
    with app.app_context(), as_tenant(business.tenant.id):
        queue_email(db_session, "refused-always@example.com", "Never", "Body")
        db_session.commit()
        for attempt in range(MAX_ATTEMPTS + 2):  # each try when the previous one's wait is over
            assert deliver_pending(db_session, now=utcnow() + timedelta(days=attempt)) == 0
        message = db_session.scalar(select(OutboundEmail).where(OutboundEmail.subject == "Never"))
        db_session.refresh(message)
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)


def test_mail_is_not_sent_for_a_refused_action(client, auth, business, mailbox, db_session):
    auth.as_role(business, "admin")
    client.post(
        f"/acme/admin/families/{business.family.id}/parents",
        data={"name": "X", "email": business.parent.email},
    )
    assert mailbox.messages == []
    with as_tenant(business.tenant.id):
        assert db_session.scalars(select(OutboundEmail)).all() == []


@pytest.mark.tampers_ledger
def test_audit_and_renew_commands(app, business, db_session, runner):
    from datetime import date

    from sqlalchemy import text

    from prepbase import packages
    from prepbase.models import Package

    with app.app_context(), as_tenant(business.tenant.id):
        package = packages.assign_package(
            db_session,
            business.admin,
            business.students[0],
            name="Weekly",
            service="tutoring",
            package_type="recurring",
            period="weekly",
            minutes=120,
            start_date=date(2026, 1, 5),
        )
        db_session.commit()
    result = runner.invoke(args=["prepbase", "renew", "--today", "2026-01-13"])
    assert result.exit_code == 0, result.output
    assert "1 renewal(s)" in result.output
    again = runner.invoke(args=["prepbase", "renew", "--today", "2026-01-13"])
    assert "0 renewal(s)" in again.output
    clean = runner.invoke(args=["prepbase", "audit"])
    assert clean.exit_code == 0 and "every balance matches" in clean.output
    db_session.execute(
        text("UPDATE package SET remaining_minutes = 7 WHERE id = :id"), {"id": package.id}
    )
    db_session.commit()
    broken = runner.invoke(args=["prepbase", "audit"])
    assert broken.exit_code != 0
    assert f"package {package.id}" in broken.output
    with app.app_context(), as_tenant(business.tenant.id):
        assert db_session.get(Package, package.id) is not None


def test_send_mail_requeues_a_message_whose_sender_died(app, business, db_session, mailbox, runner):
    from datetime import timedelta

    from prepbase.models import utcnow

    with app.app_context(), as_tenant(business.tenant.id):
        stuck = queue_email(db_session, "stuck@example.com", "Stuck", "Body")
        fresh = queue_email(db_session, "busy@example.com", "Busy", "Body")
        db_session.flush()
        stuck.status, stuck.claimed_at, stuck.attempts = "sending", utcnow() - timedelta(hours=1), 1
        fresh.status, fresh.claimed_at, fresh.attempts = "sending", utcnow(), 1
        db_session.commit()
    result = runner.invoke(args=["prepbase", "send-mail"])
    assert result.exit_code == 0, result.output
    assert [m["Subject"] for m in mailbox.to("stuck@example.com")] == ["Stuck"]
    assert mailbox.to("busy@example.com") == []  # another sender may still be at it
    db_session.refresh(stuck)
    db_session.refresh(fresh)
    assert (stuck.status, fresh.status) == ("sent", "sending")
