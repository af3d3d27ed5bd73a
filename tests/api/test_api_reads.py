"""The read endpoints: what each returns, filters, cursor pagination, zone-aware times,
Total / Remaining hours, group participants, and a bounded number of statements."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from prepbase import packages, people, scheduling
from prepbase.models import utcnow
from prepbase.tenancy import as_tenant
from tests.api.conftest import assert_problem
from tests.factories import business_today
from tests.test_tutor_sessions import StatementCounter


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [row["id"] for row in response.get_json()["items"]]


def walk(api, path: str, limit: int, **query) -> list[int]:
    """Every id of a list, page by page."""
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        args = dict(query, limit=limit) | ({"cursor": cursor} if cursor else {})
        body = api.get(path, **args).get_json()
        assert len(body["items"]) <= limit
        seen += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("no last page")


def add_students(db_session, business, names):
    with as_tenant(business.tenant.id):
        made = [
            people.save_student(
                db_session,
                business.admin,
                None,
                family=business.family,
                first_name=first,
                last_name=last,
                grade="9",
                school="",
                notes="",
            )
            for first, last in names
        ]
        db_session.commit()
    return made


def test_students_families_staff(api, rich, rival):
    body = api.get("/students").get_json()
    assert [(s["first_name"], s["last_name"]) for s in body["items"]] == [
        ("Ada", "Acme"),
        ("Ben", "Acme"),
    ]
    assert body["next_cursor"] is None
    ada = body["items"][0]
    assert ada["family_id"] == rich.family.id and ada["grade"] == "10"
    assert api.get(f"/students/{ada['id']}").get_json() == ada
    families = api.get("/families").get_json()["items"]
    assert families == [
        {
            "id": rich.family.id,
            "name": "Acme family",
            "student_ids": [s.id for s in rich.students],
            "created_at": families[0]["created_at"],
        }
    ]
    staff = api.get("/staff").get_json()["items"]
    assert [(s["name"], s["role"], s["services"]) for s in staff] == [
        ("Acme Owner", "admin", ["tutoring"]),
        ("Carl Counselor", "counselor", ["counseling"]),
        ("Tara Tutor", "tutor", ["tutoring"]),
    ]
    assert_problem(api.get(f"/staff/{rich.parent.id}"), 404)  # a family member is no staff


def test_times_are_iso_8601_in_the_business_zone(api, rich):
    session = api.get(f"/sessions/{rich.extra['session_id']}").get_json()
    starts = datetime.fromisoformat(session["starts_at"])
    # add_hours_rows books 15:00 UTC on 15 January: 10:00 in New York (EST, -05:00)
    assert session["starts_at"].endswith("T10:00:00-05:00")
    assert starts.astimezone(UTC).hour == 15
    assert session["ends_at"].endswith("T11:00:00-05:00")
    assert datetime.fromisoformat(session["created_at"]).utcoffset() in (
        timedelta(hours=-5),
        timedelta(hours=-4),
    )


def test_packages_total_remaining_ledger_and_filters(api, rich, db_session):
    package_id = rich.extra["package_id"]
    package = api.get(f"/packages/{package_id}").get_json()
    assert (package["total_minutes"], package["total_hours"]) == (1440, "24")
    assert (package["remaining_minutes"], package["remaining_hours"]) == (1380, "23")
    assert (package["status"], package["inactive_reason"]) == ("active", None)
    ledger = api.get(f"/packages/{package_id}/ledger").get_json()["items"]
    assert [(e["kind"], e["minutes"], e["balance_after_minutes"]) for e in ledger] == [
        ("grant", 1440, 1440),
        ("debit", -60, 1380),
    ]
    assert ledger[1]["session_id"] == rich.extra["session_id"] and ledger[1]["hours"] == "-1"
    assert sum(e["minutes"] for e in ledger) == package["remaining_minutes"]

    with as_tenant(rich.tenant.id):
        counseling = packages.assign_package(
            db_session, rich.admin, rich.students[1], name="Counsel", service="counseling",
            package_type="one_time", period=None, minutes=90, start_date=business_today(),
        )  # fmt: skip
        expired = packages.assign_package(
            db_session, rich.admin, rich.students[1], name="Old", service="tutoring",
            package_type="one_time", period=None, minutes=60, start_date=date(2020, 1, 1),
            expires_on=date(2020, 12, 31),
        )  # fmt: skip
        db_session.commit()
    assert ids(api.get("/packages")) == [expired.id, counseling.id, package_id]  # newest first
    assert ids(api.get("/packages", student=rich.students[1].id)) == [expired.id, counseling.id]
    assert ids(api.get("/packages", service="counseling")) == [counseling.id]
    assert ids(api.get("/packages", status="inactive")) == [expired.id]
    assert ids(api.get("/packages", status="active", service="tutoring")) == [package_id]
    old = api.get(f"/packages/{expired.id}").get_json()
    assert (old["status"], old["inactive_reason"]) == ("inactive", "expired")
    assert counseling.remaining_minutes == 90
    assert api.get(f"/packages/{counseling.id}").get_json()["remaining_hours"] == "1.5"
    body = assert_problem(api.get("/packages", status="paused", service="x"), 422)
    assert set(body["errors"]) == {"status", "service"}


def test_sessions_filters_and_group_participants(api, rich, db_session):
    now = utcnow()
    with as_tenant(rich.tenant.id):
        proposed = scheduling.propose_session(
            db_session, rich.tenant, rich.admin, student=rich.students[1], staff=rich.counselor,
            service="counseling", starts_at=datetime(now.year + 1, 1, 20, 15, 0, tzinfo=UTC),
            duration_minutes=30, now=now,
        )  # fmt: skip
        db_session.commit()
    booked = rich.extra["session_id"]
    group = [row for row in api.get("/sessions").get_json()["items"] if row["group_id"] is not None]
    everything = ids(api.get("/sessions"))
    assert everything == [booked, *[g["id"] for g in group], proposed.id]  # by start time
    assert len(group) == 2
    for row in group:
        assert {p["student_id"] for p in row["participants"]} == {s.id for s in rich.students}
        assert {p["session_id"] for p in row["participants"]} == {g["id"] for g in group}
        assert all(p["status"] == "pending" for p in row["participants"])
    one = api.get(f"/sessions/{group[0]['id']}").get_json()
    assert one["participants"] == group[0]["participants"]

    assert ids(api.get("/sessions", status="upcoming")) == [booked]
    assert ids(api.get("/sessions", staff=rich.counselor.id)) == [proposed.id]
    assert ids(api.get("/sessions", student=rich.students[1].id)) == [
        group[1]["id"],
        proposed.id,
    ]
    year = now.year + 1
    # Days are the business's: 15 January 10:00 New York is inside 15 January only.
    assert ids(api.get("/sessions", **{"from": f"{year}-01-15", "to": f"{year}-01-15"})) == [booked]
    assert booked not in ids(api.get("/sessions", **{"from": f"{year}-01-16"}))
    assert ids(api.get("/sessions", to=f"{year}-01-14")) == []
    assert ids(api.get("/sessions", **{"from": f"{year}-01-17", "to": f"{year}-01-20"})) == [
        proposed.id
    ]
    assert_problem(api.get("/sessions", **{"from": "15/01/2027"}), 422)


def test_cursor_pagination_is_stable_complete_and_without_duplicates(api, rich, db_session):
    # Same last names (ties on the sort key) across page boundaries.
    add_students(db_session, rich, [(f"S{i:02d}", "Same") for i in range(7)] + [("Zed", "Acme")])
    full = ids(api.get("/students", limit=100))
    assert len(full) == 10
    for limit in (1, 3, 4, 10):
        assert walk(api, "/students", limit) == full
    page = api.get("/students", limit=4).get_json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    # A row added before the cursor's place neither repeats nor hides another.
    add_students(db_session, rich, [("Aaron", "Aaa")])
    rest = walk_from(api, "/students", page["next_cursor"], 4)
    assert rest == full[4:]
    # The last page says so.
    assert api.get("/students", limit=100).get_json()["next_cursor"] is None


def walk_from(api, path: str, cursor: str, limit: int) -> list[int]:
    seen: list[int] = []
    while cursor:
        body = api.get(path, limit=limit, cursor=cursor).get_json()
        seen += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
    return seen


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(json.dumps(["a", "b", "c"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["a", "b", 2**40]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps([{"t": "2027-01-01"}, 1]).encode()).decode(),
    ],
)
def test_a_cursor_this_api_did_not_make_is_422(api, cursor):
    body = assert_problem(api.get("/students", cursor=cursor), 422)
    assert body["errors"] == {"cursor": ["This cursor is not one this list gave."]}
    assert_problem(api.get("/packages", cursor=cursor), 422)


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1"])
def test_limit_out_of_range_is_422_with_errors(api, limit):
    body = assert_problem(api.get("/sessions", limit=limit), 422)
    assert list(body["errors"]) == ["limit"]


def test_lists_cost_a_bounded_number_of_statements(app, api, rich, db_session):
    def cost(path: str) -> int:
        with StatementCounter(app) as counter:
            assert api.get(path, limit=100).status_code == 200
        return counter.count

    paths = ["/students", "/families", "/staff", "/packages", "/sessions", "/offerings"]
    api.get("/students")  # the key's first use of the minute also writes its last-used time
    before = {path: cost(path) for path in paths}
    add_students(db_session, rich, [(f"N{i}", "More") for i in range(6)])
    with as_tenant(rich.tenant.id):
        now = utcnow()
        for i in range(6):
            packages.assign_package(
                db_session, rich.admin, rich.students[0], name=f"P{i}", service="tutoring",
                package_type="one_time", period=None, minutes=600, start_date=business_today(),
            )  # fmt: skip
            scheduling.propose_session(
                db_session, rich.tenant, rich.admin, student=rich.students[1], staff=rich.tutor,
                service="tutoring", starts_at=datetime(now.year + 1, 3, 1 + i, 15, tzinfo=UTC),
                duration_minutes=60, now=now,
            )  # fmt: skip
        db_session.commit()
    after = {path: cost(path) for path in paths}
    assert after == before, (before, after)
    assert max(after.values()) <= 4
