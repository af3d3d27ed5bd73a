"""Pages cost a fixed, small number of SQL statements, however many rows they show."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.test_tutor_sessions import World, local_at, local_day, statements

MAX_STATEMENTS = 8


@pytest.fixture
def world(app, business, db_session):
    return World(app, business, db_session)


def grow(world: World, scale: int, offset: int = 0) -> dict[str, int]:
    """Packages, and sessions of every status with their ledger entries, `scale` times."""
    from prepbase import scheduling

    ids = {}
    for i in range(offset, offset + scale):
        package = world.give("40", name=f"Package {i}")
        world.give("40", student=1, name=f"Ben package {i}")
        ids["package"] = package.id
        day = local_day(2 + i)
        world.book(60, at=local_at(day, 9))
        cancelled = world.book(60, at=local_at(day, 12))
        with world.scope():
            scheduling.cancel_session(world.db, world.b.tenant, world.b.parent, cancelled)
            world.db.commit()
        world.propose(60, at=local_at(day, 15), student=1)
        done = world.started(30, at=local_at(local_day(-1 - i), 10))
        world.complete(done)
    return ids


PAGES = {
    "parent": ["/acme/family/"],
    "admin": [
        "/acme/admin/",
        "/acme/admin/students",
        "/acme/admin/students/{student}/packages",
        "/acme/admin/students/{student}/sessions",
        "/acme/admin/packages/{package}",
        "/acme/admin/sessions",
        "/acme/admin/offerings",
    ],
    "tutor": ["/acme/tutor/"],
}


@pytest.mark.parametrize("role", list(PAGES))
def test_statements_do_not_grow_with_rows(app, client, auth, business, world, role):
    small = grow(world, 1)
    auth.as_role(business, role)
    values = {"student": business.students[0].id, "package": small["package"]}
    few = {p: statements(app, client, p.format(**values)) for p in PAGES[role]}
    grow(world, 5, offset=1)
    many = {p: statements(app, client, p.format(**values)) for p in PAGES[role]}
    assert many == few
    assert max(few.values()) <= MAX_STATEMENTS, few


def test_family_package_history_statements(app, client, auth, business, world):
    package = world.give("40")
    auth.as_role(business, "parent")
    url = f"/acme/family/packages/{package.id}"
    few = statements(app, client, url)
    for i in range(8):
        world.book(30, at=local_at(local_day(3 + i), 10) + timedelta(minutes=i))
    assert statements(app, client, url) == few <= MAX_STATEMENTS


@pytest.mark.parametrize("role", ["parent", "admin", "tutor"])
def test_business_and_user_come_in_one_statement(app, client, auth, business, role):
    # Every signed-in page pays this floor, so it is one statement, not two.
    from tests.test_tutor_sessions import StatementCounter

    auth.as_role(business, role)
    with StatementCounter(app) as counter:
        assert client.get("/acme/").status_code == 302
    assert counter.count == 1


def test_a_user_of_another_business_still_answers_404(app, client, auth, business, db_session):
    from tests.factories import make_business

    make_business(db_session, slug="other")
    auth.as_role(business, "parent")
    assert client.get("/other/family/").status_code == 404
    assert client.get("/other/login").status_code == 200
