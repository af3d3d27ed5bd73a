"""Test fixtures: one migrated database per run, a rolled-back transaction per test.

`PREPBASE_TEST_DB=sqlite` (default) uses a temporary SQLite file; `postgres` uses
`TEST_DATABASE_URL` and fails the run when that server cannot be reached.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from prepbase import create_app
from prepbase.extensions import db, limiter
from tests import clock
from tests.factories import Business, make_business

TEST_DB = os.environ.get("PREPBASE_TEST_DB", "sqlite")

pytest_plugins = ["tests.fake_stripe"]  # the fake Stripe API and its fixtures


def pytest_configure(config: pytest.Config) -> None:
    traveller = clock.start()  # PREPBASE_TEST_CLOCK, see tests/clock.py
    if traveller is not None:
        config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = clock.pinned_moment()
    return f"clock pinned at {moment:%Y-%m-%d %H:%M} UTC (PREPBASE_TEST_CLOCK)" if moment else None


# --- e-mail: a real SMTP server on loopback --------------------------------------------


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.peers: list[tuple[str, int]] = []  # the connection each message came over
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):  # a mailbox that does not exist
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.peers.append(session.peer)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, _Collector]]:
    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, collector
    controller.stop()


class Mailbox:
    """What the loopback SMTP server received during one test."""

    def __init__(self, collector: _Collector) -> None:
        self._collector = collector
        with collector.lock:
            collector.messages.clear()
            collector.peers.clear()

    @property
    def connections(self) -> int:
        """How many SMTP connections the messages came over."""
        with self._collector.lock:
            return len(set(self._collector.peers))

    @property
    def messages(self) -> list[Message]:
        with self._collector.lock:
            return list(self._collector.messages)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def body(self, message: Message) -> str:
        """The plain-text part (the whole body of a single-part message)."""
        return self._part(message, "text/plain")

    def html(self, message: Message) -> str:
        """The HTML alternative."""
        return self._part(message, "text/html")

    @staticmethod
    def _part(message: Message, content_type: str) -> str:
        for part in message.walk():
            if part.get_content_type() == content_type:
                return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        raise AssertionError(f"no {content_type} part in {message['Subject']!r}")

    def link(self, address: str, pattern: str = r"https?://\S+/(?:invite|reset)/\S+") -> str:
        found = self.to(address)
        assert found, f"no e-mail to {address}; got {[m['To'] for m in self.messages]}"
        match = re.search(pattern, self.body(found[-1]))
        assert match, self.body(found[-1])
        return match.group(0)


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    return Mailbox(smtp_server[1])


# --- the database ------------------------------------------------------------------------


def _postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.exit("PREPBASE_TEST_DB=postgres needs TEST_DATABASE_URL", returncode=1)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    try:
        if worker:  # pytest -n: each worker migrates and uses a database of its own
            url = _worker_database(url, worker)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            conn.commit()
        engine.dispose()
    except sa.exc.OperationalError as exc:
        pytest.exit(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc}", returncode=1)
    return url


def _worker_database(url: str, worker: str) -> str:
    """`<database>_<worker>` on the same server, created when missing."""
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DB == "postgres":
        return _postgres_url()
    if TEST_DB != "sqlite":
        pytest.exit(f"PREPBASE_TEST_DB must be sqlite or postgres, not {TEST_DB}", returncode=1)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def app_config(database_url: str, smtp_port: int, **overrides: object) -> dict[str, object]:
    config: dict[str, object] = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_BACKEND": "smtp",
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": None,
        # The test receivers listen on 127.0.0.1 (tests/test_webhooks_out.py turns it off).
        "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": True,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def app(database_url, smtp_server, tmp_path_factory) -> Iterator[Flask]:
    from flask_migrate import upgrade

    os.environ["PREPBASE_INSTANCE_DIR"] = str(tmp_path_factory.mktemp("instance"))
    application = create_app("testing", **app_config(database_url, smtp_server[0].port))
    application.test_client_class = CSRFClient
    with application.app_context():
        upgrade()  # the schema comes from the migrations, never from create_all()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_limits(app) -> None:
    with app.app_context():
        limiter.reset()


@pytest.fixture
def db_session(app, request) -> Iterator[sa.orm.Session]:
    """Everything the test and its requests write is rolled back at the end.

    One connection holds an outer transaction; the requests' sessions and the test's
    own session (returned here) both bind to it, so `commit()` only releases a
    SAVEPOINT. No app context stays pushed, so every request gets its own, as in
    production. The test's objects go stale after a request: `refresh()` them.
    """
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    factory = db.session.session_factory
    saved = dict(factory.kw)
    factory.kw.update(bind=connection, join_transaction_mode="create_savepoint")
    session = factory()
    try:
        yield session
        # Every scenario ends with the ledger audit (`flask prepbase audit`): each
        # package's balance equals its entries and is not negative.
        if not request.node.get_closest_marker("tampers_ledger"):
            from prepbase.hours import audit

            session.rollback()  # a test may leave a failed transaction behind
            assert audit(session) == [], "ledger audit failed after this test"
    finally:
        session.close()
        factory.kw.clear()
        factory.kw.update(saved)
        outer.rollback()
        connection.close()


# --- clients -----------------------------------------------------------------------------


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF header with every state-changing request."""

    send_csrf = True

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            if "csrf_token" not in sess:
                sess["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()
            raw = sess["csrf_token"]
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        method = kwargs.get("method", "GET").upper()
        if self.send_csrf and method not in {"GET", "HEAD", "OPTIONS"}:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db_session) -> CSRFClient:
    return app.test_client()


@pytest.fixture
def raw_client(app, db_session) -> CSRFClient:
    """A client that sends no CSRF token at all."""
    c = app.test_client()
    c.send_csrf = False
    return c


@pytest.fixture
def business(app, db_session) -> Business:
    with app.app_context():
        return make_business(db_session, "acme")


@pytest.fixture
def other_business(app, db_session) -> Business:
    with app.app_context():
        return make_business(db_session, "rival")


@dataclass
class Auth:
    client: CSRFClient

    def login(self, business: Business, email: str, password: str | None = None):
        return self.client.post(
            f"/{business.tenant.slug}/login",
            data={"email": email, "password": password or business.password},
        )

    def as_role(self, business: Business, role: str):
        response = self.login(business, business.user(role).email)
        assert response.status_code in (302, 303), response.get_data(as_text=True)
        return response

    def logout(self, business: Business):
        return self.client.post(f"/{business.tenant.slug}/logout")


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


# --- committed data (concurrency and multi-process tests) -------------------------------

RACE_POOL = 25


def _patient_sqlite(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA busy_timeout=120000")
    cursor.close()


@pytest.fixture
def engine(app, database_url) -> Iterator[sa.Engine]:
    """A separate engine: its connections see only what was committed."""
    if database_url.startswith("sqlite"):
        eng = sa.create_engine(database_url, connect_args={"check_same_thread": False})
        # The app waits 15 s for SQLite's one write lock; eight threads queueing for it on
        # a loaded two-core machine (parallel workers) may wait longer, and a test of who
        # wins a race must not fail on how long the loser waited.
        sa.event.listen(eng, "connect", _patient_sqlite)
    else:
        eng = sa.create_engine(database_url, pool_size=RACE_POOL, max_overflow=0)
    yield eng
    eng.dispose()


@pytest.fixture
def committed(app, engine) -> Iterator[Business]:
    """A business whose rows are committed, removed again after the test."""
    import uuid

    from sqlalchemy.orm import Session

    from prepbase.models import Tenant

    slug = f"race-{uuid.uuid4().hex[:10]}"
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        business = make_business(session, slug)
    yield business
    with engine.begin() as conn:
        conn.execute(sa.delete(Tenant).where(Tenant.id == business.tenant.id))
