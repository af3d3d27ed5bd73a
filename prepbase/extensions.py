"""Unbound Flask extensions; `create_app` binds them."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session as OrmSession

from prepbase.models.base import Base

# A session whose `info` holds this key runs without a transaction: each statement on
# its own, no BEGIN, no ROLLBACK (`prepbase.transactions` sets it for reading requests).
# The same name marks the engine such a session uses.
AUTOCOMMIT = "prepbase_autocommit"

_autocommit_engines: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def autocommit_engine(engine: Engine) -> Engine:
    """`engine` whose connections run each statement on its own; same pool.

    PostgreSQL: the driver's autocommit (psycopg sends no BEGIN; setting it and
    resetting it when the connection goes back to the pool are not round trips).
    SQLite: the driver already works so (`isolation_level = None`, set on connect);
    without the marker's `BEGIN IMMEDIATE` (below), a read takes no lock and waits for
    no writer. SQLAlchemy's own AUTOCOMMIT level is not used there: on the way back to
    the pool it would reset the driver to opening transactions of its own.
    """
    found = _autocommit_engines.get(engine)
    if found is None:
        options: dict[str, object] = {AUTOCOMMIT: True}
        if engine.dialect.name != "sqlite":
            options["isolation_level"] = "AUTOCOMMIT"
        found = _autocommit_engines[engine] = engine.execution_options(**options)
    return found


class Session(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session, but an explicit `bind` (a test's connection) wins,
    and a session marked `AUTOCOMMIT` reads through `autocommit_engine`."""

    # Untyped like the method it extends (Flask-SQLAlchemy's, itself over SQLAlchemy's).
    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):  # type: ignore[no-untyped-def]
        if bind is None and self.bind is not None:
            return self.bind
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if self.info.get(AUTOCOMMIT) and isinstance(engine, Engine):
            return autocommit_engine(engine)
        return engine


class Database(SQLAlchemy):
    """Flask-SQLAlchemy, typed for what the code does with it.

    `db.session` is a `scoped_session`: a proxy that hands every call to the request's
    own `Session`. The domain takes a plain `Session` (it is handed one and never asks
    for `db`), so the proxy is declared as what it stands for; otherwise every view's
    call into the domain would need a cast."""

    if TYPE_CHECKING:
        session: OrmSession  # type: ignore[assignment]  # the proxy, as said above


db = Database(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: object, _record: object) -> None:
    # SQLite: let SQLAlchemy's "begin" event open the transaction (below), use WAL so
    # readers do not block the writer, and wait on a lock instead of failing at once.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn: Connection) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two read-then-write
    # transactions queue behind each other instead of one failing half-way. A read
    # (`autocommit_engine`) begins nothing: it neither takes the lock nor waits for it.
    if conn.dialect.name == "sqlite" and not conn.get_execution_options().get(AUTOCOMMIT):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


__all__ = ["AUTOCOMMIT", "autocommit_engine", "csrf", "db", "limiter", "login_manager", "migrate"]
