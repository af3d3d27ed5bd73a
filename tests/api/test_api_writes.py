"""The write endpoints: the same verbs and hour rules as the pages, refusals as problems
with the pages' messages, Idempotency-Key, JSON only, per-key rate limits."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import api_keys, cancellation, packages, scheduling
from prepbase.errors import DomainError
from prepbase.models import (
    IdempotencyRecord,
    LedgerEntry,
    Package,
    TutoringSession,
    utcnow,
)
from prepbase.tenancy import as_tenant
from tests.api.conftest import Api, assert_problem, new_token
from tests.factories import ZONE, business_today
from tests.test_races import run_threads


def package_of(db_session, business) -> Package:
    with as_tenant(business.tenant.id):
        package = db_session.scalar(
            select(Package).where(Package.id == business.extra["package_id"])
        )
        db_session.refresh(package)
        return package


def entries(db_session, business, package_id: int) -> list[tuple[str, int]]:
    with as_tenant(business.tenant.id):
        return [
            (e.kind, e.minutes)
            for e in db_session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.package_id == package_id)
                .order_by(LedgerEntry.id)
            )
        ]


def session_row(db_session, business, session_id: int) -> TutoringSession:
    with as_tenant(business.tenant.id):
        ts = db_session.scalar(select(TutoringSession).where(TutoringSession.id == session_id))
        db_session.refresh(ts)
        return ts


def local(days: int, hour: int = 10) -> str:
    """An ISO 8601 time `days` ahead, at `hour` in New York, with the offset."""
    zone = ZoneInfo(ZONE)
    day = (utcnow().astimezone(zone) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour), tzinfo=zone).isoformat()


def proposal(rich, **changes) -> dict:
    return {
        "student_id": rich.students[1].id,
        "staff_id": rich.tutor.id,
        "service": "tutoring",
        "starts_at": local(60),
        "duration_minutes": 60,
    } | changes


# --- sessions --------------------------------------------------------------------------------


def test_propose_makes_a_pending_session_and_moves_no_hours(api, rich, db_session):
    before = package_of(db_session, rich).remaining_minutes
    response = api.post("/sessions", json=proposal(rich, student_id=rich.students[0].id))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["charged_minutes"], body["package_id"]) == ("pending", 0, None)
    assert body["starts_at"] == proposal(rich)["starts_at"]
    ts = session_row(db_session, rich, body["id"])
    assert (ts.status, ts.scheduled_by_id, ts.staff_id) == ("pending", rich.admin.id, rich.tutor.id)
    assert package_of(db_session, rich).remaining_minutes == before
    # The family accepts in its portal: the hours are debited by the page's rule.
    with as_tenant(rich.tenant.id):
        scheduling.accept_session(db_session, rich.tenant, rich.parent, ts)
        db_session.commit()
    assert package_of(db_session, rich).remaining_minutes == before - 60


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"starts_at": "2020-01-06T10:00:00-05:00"}, "starts_at", "Choose a time in the future."),
        ({"starts_at": "2027-01-06T10:00:00"}, "starts_at", None),
        ({"service": "painting"}, "service", None),
        ({"duration_minutes": 0}, "duration_minutes", None),
        ({"staff_id": "parent"}, "staff_id", "Choose a staff member of this business."),
        ({"student_id": "rival"}, "student_id", "Choose a student of this business."),
        ({"staff_id": "counselor"}, "staff", None),  # counseling staff for tutoring
    ],
)
def test_propose_refusals_are_422_with_the_field(
    api, rich, rival, db_session, changes, field, message
):
    people = {
        "parent": rich.parent.id,
        "rival": rival.students[0].id,
        "counselor": rich.counselor.id,
    }
    changes = {k: people.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    body = assert_problem(api.post("/sessions", json=proposal(rich, **changes)), 422)
    assert field in body["errors"] or (field == "staff" and "staff_id" in body["errors"]), body
    if message is not None:
        assert body["detail"] == message
    with as_tenant(rich.tenant.id):
        assert db_session.scalar(select(func.count(TutoringSession.id))) == 3  # nothing added


def test_cancel_refunds_all_to_the_package_like_the_page(api, rich, db_session):
    session_id, package_id = rich.extra["session_id"], rich.extra["package_id"]
    response = api.post(f"/sessions/{session_id}/cancel", json={"reason": "Flu"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "cancelled"
    assert package_of(db_session, rich).remaining_minutes == 24 * 60
    assert entries(db_session, rich, package_id) == [
        ("grant", 1440),
        ("debit", -60),
        ("refund", 60),
    ]
    ts = session_row(db_session, rich, session_id)
    assert (ts.cancel_reason, ts.cancelled_by_id) == ("Flu", rich.admin.id)

    again = api.post(f"/sessions/{session_id}/cancel", json={})
    # the sentence the pages show for the same refusal
    with as_tenant(rich.tenant.id), pytest.raises(DomainError) as refused:
        scheduling.cancel_session(db_session, rich.tenant, rich.admin, ts)
    db_session.rollback()
    assert_problem(again, 409, refused.value.message)


def test_cancel_applying_the_policy_keeps_the_late_share(api, rich, db_session):
    with as_tenant(rich.tenant.id):
        cancellation.update_policy(
            db_session, rich.tenant, window_hours=168, keep_percent=50, free_per_month=None,
            no_show_uses_hours=True, text="", proposal_expiry_hours=0,
        )  # fmt: skip
        db_session.commit()
    made = api.post(
        "/sessions", json=proposal(rich, student_id=rich.students[0].id, starts_at=local(3))
    )
    ts = session_row(db_session, rich, made.get_json()["id"])
    with as_tenant(rich.tenant.id):
        scheduling.accept_session(db_session, rich.tenant, rich.parent, ts)
        db_session.commit()
    assert package_of(db_session, rich).remaining_minutes == 1380 - 60
    response = api.post(f"/sessions/{ts.id}/cancel", json={"hours": "apply_policy"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert package_of(db_session, rich).remaining_minutes == 1380 - 30  # half kept
    assert entries(db_session, rich, rich.extra["package_id"])[-2:] == [
        ("refund", 60),
        ("late_cancellation", -30),
    ]
    assert_problem(api.post(f"/sessions/{ts.id}/cancel", json={"hours": "all"}), 422)


def test_attendance_and_action_plan_complete_a_session(api, rich, db_session, monkeypatch):
    session_id = rich.extra["session_id"]
    ts = session_row(db_session, rich, session_id)
    early = api.post(f"/sessions/{session_id}/attendance", json={"attendance": "present"})
    assert early.status_code == 409  # it has not started: the lifecycle's refusal
    with as_tenant(rich.tenant.id):
        ts.starts_at = utcnow() - timedelta(hours=2)
        ts.ends_at = utcnow() - timedelta(hours=1)
        db_session.commit()
    response = api.post(f"/sessions/{session_id}/attendance", json={"attendance": "late"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["attendance"] == "late"
    assert_problem(api.post(f"/sessions/{session_id}/action-plan", json={"topics": "  "}), 422)
    done = api.post(
        f"/sessions/{session_id}/action-plan",
        json={"topics": "Essays", "goals": "Structure", "next_steps": "Draft"},
    )
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "completed"
    assert body["plan"]["topics"] == "Essays" and body["plan"]["submitted_at"]
    assert package_of(db_session, rich).remaining_minutes == 1380  # completing moves none
    body = assert_problem(
        api.post(f"/sessions/{session_id}/attendance", json={"attendance": "x"}), 422
    )
    assert list(body["errors"]) == ["attendance"]


def test_confirm_a_family_booking(api, rich, db_session):
    session_id = rich.extra["session_id"]
    assert api.post(f"/sessions/{session_id}/confirm").status_code == 200
    assert session_row(db_session, rich, session_id).confirmed_at is not None


# --- packages ---------------------------------------------------------------------------------


def test_add_package_from_an_offering_or_terms(api, rich, rival, db_session):
    student = rich.students[1].id
    made = api.post(
        "/packages", json={"student_id": student, "offering_id": rich.extra["offering_id"]}
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert (body["name"], body["total_minutes"], body["remaining_hours"]) == (
        "Growth Package",
        1440,
        "24",
    )
    assert entries(db_session, rich, body["id"]) == [("grant", 1440)]
    custom = api.post(
        "/packages",
        json={"student_id": student, "name": "Summer", "service": "counseling", "hours": "7.5",
              "start_date": "2020-01-01", "expires_on": "2020-06-30"},
    )  # fmt: skip
    assert custom.status_code == 201
    assert (custom.get_json()["total_minutes"], custom.get_json()["status"]) == (450, "inactive")

    for data, field in (
        ({"name": "X", "service": "tutoring", "hours": "1.234"}, "hours"),
        ({"name": "X", "service": "tutoring", "hours": "0"}, "hours"),
        ({"name": "X", "service": "tutoring", "hours": "9999"}, "hours"),
        ({"service": "tutoring", "hours": "2"}, "name"),
        ({"offering_id": rival.extra["offering_id"]}, "offering_id"),
    ):
        body = assert_problem(api.post("/packages", json={"student_id": student} | data), 422)
        assert field in body["errors"], body
    assert_problem(
        api.post("/packages", json={"student_id": rival.students[0].id, "offering_id": None}), 404
    )


def test_adjust_hours_with_a_note(api, rich, db_session):
    package_id = rich.extra["package_id"]
    response = api.post(f"/packages/{package_id}/adjustments", json={"hours": "2", "note": "Gift"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["entry"]["kind"] == "adjustment" and body["entry"]["note"] == "Gift"
    assert (body["entry"]["minutes"], body["package"]["remaining_minutes"]) == (120, 1500)
    assert body["package"]["total_minutes"] == 1560
    body = assert_problem(
        api.post(f"/packages/{package_id}/adjustments", json={"hours": "-30", "note": "Oops"}), 422
    )
    assert body["detail"] == "Only 25 hours are left; a package cannot go below zero."
    body = assert_problem(
        api.post(f"/packages/{package_id}/adjustments", json={"hours": "1", "note": "  "}), 422
    )
    assert body["errors"] == {"note": ["Say why the hours change: the note is required."]}
    assert package_of(db_session, rich).remaining_minutes == 1500


# --- the request itself -----------------------------------------------------------------------


def test_writes_need_json_and_are_exempt_from_csrf(app, raw_client, rich, db_session):
    api = Api(raw_client, new_token(db_session, rich))  # no CSRF token at all
    package_id = rich.extra["package_id"]
    path = f"/packages/{package_id}/adjustments"
    assert api.post(path, json={"hours": "1", "note": "ok"}).status_code == 201
    assert_problem(api.post(path, data={"hours": "1", "note": "form"}), 415)
    assert_problem(
        api.post(path, data="{broken", headers={"Content-Type": "application/json"}), 400
    )
    assert_problem(api.post(path, json=["not", "an", "object"]), 422)
    assert package_of(db_session, rich).remaining_minutes == 1380 + 60


def test_unknown_path_and_method_are_problems(api):
    assert_problem(api.client.get("/api/v1/nothing", headers=api.headers()), 404)
    response = api.client.delete("/api/v1/students", headers=api.headers())
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_read_key_may_not_write(api, rich, db_session):
    reader = api.as_(new_token(db_session, rich, scope="read"))
    assert reader.get("/packages").status_code == 200
    assert_problem(
        reader.post(
            f"/packages/{rich.extra['package_id']}/adjustments", json={"hours": "1", "note": "x"}
        ),
        403,
    )
    assert package_of(db_session, rich).remaining_minutes == 1380


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_a_retried_post_returns_the_first_response_and_writes_once(api, rich, db_session):
    package_id = rich.extra["package_id"]
    path = f"/packages/{package_id}/adjustments"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post(path, json={"hours": "2", "note": "Gift"}, headers=key)
    assert first.status_code == 201
    again = api.post(path, json={"hours": "2", "note": "Gift"}, headers=key)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert entries(db_session, rich, package_id).count(("adjustment", 120)) == 1
    assert package_of(db_session, rich).remaining_minutes == 1500

    other_body = api.post(path, json={"hours": "3", "note": "Gift"}, headers=key)
    body = assert_problem(other_body, 422)
    assert body["errors"] == {
        "Idempotency-Key": ["This Idempotency-Key was already used with another request."]
    }
    assert package_of(db_session, rich).remaining_minutes == 1500
    # another key is another request; no key, no memory
    assert (
        api.post(
            path, json={"hours": "2", "note": "Gift"}, headers={"Idempotency-Key": "k2"}
        ).status_code
        == 201
    )
    assert api.post(path, json={"hours": "2", "note": "Gift"}).status_code == 201
    assert package_of(db_session, rich).remaining_minutes == 1740


def test_idempotency_keys_are_per_api_key_and_refusals_are_not_kept(api, rich, db_session):
    package_id = rich.extra["package_id"]
    path = f"/packages/{package_id}/adjustments"
    key = {"Idempotency-Key": "same"}
    refused = api.post(path, json={"hours": "-100", "note": "x"}, headers=key)
    assert_problem(refused, 422)
    with as_tenant(rich.tenant.id):
        assert db_session.scalar(select(func.count(IdempotencyRecord.id))) == 0
    # the same key with a request that can succeed now does the work
    assert api.post(path, json={"hours": "1", "note": "x"}, headers=key).status_code == 201
    other = api.as_(new_token(db_session, rich))
    assert other.post(path, json={"hours": "1", "note": "x"}, headers=key).status_code == 201
    assert package_of(db_session, rich).remaining_minutes == 1380 + 120
    for bad in ("", "x" * 256, "tab\there"):
        body = assert_problem(
            api.post(path, json={"hours": "1", "note": "x"}, headers={"Idempotency-Key": bad}), 422
        )
        assert list(body["errors"]) == ["Idempotency-Key"]


def test_idempotent_session_proposal_is_made_once(api, rich, db_session):
    key = {"Idempotency-Key": "propose-1"}
    first = api.post("/sessions", json=proposal(rich), headers=key)
    again = api.post("/sessions", json=proposal(rich), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    with as_tenant(rich.tenant.id):
        assert db_session.scalar(select(func.count(TutoringSession.id))) == 4


# --- rate limits ------------------------------------------------------------------------------


def test_each_key_is_rate_limited_reads_and_writes_apart(app, api, rich, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "API_READ_RATE_LIMIT", "3 per minute")
    monkeypatch.setitem(app.config, "API_WRITE_RATE_LIMIT", "2 per minute")
    for _ in range(3):
        assert api.get("/students").status_code == 200
    limited = api.get(f"/packages/{rich.extra['package_id']}")  # any read endpoint counts
    assert_problem(limited, 429)
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    path = f"/packages/{rich.extra['package_id']}/adjustments"
    for _ in range(2):  # writes have their own budget
        assert api.post(path, json={"hours": "1", "note": "x"}).status_code == 201
    assert_problem(api.post(path, json={"hours": "1", "note": "x"}), 429)
    assert package_of(db_session, rich).remaining_minutes == 1380 + 120
    # another key of the same business has its own budget
    assert api.as_(new_token(db_session, rich)).get("/students").status_code == 200


def test_concurrent_copies_of_one_request_run_once(app, committed, engine):
    """Four copies of a POST with one Idempotency-Key at the same moment, on committed
    data: one does the work, the others wait for it and replay its response."""
    with as_tenant(committed.tenant.id), Session(engine, expire_on_commit=False) as session:
        admin = session.merge(committed.admin)
        package = packages.assign_package(
            session, admin, session.merge(committed.students[0]), name="P", service="tutoring",
            package_type="one_time", period=None, minutes=600, start_date=business_today(),
        )  # fmt: skip
        token = api_keys.create_api_key(session, admin, name="Race", scope="read_write").token
        session.commit()

    def work(_i: int) -> str:
        response = app.test_client().post(
            f"/api/v1/packages/{package.id}/adjustments",
            json={"hours": "1", "note": "once"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "race"},
        )
        return f"{response.status_code} {response.get_json()['entry']['id']}"

    outcomes = run_threads(4, work)
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("201 "), outcomes
    with as_tenant(committed.tenant.id), Session(engine) as session:
        kinds = session.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.package_id == package.id)
        ).all()
        assert sorted(kinds) == ["adjustment", "grant"]
        assert (
            session.scalar(select(Package.remaining_minutes).where(Package.id == package.id)) == 660
        )


def test_idempotency_keys_are_forgotten_after_a_day(app, api, rich, db_session):
    path = f"/packages/{rich.extra['package_id']}/adjustments"
    for key in ("old", "new"):
        response = api.post(
            path, json={"hours": "1", "note": key}, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201
    with as_tenant(rich.tenant.id):
        old = db_session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.idempotency_key == "old")
        )
        old.created_at = utcnow() - timedelta(hours=25)
        db_session.commit()
    result = app.test_cli_runner().invoke(args=["prepbase", "forget-idempotency"])
    assert result.exit_code == 0 and "1 idempotency record(s) forgotten." in result.output
    with as_tenant(rich.tenant.id):
        left = db_session.scalars(select(IdempotencyRecord.idempotency_key)).all()
    assert left == ["new"]
    # a forgotten key is a new request again
    again = api.post(path, json={"hours": "1", "note": "old"}, headers={"Idempotency-Key": "old"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers


def test_too_large_and_unexpected_errors_are_problems_too(app, api, rich, monkeypatch):
    path = f"/packages/{rich.extra['package_id']}/adjustments"
    huge = '{"note": "' + "x" * (2 * 1024 * 1024) + '", "hours": "1"}'
    assert_problem(api.post(path, data=huge, headers={"Content-Type": "application/json"}), 413)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("prepbase.api.people.paginate", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    body = assert_problem(api.get("/students"), 500)
    assert "a bug" not in body["detail"]
    assert package_of_id(api, rich) == 1380  # the app answers again at once


def package_of_id(api, business) -> int:
    return api.get(f"/packages/{business.extra['package_id']}").get_json()["remaining_minutes"]
