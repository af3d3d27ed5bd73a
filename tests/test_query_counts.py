"""Pages cost a fixed, small number of SQL statements, however many rows they show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from prepbase import availability, categories
from prepbase.models import EntryKind, LedgerEntry, SessionStatus, TutoringSession, utcnow
from prepbase.paging import PER_PAGE
from prepbase.reports import CHART_DAYS
from prepbase.tenancy import as_tenant
from tests.test_availability import every_day
from tests.test_family_portal import HX, booking
from tests.test_family_portal import World as FamilyWorld
from tests.test_tutor_sessions import StatementCounter, World, local_at, local_day, statements

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
    "parent": ["/acme/family/", "/acme/family/schedule", "/acme/family/schedule?view=month"],
    "admin": [
        "/acme/admin/",
        "/acme/admin/students",
        "/acme/admin/students/{student}/packages",
        "/acme/admin/students/{student}/sessions",
        "/acme/admin/packages/{package}",
        "/acme/admin/sessions",
        "/acme/admin/offerings",
        "/acme/admin/schedule?view=month&status=all",
    ],
    "tutor": ["/acme/tutor/", "/acme/tutor/schedule", "/acme/tutor/schedule?view=month"],
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


def fill_week(world: World, monday, count: int) -> None:
    """`count` sessions spread over the week of `monday`, of every status, staff member
    and student (rows written directly: this is load, not a scenario)."""
    b = world.b
    staff = [(b.tutor, "tutoring"), (b.counselor, "counseling"), (b.admin, "tutoring")]
    statuses = [SessionStatus.PENDING, SessionStatus.UPCOMING, SessionStatus.CANCELLED]
    with world.scope():
        category_id = categories.default_category(world.db).id
    rows = []
    for n in range(count):
        member, service = staff[n % 3]
        starts = local_at(monday + timedelta(days=n % 7), 7 + n % 12, 15 * (n % 4))
        rows.append(
            {
                "tenant_id": b.tenant.id,
                "category_id": category_id,
                "student_id": b.students[n % 2].id,
                "staff_id": member.id,
                "service": service,
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=45),
                "duration_minutes": 45,
                "status": statuses[n % 3],
            }
        )
    with world.scope():
        world.db.execute(insert(TutoringSession), rows)
        world.db.commit()


@pytest.mark.parametrize(
    ("role", "path", "shown"),
    [
        ("admin", "/acme/admin/schedule?status=all&date={monday}", 300),
        # with the tutor's working hours, time off and free times
        ("admin", "/acme/admin/schedule?status=all&date={monday}&staff={tutor}", 100),
        ("tutor", "/acme/tutor/schedule?status=all&date={monday}", 100),
        ("parent", "/acme/family/schedule?status=all&date={monday}", 300),
    ],
)
def test_a_week_of_300_sessions_costs_the_statements_of_a_week_of_3(
    app, client, auth, business, world, role, path, shown
):
    monday = local_day(14) - timedelta(days=local_day(14).weekday())
    with world.scope():
        availability.set_weekly_hours(
            world.db, business.tenant, business.tutor, business.tutor,
            {d: [(8 * 60, 20 * 60)] for d in range(7)},
        )  # fmt: skip
        world.db.commit()
    url = path.format(monday=monday.isoformat(), tutor=business.tutor.id)
    auth.as_role(business, role)
    fill_week(world, monday, 3)
    few = statements(app, client, url)
    fill_week(world, monday + timedelta(days=7), 300)  # next week: not on the page
    fill_week(world, monday, 297)
    with StatementCounter(app) as counter:
        response = client.get(url)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('<li class="cal-event') == shown
    assert counter.count == few <= MAX_STATEMENTS


def add_history(world: World, package, count: int, offset: int = 0) -> None:
    """`count` (even) adjustments of -30 and +30 minutes on `package`, one every 12 hours
    going back from now, after the `offset` newest ones (rows written directly: this is
    history, not a scenario). The balance ends where it began, so the audit holds."""
    now = utcnow()
    balance = package.remaining_minutes
    rows = []
    for k in range(count):
        minutes = -30 if k % 2 == 0 else 30
        balance += minutes
        rows.append(
            {
                "tenant_id": world.b.tenant.id,
                "package_id": package.id,
                "minutes": minutes,
                "kind": EntryKind.ADJUSTMENT,
                "balance_after": balance,
                "note": "history",
                "created_at": now - timedelta(hours=12 * (offset + count - k)),
            }
        )
    with world.scope():
        world.db.execute(insert(LedgerEntry), rows)
        world.db.commit()


@pytest.mark.parametrize(
    ("role", "path", "chart"),
    [
        ("parent", "/acme/family/", True),
        ("admin", "/acme/admin/students/{student}/packages", True),
        ("admin", "/acme/admin/packages/{package}", True),  # its history: one page of it
        ("parent", "/acme/family/packages/{package}", False),  # the family's history
    ],
)
def test_a_package_of_300_entries_costs_the_statements_of_one_of_10(
    app, client, auth, business, world, role, path, chart
):
    # Issue 18: a page's cost does not grow with a package's history; its balance chart
    # draws at most one point per day of its window, and the balance carried into it, and
    # its history table shows one page of PER_PAGE entries.
    package = world.give("40")
    add_history(world, package, 10)
    url = path.format(student=business.students[0].id, package=package.id)
    auth.as_role(business, role)
    few = statements(app, client, url)
    add_history(world, package, 290, offset=10)  # the older 290, up to 150 days back
    with StatementCounter(app) as counter:
        response = client.get(url)
    assert response.status_code == 200
    assert counter.count == few <= MAX_STATEMENTS
    body = response.get_data(as_text=True)
    if chart:
        chart_svg = body[body.index(f'id="chart-package-{package.id}"') :].split("</svg>", 1)[0]
        assert 1 < chart_svg.count('<circle class="point"') <= CHART_DAYS + 2
    if "/packages/{package}" in path:
        table = body[body.index("<tbody>", body.index("History")) :].split("</tbody>", 1)[0]
        assert table.count("<tr>") == PER_PAGE
        assert f"Page 1 of {-(-301 // PER_PAGE)} (301 entries)" in body


@pytest.mark.parametrize("role", ["admin", "parent"])
def test_a_deep_history_page_costs_the_statements_of_the_first(
    app, client, auth, business, world, role
):
    # Page 6 of 301 entries (an OFFSET of 250) is one statement, as page 1 is.
    package = world.give("40")
    add_history(world, package, 300)
    side = "admin" if role == "admin" else "family"
    url = f"/acme/{side}/packages/{package.id}"
    auth.as_role(business, role)
    first = statements(app, client, url)
    with StatementCounter(app) as counter:
        response = client.get(f"{url}?page=6")
    assert response.status_code == 200 and counter.count == first
    assert "Page 6 of 7" in response.get_data(as_text=True)


# --- the booking path (issue 18): book, accept, cancel ----------------------------------

# Statements of one family action, the page or redirect it answers with and the e-mails it
# sends included. SQLite sends the outbox's INSERTs one by one (PostgreSQL: one statement
# for all of an action's e-mails), hence the two budgets. Before issue 18: book 29,
# accept 31, cancel 33 on PostgreSQL.
BOOKING_PATH = {
    "postgresql": {"book": 20, "accept": 20, "cancel": 20},
    "sqlite": {"book": 23, "accept": 23, "cancel": 20},
}


def counted(app, call):
    with StatementCounter(app) as counter:
        response = call()
    return response, counter.count


def test_booking_path_statements(app, client, auth, business, db_session):
    world = FamilyWorld(app, db_session, business)
    every_day(world, "0:00-24:00")
    world.package("20")
    proposal = world.propose(60, days=5)
    auth.as_role(business, "parent")
    budget = BOOKING_PATH[db_session.get_bind().dialect.name]

    data = booking(business, date=local_day(3).isoformat(), start_time="10:00", duration="1")
    response, book = counted(
        app, lambda: client.post("/acme/family/sessions/new", data=data, headers=HX)
    )
    assert response.status_code == 204 and response.headers["HX-Redirect"]
    with as_tenant(business.tenant.id):
        booked = db_session.scalars(
            select(TutoringSession).where(TutoringSession.booked_by_family)
        ).one()

    response, accept = counted(
        app, lambda: client.post(f"/acme/family/sessions/{proposal.id}/accept", headers=HX)
    )
    assert response.status_code == 200 and "Accepted:" in response.get_data(as_text=True)

    response, cancel = counted(
        app, lambda: client.post(f"/acme/family/sessions/{booked.id}/cancel", headers=HX)
    )
    assert response.status_code == 200 and "Cancelled" in response.get_data(as_text=True)

    assert {"book": book, "accept": accept, "cancel": cancel} == budget
