"""Unbound Flask extensions; `create_app` binds them."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

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


class Session(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session, but an explicit `bind` (a test's connection) wins."""

    # Untyped like the method it extends (Flask-SQLAlchemy's, itself over SQLAlchemy's).
    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):  # type: ignore[no-untyped-def]
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


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
    # transactions queue behind each other instead of one failing half-way.
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


__all__ = ["csrf", "db", "limiter", "login_manager", "migrate"]
