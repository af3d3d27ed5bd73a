"""Reads run without a transaction, writes in one (`prepbase.transactions`), and a pooled
connection that died is replaced without an error page (`prepbase.retry`).

What the database driver does is watched through SQLAlchemy's cursor events on the app's
own engine: the statements sent, and whether the driver holds a transaction open after
each (psycopg sends BEGIN itself before the first statement when not in autocommit;
SQLite's is the app's `BEGIN IMMEDIATE`). These tests serve requests on committed data
(the `committed` business), not through the rolled-back test connection, so the app's
sessions choose their connections as in production.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask, g
from sqlalchemy import event, select, update

from prepbase import create_app
from prepbase.extensions import csrf, db
from prepbase.models import Family, Role, Tenant, User
from prepbase.tenancy import as_tenant
from prepbase.transactions import WriteInRead, writes_on_get
from tests.conftest import app_config
from tests.factories import Business


@dataclass
class Watch:
    """The statements the app's engine sent, and each one's transaction state after it."""

    statements: list[str] = field(default_factory=list)
    in_transaction: list[bool] = field(default_factory=list)

    def clear(self) -> None:
        self.statements.clear()
        self.in_transaction.clear()

    @property
    def begins(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith("BEGIN")]


def _driver_in_transaction(dbapi_connection: object) -> bool:
    if isinstance(dbapi_connection, psycopg.Connection):
        return dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    return bool(dbapi_connection.in_transaction)  # type: ignore[attr-defined]  # sqlite3


@pytest.fixture
def watch(app: Flask) -> Iterator[Watch]:
    seen = Watch()

    def before(conn, _cursor, statement, _params, _context, _many) -> None:
        seen.statements.append(statement)

    def after(conn, _cursor, _statement, _params, _context, _many) -> None:
        seen.in_transaction.append(_driver_in_transaction(conn.connection.dbapi_connection))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    yield seen
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)


def signed_in(app: Flask, business: Business, role: str = "parent"):
    client = app.test_client()
    response = client.post(
        f"/{business.tenant.slug}/login",
        data={"email": business.user(role).email, "password": business.password},
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    return client


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("role", "path"), [("parent", "/family/"), ("admin", "/admin/")])
def test_a_page_read_runs_without_a_transaction(app, committed, watch, method, role, path):
    client = signed_in(app, committed, role)
    watch.clear()
    response = client.open(f"/{committed.tenant.slug}{path}", method=method)
    assert response.status_code == 200
    assert watch.statements, "the page read nothing?"
    assert watch.begins == []
    assert not any(watch.in_transaction), list(
        zip(watch.statements, watch.in_transaction, strict=True)
    )


def test_the_signed_in_redirect_is_one_statement_and_no_transaction(app, committed, watch):
    client = signed_in(app, committed)
    watch.clear()
    response = client.get(f"/{committed.tenant.slug}/")
    assert response.status_code == 302
    assert len(watch.statements) == 1, watch.statements  # the business and the user
    assert watch.in_transaction == [False]


def test_a_post_still_runs_in_one_transaction(app, engine, committed, watch):
    client = signed_in(app, committed, "admin")
    watch.clear()
    response = client.post(f"/{committed.tenant.slug}/logout")
    assert response.status_code in (302, 303)
    assert watch.statements
    if engine.dialect.name == "sqlite":
        # The write lock, taken up front (sign-out commits, then reads in a new one).
        assert watch.begins and set(watch.begins) == {"BEGIN IMMEDIATE"}
    else:
        assert watch.begins == []  # psycopg sends BEGIN itself, with the first statement
    assert all(watch.in_transaction)


def test_a_read_does_not_wait_for_a_writer(app, engine, committed):
    """On SQLite the point of reading without BEGIN IMMEDIATE; on PostgreSQL a writer's
    table locks (every other writer would wait) let a page be read all the same."""
    client = signed_in(app, committed)
    with engine.connect() as writer:
        if engine.dialect.name == "sqlite":
            writer.exec_driver_sql("SELECT 1")  # its BEGIN IMMEDIATE holds the write lock
        else:
            writer.exec_driver_sql(
                "LOCK TABLE tenant, user_account, student, package, tutoring_session,"
                " ledger_entry IN EXCLUSIVE MODE"
            )
        started = time.monotonic()
        response = client.get(f"/{committed.tenant.slug}/family/")
        waited = time.monotonic() - started
        writer.rollback()
    assert response.status_code == 200
    assert waited < 5  # the busy timeout a transaction would have waited is 15 s


# --- a GET that writes -------------------------------------------------------------------


@pytest.fixture
def probe_app(database_url, smtp_server) -> Flask:
    """An app with three GET views that write: one marked, two not."""
    probe = create_app("testing", **app_config(database_url, smtp_server[0].port))

    def rename(tenant_id: int, name: str) -> str:
        tenant = db.session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.name = name
        db.session.commit()
        return "renamed"

    @probe.get("/probe/<int:tenant_id>/flush")
    def flush_in_get(tenant_id: int) -> str:
        return rename(tenant_id, "Renamed by a GET")

    @probe.get("/probe/<int:tenant_id>/update")
    def update_in_get(tenant_id: int) -> str:
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(name="Bulk"))
        db.session.commit()
        return "updated"

    @probe.get("/probe/<int:tenant_id>/marked")
    @writes_on_get
    def marked(tenant_id: int) -> str:
        g.marked = True
        return rename(tenant_id, "Renamed by a marked GET")

    return probe


def _name(engine: sa.Engine, tenant_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(select(Tenant.name).where(Tenant.id == tenant_id))


@pytest.mark.parametrize("what", ["flush", "update"])
def test_a_get_that_writes_is_refused_and_nothing_is_written(probe_app, engine, committed, what):
    before = _name(engine, committed.tenant.id)
    with pytest.raises(WriteInRead):  # TESTING: the error reaches the test, not a 500 page
        probe_app.test_client().get(f"/probe/{committed.tenant.id}/{what}")
    assert _name(engine, committed.tenant.id) == before


def test_a_get_marked_as_writing_runs_in_a_transaction(probe_app, engine, committed):
    response = probe_app.test_client().get(f"/probe/{committed.tenant.id}/marked")
    assert response.status_code == 200
    assert _name(engine, committed.tenant.id) == "Renamed by a marked GET"


# --- a connection that died in the pool --------------------------------------------------


class PoolKiller:
    """Kills the next `times` connections the app's pool hands out, as a database restart
    or a proxy's idle timeout would while they waited in the pool."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.times = 0
        self.killed = 0
        self.lock = threading.Lock()

    def __call__(self, dbapi_connection, _record, _proxy) -> None:
        with self.lock:
            if self.killed >= self.times:
                return
            self.killed += 1
        if isinstance(dbapi_connection, psycopg.Connection):
            pid = dbapi_connection.info.backend_pid
            url = sa.engine.make_url(self.database_url).set(drivername="postgresql")
            with psycopg.connect(url.render_as_string(hide_password=False)) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            time.sleep(0.05)  # the server closes the socket
        else:
            dbapi_connection.close()  # SQLite: the nearest thing to a server going away


@pytest.fixture
def pool_killer(app, database_url) -> Iterator[PoolKiller]:
    killer = PoolKiller(database_url)
    with app.app_context():
        pool = db.engine.pool
    event.listen(pool, "checkout", killer)
    yield killer
    event.remove(pool, "checkout", killer)


@pytest.mark.parametrize(("method", "path"), [("GET", "/family/"), ("POST", "/logout")])
def test_a_dead_pooled_connection_is_replaced_and_the_statement_sent_again(
    app, committed, pool_killer, caplog, method, path
):
    client = signed_in(app, committed)
    pool_killer.times = 1
    with caplog.at_level(logging.WARNING, logger="prepbase.retry"):
        response = client.open(f"/{committed.tenant.slug}{path}", method=method)
    assert pool_killer.killed == 1
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)
    assert "database connection was dead" in caplog.text
    if method == "POST":  # signed out: the dashboard sends to the login page
        assert client.get(f"/{committed.tenant.slug}/family/").status_code in (302, 303)


def test_a_connection_that_dies_twice_running_gives_the_error_page(app, committed, pool_killer):
    client = signed_in(app, committed)
    pool_killer.times = 2
    with pytest.raises(sa.exc.DBAPIError):  # TESTING: the error reaches the test
        client.get(f"/{committed.tenant.slug}/family/")
    assert client.get(f"/{committed.tenant.slug}/family/").status_code == 200


# --- what a writing request keeps after its commit ----------------------------------------


@pytest.fixture
def keeping_app(database_url, smtp_server) -> Flask:
    """An app with POST views that commit, then read what they had loaded."""
    probe = create_app("testing", **app_config(database_url, smtp_server[0].port))

    def statements_while(read: Callable[[], object]) -> tuple[object, int]:
        sent: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            sent.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            return read(), len(sent)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)

    @probe.post("/probe/<int:tenant_id>/keep")
    @csrf.exempt  # a probe, not a page: no form
    def keep(tenant_id: int) -> dict[str, object]:
        with as_tenant(tenant_id):
            tenant = db.session.scalars(select(Tenant).where(Tenant.id == tenant_id)).one()
            parent = db.session.scalars(select(User).where(User.role == Role.PARENT)).first()
            assert parent is not None and parent.family is not None  # the relationship loaded
            moved_to = Family(name="Moved here")
            db.session.add(moved_to)
            db.session.flush()
            parent.family_id = moved_to.id  # the key, not the relationship
            parent.name = "Renamed in this request"
            db.session.commit()
            name, reads = statements_while(lambda: (tenant.name, parent.name))
            family, family_reads = statements_while(lambda: parent.family.name)
            db.session.execute(
                update(Tenant)
                .where(Tenant.id == tenant_id)
                .values(name="Changed in bulk")
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            bulk, bulk_reads = statements_while(lambda: tenant.name)
            return {
                "name": name,
                "reads": reads,
                "family": family,
                "family_reads": family_reads,
                "bulk": bulk,
                "bulk_reads": bulk_reads,
            }

    return probe


def test_a_writing_request_keeps_what_it_loaded_after_its_commit(keeping_app, committed):
    answer = keeping_app.test_client().post(f"/probe/{committed.tenant.id}/keep").get_json()
    # The business and the user it changed are read from memory after the commit …
    assert answer["name"] == [committed.tenant.name, "Renamed in this request"]
    assert answer["reads"] == 0
    # … a relationship is not taken from before the commit (its key changed in the
    # request: the identity map or the database answers, never the old family) …
    assert answer["family"] == "Moved here"
    assert answer["family_reads"] <= 1
    # … and a class changed by a bulk UPDATE is read again, as it is now.
    assert answer["bulk"] == "Changed in bulk"
    assert answer["bulk_reads"] >= 1  # SQLite: its BEGIN IMMEDIATE too


def test_a_writing_request_session_expires_at_commit_again_afterwards(keeping_app, committed):
    keeping_app.test_client().post(f"/probe/{committed.tenant.id}/keep")
    with keeping_app.app_context():
        assert db.session().expire_on_commit is True
