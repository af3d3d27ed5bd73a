"""The least a page can cost on PrepBase's stack: a bare Flask app for bench/floor.py.

Not PrepBase: no sign-in, no templates, no tenancy. Each endpoint adds one layer of what
every signed-in PrepBase page must do, so bench/floor.py can show where the ceiling of
"× hello world" lies before any page renders anything. Served by gunicorn with the same
settings as the real app; `FLOOR_DATABASE_URL` names the seeded bench database.
"""

from __future__ import annotations

import os

import psycopg
from flask import Flask
from sqlalchemy import create_engine, text

URL = os.environ["FLOOR_DATABASE_URL"]
SLUG = os.environ.get("FLOOR_SLUG", "bench-target")

app = Flask(__name__)
engine = create_engine(URL.replace("postgresql://", "postgresql+psycopg://", 1))
_connections: dict[int, psycopg.Connection] = {}


def _raw() -> psycopg.Connection:
    pid = os.getpid()  # one connection per gunicorn worker, made after the fork
    if pid not in _connections:
        _connections[pid] = psycopg.connect(URL, autocommit=True)
    return _connections[pid]


@app.get("/hello")
@app.get("/healthz")  # what bench/harness.py's gunicorn() waits for
def hello() -> str:
    return "ok"


@app.get("/one-select")
def one_select() -> str:
    """One prepared SELECT on a kept connection: no pool, no transaction, no ORM."""
    row = _raw().execute("SELECT id FROM tenant WHERE slug = %s", (SLUG,), prepare=True).fetchone()
    return str(row[0])


@app.get("/core-two")
def core_two() -> str:
    """The business and a user, as any SQLAlchemy request gets them: pool checkout,
    a transaction, two Core SELECTs, rollback. Still no ORM, no session cookie."""
    with engine.connect() as conn:
        tenant = conn.execute(text("SELECT id FROM tenant WHERE slug = :s"), {"s": SLUG}).one()
        user = conn.execute(
            text("SELECT id, email FROM user_account WHERE tenant_id = :t LIMIT 1"),
            {"t": tenant[0]},
        ).one()
    return f"{tenant[0]} {user[0]}"
