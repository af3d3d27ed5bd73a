"""Whether this process may be sent traffic (`/readyz`), for a load balancer or an
orchestrator: the database answers, its schema is the one this code was written for
(Alembic's revision in the database is the migrations' head), and Redis answers when
REDIS_URL is set. `/healthz` only says the process is alive.
"""

from __future__ import annotations

from functools import cache

import redis
from alembic.script import ScriptDirectory
from sqlalchemy import column, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from prepbase.paths import MIGRATIONS

# A check passes with one of these answers; any other answer says what is wrong.
PASSING = frozenset(["ok", "not configured"])
# Seconds to wait for Redis: a probe that hangs is as bad as one that fails.
REDIS_TIMEOUT = 1.0
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def check(session: Session, redis_url: str | None) -> dict[str, str]:
    """Each check's answer: "ok", "not configured", or what is wrong."""
    checks: dict[str, str] = {}
    try:
        in_database = _database_heads(session)
    except SQLAlchemyError:
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown (no database)"
    else:
        checks["database"] = "ok"
        checks["migrations"] = _compare(in_database, migration_heads())
    checks["redis"] = _ping(redis_url) if redis_url else "not configured"
    return checks


def failed(checks: dict[str, str]) -> list[str]:
    """The names of the checks that did not pass (none: ready)."""
    return sorted(name for name, answer in checks.items() if answer not in PASSING)


@cache
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code (read once: they
    change only with a new release, which restarts the process)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def _database_heads(session: Session) -> frozenset[str]:
    # Alembic's own table, read directly: its MigrationContext logs two INFO lines each
    # time it is made, which a probe every few seconds would fill the log with.
    if not inspect(session.connection()).has_table(VERSION_TABLE):
        return frozenset()
    # A Core SELECT, not text(): a reading request runs SELECTs only (`transactions`).
    version = table(VERSION_TABLE, column("version_num"))
    return frozenset(session.scalars(select(version.c.version_num)))


def _compare(in_database: frozenset[str], in_code: frozenset[str]) -> str:
    if in_database == in_code:
        return "ok"
    have = ", ".join(sorted(in_database)) or "none (not migrated)"
    return f"database at {have}, code at {', '.join(sorted(in_code))}"


def _ping(url: str) -> str:
    try:
        _redis_client(url).ping()
    except redis.RedisError:
        return "unreachable"
    return "ok"


@cache
def _redis_client(url: str) -> redis.Redis:
    # One client (and its connection pool) per URL for the life of the process.
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
    )
