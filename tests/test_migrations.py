"""Every table comes from a migration, on SQLite and on PostgreSQL, and matches the models."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

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
