"""Every API route, walked like the pages' route walk (tests/test_tenancy.py): without a
key or with a revoked one it is 401, a read-only key may not write (403), and a key of
business A names a row of business B only to get 404, changing nothing of B."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from prepbase import api_keys
from prepbase.models import ApiKey, LedgerEntry, Package, TutoringSession
from prepbase.tenancy import as_tenant
from tests.api.conftest import Api, assert_problem, new_token

# Public, without tenant data: the OpenAPI document and the reference page made from it.
PUBLIC = {"/api/v1/openapi.json", "/api/v1/docs"}

# Which of a business's rows each URL argument names.
ARGUMENTS = {
    "student_id": lambda b: b.students[0].id,
    "family_id": lambda b: b.family.id,
    "user_id": lambda b: b.tutor.id,
    "package_id": lambda b: b.extra["package_id"],
    "session_id": lambda b: b.extra["session_id"],
    "offering_id": lambda b: b.extra["offering_id"],
    "purchase_id": lambda b: b.extra["purchase_id"],
}

# A body that passes validation, by the path's last part, so the request reaches the
# row lookup.
BODIES = {
    "cancel": {"reason": "taken over"},
    "attendance": {"attendance": "present"},
    "action-plan": {"topics": "taken over"},
    "adjustments": {"hours": "5", "note": "taken over"},
    "confirm": None,
    "accept": None,
    "packages": {"student_id": 1, "name": "Taken", "service": "tutoring", "hours": "1"},
    "sessions": {"student_id": 1, "staff_id": 1, "service": "tutoring",
                 "starts_at": "2030-01-01T10:00:00-05:00", "duration_minutes": 60},
}  # fmt: skip
BODIES["book"] = BODIES["sessions"]


def api_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert rules
    return [r for r in rules if r.rule not in PUBLIC]


def calls(app, business):
    """(method, path) of every API route, with `business`'s rows in the URL."""
    found = []
    for rule in api_rules(app):
        path = rule.rule
        for arg in rule.arguments:
            assert arg in ARGUMENTS, f"{rule.rule}: teach this test which row {arg} names"
            path = re.sub(rf"<(?:\w+:)?{arg}>", str(ARGUMENTS[arg](business)), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path.removeprefix("/api/v1"), bool(rule.arguments)))
    return found


def send(api: Api, method: str, path: str):
    if method == "GET":
        return api.get(path)
    return api.post(path, json=BODIES[path.rsplit("/", 1)[-1]])


def test_every_api_route_needs_a_live_key(app, client, rich, db_session):
    token = new_token(db_session, rich)
    api = Api(client, token)
    with as_tenant(rich.tenant.id):
        key = db_session.scalar(
            select(ApiKey).where(ApiKey.token_hash == api_keys.hash_token(token))
        )
        api_keys.revoke_api_key(db_session, rich.admin, key)
        db_session.commit()
    checked = 0
    for method, path, _ in calls(app, rich):
        assert_problem(send(api.as_(None), method, path), 401)
        assert_problem(send(api, method, path), 401)  # revoked
        checked += 1
    assert checked >= 20


def test_a_read_key_is_refused_every_write(app, client, rich, db_session):
    reader = Api(client, new_token(db_session, rich, scope="read"))
    writes = [(m, p) for m, p, _ in calls(app, rich) if m != "GET"]
    assert len(writes) >= 7
    for method, path in writes:
        assert_problem(send(reader, method, path), 403)
    assert reader.get("/students").status_code == 200


def test_every_api_route_answers_404_for_another_business_rows(
    app, client, rich, rival, db_session
):
    api = Api(client, new_token(db_session, rich))
    checked = 0
    for method, path, names_rows in calls(app, rival):
        if not names_rows:
            continue
        assert_problem(send(api, method, path), 404)
        checked += 1
    assert checked >= 13  # every route with a row in its URL
    # and nothing of B changed
    with as_tenant(rival.tenant.id):
        package = db_session.scalar(select(Package).where(Package.id == rival.extra["package_id"]))
        ts = db_session.scalar(
            select(TutoringSession).where(TutoringSession.id == rival.extra["session_id"])
        )
        db_session.refresh(package)
        db_session.refresh(ts)
        assert (package.remaining_minutes, package.total_minutes) == (23 * 60, 24 * 60)
        assert (ts.status, ts.attendance, ts.cancelled_at) == ("upcoming", None, None)
        assert len(db_session.scalars(select(LedgerEntry)).all()) == 2


@pytest.mark.parametrize(
    ("path", "rows"),
    [
        ("/students", lambda b: {s.id for s in b.students}),
        ("/families", lambda b: {b.family.id}),
        ("/staff", lambda b: {b.admin.id, b.tutor.id, b.counselor.id}),
        ("/packages", lambda b: {b.extra["package_id"]}),
        ("/sessions", lambda b: {b.extra["session_id"]}),
        ("/offerings", lambda b: {b.extra["offering_id"]}),
        ("/purchases", lambda b: {b.extra["purchase_id"]}),
    ],
)
def test_lists_and_filters_show_only_the_key_business(api, rich, rival, path, rows):
    seen = {row["id"] for row in api.get(path, limit=100).get_json()["items"]}
    assert rows(rich) <= seen
    assert not rows(rival) & seen
    foreign_student = rival.students[0].id
    for filtered in ("/packages", "/sessions"):
        assert api.get(filtered, student=foreign_student).get_json()["items"] == []
    assert api.get("/sessions", staff=rival.tutor.id).get_json()["items"] == []
    assert api.get("/students", family=rival.family.id).get_json()["items"] == []
