"""`/healthz` (alive) and `/readyz` (database reachable, migrations at head, Redis
reachable when configured): 200 when ready, 503 naming each failed check."""

from __future__ import annotations

import os

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from prepbase import create_app
from prepbase.business import RESERVED_SLUGS
from prepbase.readiness import migration_heads
from tests.conftest import CSRFClient, app_config, free_port

REDIS_URL = "redis://127.0.0.1:6379/15"


def build(app: Flask, smtp_server, **overrides: object) -> CSRFClient:
    """A client of a second app; on the test database unless told otherwise (requests
    then join the test's transaction, as the main app's do)."""
    config = app_config(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server[0].port)
    config.update(overrides)
    application = create_app("testing", **config)
    application.test_client_class = CSRFClient
    return application.test_client()


def not_ready(client: CSRFClient, *failed: str) -> dict[str, str]:
    """/readyz's 503 naming exactly the `failed` checks; returns every check's answer."""
    response = client.get("/readyz")
    assert response.status_code == 503
    assert (response.json["status"], response.json["failed"]) == ("not ready", list(failed))
    return response.json["checks"]


def test_healthz_says_the_process_is_alive(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")


def test_readyz_is_200_when_database_and_migrations_are_fine(client, app):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ready",
        "failed": [],
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "redis": "not configured" if app.config["REDIS_URL"] is None else "ok",
        },
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_when_migrations_are_behind(client, db_session):
    db_session.execute(sa.text("UPDATE alembic_version SET version_num = '0001_foundation'"))
    db_session.commit()  # the test's SAVEPOINT: the request sees it, the test rolls back
    (head,) = migration_heads()
    checks = not_ready(client, "migrations")
    assert (checks["database"], checks["migrations"]) == (
        "ok",
        f"database at 0001_foundation, code at {head}",
    )


def test_readyz_is_503_when_the_database_was_never_migrated(app, smtp_server, tmp_path):
    empty = build(app, smtp_server, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'new.db'}")
    checks = not_ready(empty, "migrations")
    assert checks["migrations"].startswith("database at none (not migrated)")


def test_readyz_is_503_when_the_database_is_unreachable(app, smtp_server):
    nowhere = f"postgresql+psycopg://prepbase@127.0.0.1:{free_port()}/prepbase"
    checks = not_ready(
        build(app, smtp_server, SQLALCHEMY_DATABASE_URI=nowhere), "database", "migrations"
    )
    assert checks["database"] == "unreachable"


def test_readyz_is_503_when_redis_is_configured_but_unreachable(app, smtp_server, db_session):
    client = build(app, smtp_server, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert not_ready(client, "redis") == {
        "database": "ok",
        "migrations": "ok",
        "redis": "unreachable",
    }


def test_readyz_checks_redis_when_configured(app, smtp_server, db_session):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail("Redis must run in CI")
        pytest.skip("no Redis on 127.0.0.1:6379")
    response = build(app, smtp_server, REDIS_URL=REDIS_URL).get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"] == "ok"


def test_no_business_can_take_the_health_check_urls():
    assert {"healthz", "readyz"} <= RESERVED_SLUGS
