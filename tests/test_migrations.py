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
