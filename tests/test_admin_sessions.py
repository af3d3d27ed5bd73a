"""Admin → Sessions: every session of the business with filters, and a student profile's
Sessions tab. Acting on a session happens on the staff session page (tested in
test_tutor_sessions.py); here: the lists, their filters and who may see them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from prepbase import scheduling
from prepbase.models import utcnow
from tests.test_tutor_sessions import World, local_at, local_day, statements, text


@pytest.fixture
def world(app, business, db_session) -> World:
    return World(app, business, db_session)


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


@pytest.fixture
def sessions(world, business):
    """One session of each status, across staff members and students."""
    world.give("20")
    world.give("20", student=1)
    world.give("20", service="counseling")
    rows = {
        "upcoming": world.book(60, at=local_at(local_day(2), 9)),
        "pending": world.propose(90, at=local_at(local_day(3), 10), student=1),
        "counseling": world.book(
            60, at=local_at(local_day(4), 11), staff=business.counselor, service="counseling"
        ),
        "completed": world.started(30, at=utcnow() - timedelta(days=2)),
        "cancelled": world.book(60, at=local_at(local_day(5), 12), student=1),
    }
    world.complete(rows["completed"])
    with world.scope():
        scheduling.cancel_session(world.db, business.tenant, business.parent, rows["cancelled"])
        world.db.commit()
    return rows


def link(ts) -> str:
    return f'href="/acme/tutor/sessions/{ts.id}"'


def shown(body: str, rows: dict, *names: str) -> None:
    """Exactly the sessions `names` are listed."""
    for name, ts in rows.items():
        assert (link(ts) in body) == (name in names), name


def test_all_sessions_are_listed_with_links_to_act(admin, sessions):
    response = admin.get("/acme/admin/sessions")
    assert response.status_code == 200
    body = text(response)
    shown(body, sessions, *sessions)
    assert "Tara Tutor" in body and "Carl Counselor" in body
    assert "5 sessions" in body
    assert 'href="/acme/tutor/sessions/new"' in body and "Propose Session" in body
    for header in ("Package Name", "Remaining Hrs today", "Status"):
        assert f'<th scope="col">{header}</th>' in body


def test_sessions_list_links_to_what_may_be_done_now(admin, world, sessions):
    started = world.started(45, at=utcnow() - timedelta(minutes=20), student=1)
    body = text(admin.get("/acme/admin/sessions"))
    assert '<th scope="col">Actions</th>' in body

    def actions(ts) -> list[str]:
        row = re.search(rf'<tr>\s*<td data-label="Start"><a {link(ts)}>.*?</tr>', body, re.S)[0]
        cell = re.findall(r'<td class="actions">(.*?)</td>', row, re.S)[0]
        return re.findall(r'<a href="[^"]+#([\w-]+)">', cell)

    assert actions(sessions["upcoming"]) == ["actions-title", "cancel-form"]  # a new booking
    assert actions(sessions["pending"]) == ["cancel-form"]
    assert actions(started) == ["actions-title", "attendance-form", "plan-form", "cancel-form"]
    assert actions(sessions["completed"]) == actions(sessions["cancelled"]) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=pending", ["pending"]),
        ("status=completed", ["completed"]),
        ("status=cancelled", ["cancelled"]),
        ("staff={counselor}", ["counseling"]),
        ("student={ben}", ["pending", "cancelled"]),
        ("student={ada}&status=upcoming", ["upcoming", "counseling"]),
        ("date_from={day3}&date_to={day4}", ["pending", "counseling"]),
        ("date_to={yesterday}", ["completed"]),
        ("date_from={day5}&date_to={day5}", ["cancelled"]),
    ],
)
def test_filters(admin, business, sessions, query, expected):
    url = "/acme/admin/sessions?" + query.format(
        counselor=business.counselor.id,
        ben=business.students[1].id,
        ada=business.students[0].id,
        day3=local_day(3).isoformat(),
        day4=local_day(4).isoformat(),
        day5=local_day(5).isoformat(),
        yesterday=local_day(-1).isoformat(),
    )
    response = admin.get(url)
    assert response.status_code == 200
    shown(text(response), sessions, *expected)


def test_filter_over_htmx_returns_only_the_results(admin, sessions):
    response = admin.get("/acme/admin/sessions?status=pending", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = text(response).strip()
    assert body.startswith('<div id="session-results">') and "<html" not in body
    assert "<select" not in body  # the filters stay as they are on the page
    assert "HX-Request" in response.headers["Vary"]
    shown(body, sessions, "pending")


def test_filter_form_works_without_javascript(admin, business, sessions):
    body = text(admin.get(f"/acme/admin/sessions?staff={business.counselor.id}"))
    assert '<form method="get" action="/acme/admin/sessions" aria-label="Filter sessions"' in body
    assert 'hx-push-url="true"' in body and 'hx-target="#session-results"' in body
    assert f'<option selected value="{business.counselor.id}">Carl Counselor</option>' in body
    assert "Clear filters" in body
    shown(body, sessions, "counseling")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=lost", "Choose a status from the list."),
        ("staff={rival_tutor}", "Choose a tutor or counselor of this business."),
        ("staff={parent}", "Choose a tutor or counselor of this business."),
        ("staff=abc", "Choose a tutor or counselor of this business."),
        ("student={rival_student}", "Choose a student of this business."),
        ("student=999999", "Choose a student of this business."),
        ("date_from={day4}&date_to={day3}", "The end date is before the start date."),
        ("date_from=2026-02-30", "Not a valid date value."),
    ],
)
def test_bad_filters_are_422_with_a_message(
    admin, business, other_business, sessions, query, message
):
    url = "/acme/admin/sessions?" + query.format(
        rival_tutor=other_business.tutor.id,
        rival_student=other_business.students[0].id,
        parent=business.parent.id,
        day3=local_day(3).isoformat(),
        day4=local_day(4).isoformat(),
    )
    response = admin.get(url)
    assert response.status_code == 422
    body = text(response)
    assert message in body
    shown(body, sessions)  # nothing listed
    response = admin.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert text(response).strip().startswith('<div id="session-results">')


def test_sessions_list_is_paged(admin, world, business):
    world.give("100")
    for day in range(2, 55):
        world.propose(30, at=local_at(local_day(day), 9))
    body = text(admin.get("/acme/admin/sessions?status=pending"))
    assert "53 sessions" in body and "page 1 of 2" in body
    assert "/acme/admin/sessions?page=2&amp;status=pending" in body
    body = text(admin.get("/acme/admin/sessions?status=pending&page=2"))
    assert len(re.findall(r'href="/acme/tutor/sessions/\d+"', body)) == 3


def test_a_sessions_page_past_the_end_shows_the_last_page(admin, world, business):
    world.give("100")
    for day in range(2, 55):
        world.propose(30, at=local_at(local_day(day), 9))
    body = text(admin.get("/acme/admin/sessions?status=pending&page=40"))
    assert "53 sessions" in body and "page 2 of 2" in body
    assert len(re.findall(r'href="/acme/tutor/sessions/\d+"', body)) == 3
    assert "/acme/admin/sessions?page=1&amp;status=pending" in body  # Previous page


def test_sessions_list_costs_the_same_statements_for_many_rows(app, admin, world, business):
    world.give("100")
    world.give("100", student=1)
    world.book(60)
    few = statements(app, admin, "/acme/admin/sessions")
    for day in range(3, 12):
        world.book(30, at=local_at(local_day(day), 9), student=day % 2)
        world.propose(30, at=local_at(local_day(day), 14), student=day % 2)
    assert statements(app, admin, "/acme/admin/sessions") == few


@pytest.mark.parametrize("role", ["tutor", "counselor", "parent", "student"])
def test_only_admins_see_all_sessions(client, auth, business, role):
    auth.as_role(business, role)
    assert client.get("/acme/admin/sessions").status_code == 403
    sid = business.students[0].id
    assert client.get(f"/acme/admin/students/{sid}/sessions").status_code == 403


# --- the student profile's Sessions tab ---------------------------------------------------


def part(body: str, title: str) -> str:
    start = body.index(f">{title}</h3>")
    end = body.find("<h3", start + 1)
    return body[start : end if end != -1 else len(body)]


def test_student_sessions_tab(admin, business, sessions):
    ada = business.students[0].id
    body = text(admin.get(f"/acme/admin/students/{ada}/sessions"))
    assert 'aria-current="page">Sessions' in body
    upcoming = part(body, "Upcoming Sessions")
    assert link(sessions["upcoming"]) in upcoming and link(sessions["counseling"]) in upcoming
    assert "Carl Counselor" in upcoming
    assert "No sessions are waiting" in part(body, "Pending Sessions")
    completed = part(body, "Completed Sessions")
    assert link(sessions["completed"]) in completed and "Quadratics" in completed
    assert link(sessions["pending"]) not in body and link(sessions["cancelled"]) not in body
    assert f'href="/acme/tutor/sessions/new?student={ada}"' in body

    ben = business.students[1].id
    body = text(admin.get(f"/acme/admin/students/{ben}/sessions"))
    pending = part(body, "Pending Sessions")
    assert link(sessions["pending"]) in pending and "Charged when accepted" in pending
    assert "No upcoming sessions for Ben." in body
    assert "<details>" in body and "Cancelled and declined sessions (1)" in body
    assert link(sessions["cancelled"]) in body[body.index("Cancelled and declined") :]


def test_student_sessions_tab_over_htmx(admin, business, sessions):
    sid = business.students[0].id
    response = admin.get(f"/acme/admin/students/{sid}/sessions", headers={"HX-Request": "true"})
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert body.strip().startswith('<nav aria-label="Student profile"')
    assert "Upcoming Sessions" in body and "Completed Sessions" in body


def test_student_sessions_tab_costs_the_same_statements(app, admin, world, business):
    world.give("100")
    sid = business.students[0].id
    world.book(60)
    world.propose(60)
    few = statements(app, admin, f"/acme/admin/students/{sid}/sessions")
    for day in range(4, 10):
        world.book(30, at=local_at(local_day(day), 9))
        world.propose(30, at=local_at(local_day(day), 14))
    assert statements(app, admin, f"/acme/admin/students/{sid}/sessions") == few


def test_another_business_student_tab_is_404(admin, other_business):
    sid = other_business.students[0].id
    assert admin.get(f"/acme/admin/students/{sid}/sessions").status_code == 404
