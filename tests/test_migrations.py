"""Every table comes from a migration, on SQLite and on PostgreSQL, and matches the models."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from prepbase import create_app
from prepbase.extensions import db
from prepbase.models import Base
from prepbase.tenancy import TenantScoped


def differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


@contextmanager
def empty_database(database_url: str, tmp_path):
    """A brand-new empty database of the same kind as the test run's."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"prepbase_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        assert differences(connection) == []


def test_upgrade_from_empty_then_down_and_up_again(app, database_url, tmp_path):
    with empty_database(database_url, tmp_path) as url:
        fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with fresh.app_context():
            upgrade()
            with db.engine.connect() as connection:
                assert differences(connection) == []
                tables = set(sa.inspect(connection).get_table_names())
            assert set(Base.metadata.tables) <= tables
            downgrade(revision="base")
            with db.engine.connect() as connection:
                assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
            upgrade()
            db.engine.dispose()


def test_every_tenant_table_has_an_indexed_tenant_id():
    for mapper in Base.registry.mappers:
        if issubclass(mapper.class_, TenantScoped):
            column = mapper.local_table.c.tenant_id
            assert column.index, mapper.class_.__name__
            assert not column.nullable
            assert {fk.column.table.name for fk in column.foreign_keys} == {"tenant"}


def test_mail_migration_keeps_existing_businesses_and_messages_working(app, database_url, tmp_path):
    """0007: a business gets its first admin's e-mail as contact, a queued message a
    Message-ID of its own."""
    with empty_database(database_url, tmp_path) as url:
        fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with fresh.app_context():
            upgrade(revision="0006_outbox_claim")
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO tenant (id, name, slug, timezone, low_balance_minutes,"
                        " booking_notice_minutes, booking_horizon_days, slot_step_minutes,"
                        " reminder_hours, created_at, currency, stripe_charges_enabled,"
                        " online_payments) VALUES (1, 'Old', 'old', 'UTC', 120, 1440, 60, 30,"
                        " 24, :now, 'usd', :no, :no)"
                    ),
                    {"now": "2026-01-01 00:00:00", "no": False},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO user_account (id, tenant_id, email, name, role, active,"
                        " session_nonce, created_at)"
                        " VALUES (:id, 1, :email, 'X', :role, :active, :nonce, :now)"
                    ),
                    [
                        {"id": i, "email": email, "role": role, "active": active}
                        | {"nonce": f"n{i}", "now": "2026-01-01 00:00:00"}
                        for i, role, email, active in (
                            (1, "tutor", "tutor@old.example.com", True),
                            (2, "admin", "gone@old.example.com", False),  # deactivated
                            (3, "admin", "owner@old.example.com", True),
                        )
                    ],
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO outbound_email (id, tenant_id, to_addr, subject, body,"
                        " status, attempts, created_at) VALUES (7, 1, 'a@example.com', 'S',"
                        " 'B', 'pending', 0, :now)"
                    ),
                    {"now": "2026-01-01 00:00:00"},
                )
            upgrade()
            with db.engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT contact_email FROM tenant")) == (
                    "owner@old.example.com"
                )
                assert conn.scalar(sa.text("SELECT message_id FROM outbound_email")) == (
                    "<outbox.1.7@prepbase.invalid>"
                )
            db.engine.dispose()


def test_billing_migration_gives_paid_purchases_their_payment_and_receipt(
    app, database_url, tmp_path
):
    """0012: each paid, fulfilled purchase gets one Stripe payment (receipt numbers in the
    order paid, per business) and its package the price; ledger entries stay as they were."""
    now = "2026-01-01 00:00:00"
    with empty_database(database_url, tmp_path) as url:
        fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with fresh.app_context():
            upgrade(revision="0008_series")
            with db.engine.begin() as conn:

                def insert(table: str, **row: object) -> None:
                    names = ", ".join(row)
                    values = ", ".join(f":{k}" for k in row)
                    conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)

                no = False
                for tid, zone in ((1, "America/New_York"), (2, "Europe/London")):
                    insert(
                        "tenant", id=tid, name=f"B{tid}", slug=f"b{tid}", timezone=zone,
                        low_balance_minutes=120, booking_notice_minutes=1440,
                        booking_horizon_days=60, slot_step_minutes=30, reminder_hours=24,
                        created_at=now, currency="usd", stripe_charges_enabled=no,
                        online_payments=no,
                    )  # fmt: skip
                    insert(
                        "user_account", id=tid, tenant_id=tid, email=f"p{tid}@example.com",
                        name="P", role="parent", active=True, session_nonce=f"n{tid}",
                        created_at=now,
                    )  # fmt: skip
                    insert("family", id=tid, tenant_id=tid, name="F", created_at=now)
                    insert(
                        "student", id=tid, tenant_id=tid, family_id=tid, first_name="A",
                        last_name="B", grade="", school="", notes="", created_at=now,
                    )  # fmt: skip
                    insert(
                        "offering", id=tid, tenant_id=tid, name="Pack", service="tutoring",
                        package_type="one_time", minutes=600, rollover=no, archived=no,
                        price_minor=24000, currency="usd", sold_online=True, created_at=now,
                    )  # fmt: skip
                packs = ((10, 1), (11, 1), (12, 2), (13, 1))
                for pid, tid in packs:
                    insert(
                        "package", id=pid, tenant_id=tid, student_id=tid, offering_id=tid,
                        name="Pack", service="tutoring", package_type="one_time",
                        period_minutes=600, rollover=no, start_date="2026-01-01", active=True,
                        total_minutes=600, remaining_minutes=600, renewals_stopped=no,
                        created_at=now,
                    )  # fmt: skip
                    insert(
                        "ledger_entry", id=pid, tenant_id=tid, package_id=pid, minutes=600,
                        kind="grant", balance_after=600, note="Bought online", created_at=now,
                    )  # fmt: skip
                # (purchase, business, package, status, amount, paid at)
                purchases = (
                    (1, 1, 10, "paid", 24000, "2026-02-02 03:00:00+00:00"),  # 1 Feb in NY
                    (2, 1, 11, "paid", 9900, "2026-01-15 12:00:00+00:00"),  # paid first
                    (3, 2, 12, "paid", 5000, "2026-03-01 12:00:00+00:00"),
                    (4, 1, None, "pending", 24000, None),
                    (5, 1, None, "failed", 24000, None),
                )
                for pid, tid, package_id, status, amount, paid_at in purchases:
                    insert(
                        "purchase", id=pid, tenant_id=tid, user_id=tid, student_id=tid,
                        offering_id=tid, name="Pack", service="tutoring",
                        package_type="one_time", minutes=600, rollover=no,
                        amount_minor=amount, currency="usd", status=status,
                        package_id=package_id, created_at=now, paid_at=paid_at,
                        updated_at=now,
                    )  # fmt: skip
                ledger_before = conn.execute(
                    sa.text("SELECT * FROM ledger_entry ORDER BY id")
                ).all()
            upgrade()
            with db.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT tenant_id, receipt_number, purchase_id, package_id, amount_minor,"
                        " currency, method, paid_on, recorded_by_id, voided_at"
                        " FROM package_payment ORDER BY tenant_id, receipt_number"
                    )
                ).all()
                assert [tuple(r[:7]) for r in rows] == [
                    (1, 1, 2, 11, 9900, "usd", "stripe"),
                    (1, 2, 1, 10, 24000, "usd", "stripe"),
                    (2, 1, 3, 12, 5000, "usd", "stripe"),
                ]
                assert [str(r[7]) for r in rows] == ["2026-01-15", "2026-02-01", "2026-03-01"]
                assert {(r[8], r[9]) for r in rows} == {(None, None)}
                prices = conn.execute(
                    sa.text("SELECT id, price_minor, currency FROM package ORDER BY id")
                ).all()
                assert [tuple(p) for p in prices] == [
                    (10, 24000, "usd"),
                    (11, 9900, "usd"),
                    (12, 5000, "usd"),
                    (13, None, None),  # assigned by hand: no price was recorded
                ]
                counters = conn.execute(
                    sa.text("SELECT id, last_receipt_number, locale FROM tenant ORDER BY id")
                ).all()
                assert [tuple(c) for c in counters] == [(1, 2, "en_US"), (2, 1, "en_US")]
                assert (
                    conn.execute(sa.text("SELECT * FROM ledger_entry ORDER BY id")).all()
                    == ledger_before
                )
            db.engine.dispose()


def test_groups_migration_keeps_every_session_and_ledger_entry(app, database_url, tmp_path):
    """0016: today's sessions become one-to-one sessions (no group) with every column and
    id they had, so each ledger entry still names its session; no ledger row changes and
    the audit is clean before and after. Sessions are made by the domain at head, then the
    database goes down to 0015 and up again."""
    from datetime import UTC, datetime, timedelta

    from prepbase import hours, packages, scheduling
    from prepbase.tenancy import as_tenant
    from tests.factories import make_business

    with empty_database(database_url, tmp_path) as url:
        fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with fresh.app_context():
            upgrade()
            b = make_business(db.session, "groups")
            now = datetime.now(UTC)
            with as_tenant(b.tenant.id):
                packages.assign_package(
                    db.session, b.admin, b.students[0], name="Pack", service="tutoring",
                    package_type="one_time", period=None, minutes=600,
                    start_date=now.date() - timedelta(days=400),
                )  # fmt: skip
                booked = [
                    scheduling.book_session(
                        db.session,
                        b.tenant,
                        b.parent,
                        student=b.students[0],
                        staff=b.tutor,
                        service="tutoring",
                        starts_at=now + timedelta(days=30 + day),
                        duration_minutes=60,
                        now=now,
                    )
                    for day in range(3)
                ]
                scheduling.cancel_session(db.session, b.tenant, b.admin, booked[1], now=now)
                db.session.commit()
            db.session.remove()
            downgrade(revision="0015_refunds")
            with db.engine.connect() as conn:
                ledger_before = conn.execute(
                    sa.text("SELECT * FROM ledger_entry ORDER BY id")
                ).all()
                sessions_before = conn.execute(
                    sa.text("SELECT * FROM tutoring_session ORDER BY id")
                ).all()
                columns = list(conn.execute(sa.text("SELECT * FROM tutoring_session")).keys())
            assert len(ledger_before) == 5 and len(sessions_before) == 3  # grant, 3 debits, refund
            upgrade()
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT * FROM ledger_entry ORDER BY id")).all() == (
                    ledger_before
                )
                picked = ", ".join(columns)
                assert (
                    conn.execute(
                        sa.text(f"SELECT {picked} FROM tutoring_session ORDER BY id")
                    ).all()
                    == sessions_before
                )
                assert (
                    conn.scalar(
                        sa.text("SELECT count(*) FROM tutoring_session WHERE group_id IS NOT NULL")
                    )
                    == 0
                )
            assert hours.audit(db.session) == []
            db.session.remove()
            db.engine.dispose()


def test_api_migration_adds_its_tables_and_leaves_the_rest(app, database_url, tmp_path):
    """0019: api_key and idempotency_record come and go; no other table's rows change.
    Keys made at head go with the downgrade, and the upgrade gives empty tables again."""
    from prepbase import api_keys as keys
    from prepbase.tenancy import as_tenant
    from tests.factories import make_business

    with empty_database(database_url, tmp_path) as url:
        fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with fresh.app_context():
            upgrade()
            b = make_business(db.session, "apimig")
            with as_tenant(b.tenant.id):
                keys.create_api_key(db.session, b.admin, name="CRM", scope="read")
                db.session.commit()
            db.session.remove()
            with db.engine.connect() as conn:
                users_before = conn.execute(sa.text("SELECT * FROM user_account ORDER BY id")).all()
                assert conn.scalar(sa.text("SELECT count(*) FROM api_key")) == 1
            downgrade(revision="0018_webhooks")
            with db.engine.connect() as conn:
                tables = set(sa.inspect(conn).get_table_names())
                assert not {"api_key", "idempotency_record"} & tables
                assert conn.execute(sa.text("SELECT * FROM user_account ORDER BY id")).all() == (
                    users_before
                )
            upgrade()
            with db.engine.connect() as conn:
                assert differences(conn) == []
                assert conn.scalar(sa.text("SELECT count(*) FROM api_key")) == 0


def test_webhooks_migration_keeps_businesses_and_starts_them_without_endpoints(
    app, database_url, tmp_path
):
    """0018: existing businesses get `webhook_types` "" (no endpoint, no event written);
    down to 0017 removes the three tables and the column, and nothing else changes."""
    from prepbase import packages
    from prepbase.models import Tenant, WebhookEvent
    from prepbase.tenancy import as_tenant
    from prepbase.webhook_delivery.endpoints import add_endpoint
    from tests.factories import make_business

    with empty_database(database_url, tmp_path) as url:
        fresh = create_app(
            "testing", SQLALCHEMY_DATABASE_URI=url, WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=True
        )
        with fresh.app_context():
            upgrade(revision="0017_ledger_window")
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO tenant (name, slug, timezone, created_at) "
                        "VALUES ('Old', 'old', 'UTC', CURRENT_TIMESTAMP)"
                    )
                )
            upgrade()
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT slug, webhook_types FROM tenant")).all() == [
                    ("old", "")
                ]
            b = make_business(db.session, "hooks")
            tenant_id = b.tenant.id
            with as_tenant(tenant_id):
                add_endpoint(db.session, b.tenant, url="http://127.0.0.1:9/hooks")
                packages.assign_package(
                    db.session, b.admin, b.students[0], name="Pack", service="tutoring",
                    package_type="one_time", period=None, minutes=600,
                    start_date=date(2020, 1, 1),
                )  # fmt: skip
                db.session.commit()
                assert db.session.scalar(sa.select(sa.func.count(WebhookEvent.id))) == 1
            db.session.remove()
            downgrade(revision="0017_ledger_window")
            with db.engine.connect() as conn:
                names = set(sa.inspect(conn).get_table_names())
                assert not {"webhook_endpoint", "webhook_event", "webhook_delivery"} & names
                columns = {c["name"] for c in sa.inspect(conn).get_columns("tenant")}
                assert "webhook_types" not in columns
                assert conn.scalar(sa.text("SELECT count(*) FROM tenant")) == 2
            upgrade()
            with db.engine.connect() as conn:
                assert set(conn.execute(sa.text("SELECT webhook_types FROM tenant")).scalars()) == {
                    ""
                }
            assert db.session.get(Tenant, tenant_id).webhook_types == ""
            db.session.remove()
            db.engine.dispose()
