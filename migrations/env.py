"""Alembic environment, run through Flask-Migrate (`flask db upgrade`)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from prepbase.models.base import UTCDateTime

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    # Migrations spell our UTC timestamp type as the plain column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs):
    context.configure(
        target_metadata=target_db.metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        render_item=render_item,
        **kwargs,
    )


def run_migrations_offline():
    _configure(url=str(target_db.engine.url), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    connectable = config.attributes.get("connection")
    if connectable is not None:
        _configure(connection=connectable)
        with context.begin_transaction():
            context.run_migrations()
        return
    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename); with foreign keys on, the
            # drop fails while other tables' rows refer to it. SQLite's advice: turn them
            # off outside the transaction, and check them all before turning them back on.
            _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
        _configure(connection=connection, process_revision_directives=process_revision_directives)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


def _sqlite_pragma(connection, statement):
    # Straight to the driver, outside any transaction (a PRAGMA there does nothing).
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(statement)
    cursor.close()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
