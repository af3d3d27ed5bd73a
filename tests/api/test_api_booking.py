"""Booking and accepting for a family through the API (issue 19): the business's own
tools act as the admin of the key, through `scheduling.book_for_family` and
`scheduling.accept_for_family`, with the family's hour rules and the pages' refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from prepbase import scheduling
from prepbase.models import LedgerEntry, TutoringSession
from prepbase.tenancy import as_tenant
from tests.api.conftest import assert_problem, new_token
from tests.api.test_api_writes import entries, local, package_of, proposal, session_row


def booking(rich, **changes) -> dict:
    """Ada (who has the Growth Package, 23 hours left) with the tutor, 60 days ahead."""
    return proposal(rich, student_id=rich.students[0].id) | changes


def counts(db_session, business) -> tuple[int, int]:
    with as_tenant(business.tenant.id):
        return (
            db_session.scalar(select(func.count(TutoringSession.id))),
            db_session.scalar(select(func.count(LedgerEntry.id))),
        )


def last_entry(db_session, business) -> LedgerEntry:
    with as_tenant(business.tenant.id):
        return db_session.scalar(select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(1))


def refusal_of(db_session, business, verb) -> str:
    """The sentence the domain (and so the pages) gives for the same refusal."""
    with (
        as_tenant(business.tenant.id),
        pytest.raises(scheduling.DomainError) as refused,
        db_session.begin_nested(),
    ):
        verb()  # the savepoint is rolled back: nothing of it stays
    return refused.value.message


# --- book -----------------------------------------------------------------------------------


def test_book_is_upcoming_at_once_and_debits_like_the_family_booking(api, rich, db_session):
    package_id = rich.extra["package_id"]
    response = api.post("/sessions/book", json=booking(rich))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["charged_minutes"], body["package_id"]) == (
        "upcoming",
        60,
        package_id,
    )
    assert body["starts_at"] == booking(rich)["starts_at"]
    ts = session_row(db_session, rich, body["id"])
    assert (ts.scheduled_by_id, ts.booked_by_family) == (rich.admin.id, False)
    assert package_of(db_session, rich).remaining_minutes == 1380 - 60
    entry = last_entry(db_session, rich)
    assert (entry.kind, entry.minutes, entry.session_id, entry.actor_id) == (
        "debit",
        -60,
        ts.id,
        rich.admin.id,
    )
    # The family's own booking (the page's verb) of the same length moves the same hours
    # from the same package (rule 5).
    with as_tenant(rich.tenant.id):
        family_ts = scheduling.book_session(
            db_session, rich.tenant, rich.parent,
            student=rich.students[0], staff=rich.tutor, service="tutoring",
            starts_at=ts.starts_at + timedelta(days=1),
            duration_minutes=60,
        )  # fmt: skip
        db_session.commit()
    assert family_ts.package_id == package_id
    assert entries(db_session, rich, package_id)[-2:] == [("debit", -60), ("debit", -60)]
    assert package_of(db_session, rich).remaining_minutes == 1380 - 120


def test_book_without_enough_hours_is_409_with_the_pages_sentence_and_writes_nothing(
    api, rich, db_session
):
    before = counts(db_session, rich)
    ben = booking(rich, student_id=rich.students[1].id)  # Ben has no package
    body = assert_problem(api.post("/sessions/book", json=ben), 409)
    assert body["detail"].startswith("Not enough hours: Ben has 0 hours of Tutoring left")
    sentence = refusal_of(
        db_session,
        rich,
        lambda: scheduling.book_session(
            db_session, rich.tenant, rich.parent,
            student=rich.students[1], staff=rich.tutor, service="tutoring",
            starts_at=datetime.fromisoformat(local(61)),
            duration_minutes=60,
        ),
    )  # fmt: skip
    assert body["detail"] == sentence
    assert counts(db_session, rich) == before
    assert package_of(db_session, rich).remaining_minutes == 1380


@pytest.mark.parametrize(
    ("changes", "field", "detail"),
    [
        ({"starts_at": "2020-01-06T10:00:00-05:00"}, "starts_at", "Choose a time in the future."),
        ({"staff_id": "counselor"}, "staff_id", "Carl Counselor does not offer Tutoring."),
        ({"student_id": "rival"}, "student_id", "Choose a student of this business."),
        ({"staff_id": "rival tutor"}, "staff_id", "Choose a staff member of this business."),
        ({"duration_minutes": 0}, "duration_minutes", None),
        ({"starts_at": "taken"}, "starts_at", None),  # over Ada's booked session
    ],
)
def test_book_refusals_are_422_and_write_nothing(
    api, rich, rival, db_session, changes, field, detail
):
    taken = session_row(db_session, rich, rich.extra["session_id"]).starts_at
    values = {
        "counselor": rich.counselor.id,
        "rival": rival.students[0].id,
        "rival tutor": rival.tutor.id,
        "taken": taken.isoformat(),
    }
    changes = {k: values.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    before = counts(db_session, rich), counts(db_session, rival)
    body = assert_problem(api.post("/sessions/book", json=booking(rich, **changes)), 422)
    assert field in body["errors"], body
    if detail is not None:
        assert body["detail"] == detail
    if changes.get("starts_at") == values["taken"]:
        assert "already has a session then" in body["detail"]
    assert (counts(db_session, rich), counts(db_session, rival)) == before
    assert package_of(db_session, rich).remaining_minutes == 1380


def test_book_and_accept_need_a_read_write_key(api, rich, db_session):
    reader = api.as_(new_token(db_session, rich, scope="read"))
    before = counts(db_session, rich)
    assert_problem(reader.post("/sessions/book", json=booking(rich)), 403)
    proposed = api.post("/sessions", json=booking(rich)).get_json()
    assert_problem(reader.post(f"/sessions/{proposed['id']}/accept"), 403)
    assert session_row(db_session, rich, proposed["id"]).status == "pending"
    assert counts(db_session, rich) == (before[0] + 1, before[1])
    assert_problem(api.as_(None).post("/sessions/book", json=booking(rich)), 401)


def test_a_retried_booking_books_once(api, rich, db_session):
    key = {"Idempotency-Key": "book-1"}
    first = api.post("/sessions/book", json=booking(rich), headers=key)
    again = api.post("/sessions/book", json=booking(rich), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert package_of(db_session, rich).remaining_minutes == 1380 - 60
    other = booking(rich, starts_at=local(61))
    assert_problem(api.post("/sessions/book", json=other, headers=key), 422)
    assert package_of(db_session, rich).remaining_minutes == 1380 - 60


# --- accept ---------------------------------------------------------------------------------


def test_accept_debits_at_accept_with_the_admin_as_actor(api, rich, db_session):
    made = api.post("/sessions", json=booking(rich))
    session_id = made.get_json()["id"]
    assert package_of(db_session, rich).remaining_minutes == 1380  # proposing moves none
    response = api.post(f"/sessions/{session_id}/accept")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["charged_minutes"], body["package_id"]) == (
        "upcoming",
        60,
        rich.extra["package_id"],
    )
    assert package_of(db_session, rich).remaining_minutes == 1380 - 60
    entry = last_entry(db_session, rich)
    assert (entry.kind, entry.minutes, entry.session_id, entry.actor_id) == (
        "debit",
        -60,
        session_id,
        rich.admin.id,
    )
    again = api.post(f"/sessions/{session_id}/accept")
    assert_problem(again, 409, "This session is upcoming; it cannot be accepted now.")
    assert package_of(db_session, rich).remaining_minutes == 1380 - 60


def test_accept_without_enough_hours_is_409_and_the_proposal_stays(api, rich, db_session):
    made = api.post("/sessions", json=proposal(rich))  # Ben, who has no package
    session_id = made.get_json()["id"]
    before = counts(db_session, rich)
    body = assert_problem(api.post(f"/sessions/{session_id}/accept"), 409)
    ts = session_row(db_session, rich, session_id)
    sentence = refusal_of(
        db_session,
        rich,
        lambda: scheduling.accept_session(db_session, rich.tenant, rich.parent, ts),
    )
    assert body["detail"] == sentence and sentence.startswith("Not enough hours: Ben has")
    ts = session_row(db_session, rich, session_id)
    assert (ts.status, ts.package_id, ts.charged_minutes) == ("pending", None, 0)
    assert counts(db_session, rich) == before


def test_a_retried_accept_accepts_once(api, rich, db_session):
    session_id = api.post("/sessions", json=booking(rich)).get_json()["id"]
    key = {"Idempotency-Key": "accept-1"}
    first = api.post(f"/sessions/{session_id}/accept", headers=key)
    again = api.post(f"/sessions/{session_id}/accept", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert entries(db_session, rich, rich.extra["package_id"]).count(("debit", -60)) == 2
    assert package_of(db_session, rich).remaining_minutes == 1380 - 60


def test_accept_of_another_business_proposal_is_404_and_changes_nothing(
    api, rich, rival, db_session
):
    with as_tenant(rival.tenant.id):
        ts = scheduling.propose_session(
            db_session, rival.tenant, rival.admin,
            student=rival.students[0], staff=rival.tutor, service="tutoring",
            starts_at=datetime.fromisoformat(local(63)),
            duration_minutes=60,
        )  # fmt: skip
        db_session.commit()
    before = counts(db_session, rival)
    assert_problem(api.post(f"/sessions/{ts.id}/accept"), 404)
    assert session_row(db_session, rival, ts.id).status == "pending"
    assert counts(db_session, rival) == before
    assert package_of(db_session, rival).remaining_minutes == 1380
