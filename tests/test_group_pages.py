"""The pages of group sessions (issue 14): Propose Session with other participating
students, the group page and its forms, the Calendar's one event per group, and a family
joining an open group from its dashboard without seeing anyone else's child."""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import select

from prepbase import scheduling
from prepbase.localtime import local_to_utc
from prepbase.models import SessionGroup, SessionStatus, TutoringSession
from prepbase.tenancy import as_tenant
from tests.factories import business_today
from tests.test_category_booking import online
from tests.test_group_sessions import other_family
from tests.test_series_pages import Acme

HX = {"HX-Request": "true"}
DAY = business_today(10)


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def acme(app, business, db_session) -> Acme:
    return Acme(app, business, db_session)


@pytest.fixture
def trio(acme):
    """A three-seat category families may join, 10 hours for Ada and Ben, and the Cruz
    family (Paz, and Cy with 10 hours)."""
    acme.give("10", student=0)
    acme.give("10", student=1)
    with acme.scope():
        category = online(acme.db, name="SAT group", capacity=3, families_may_join=True)
        cruz_parent, cy = other_family(acme.db, acme.b)
        acme.db.commit()
    return category, cruz_parent, cy


def propose_form(business, others, category, **changes) -> dict[str, object]:
    return {
        "student": str(business.students[0].id),
        "others": [str(i) for i in others],
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "category": str(category.id),
        "date": DAY.isoformat(),
        "start_time": "16:00",
        "duration": "1",
    } | changes


def test_propose_a_group_and_open_its_page(client, auth, business, acme, trio):
    category, _, cy = trio
    auth.as_role(business, "admin")
    page = text(client.get("/acme/tutor/sessions/new"))
    assert "Other participating students (a group session)" in page
    response = client.post(
        "/acme/tutor/sessions/new", data=propose_form(business, [cy.id], category), headers=HX
    )
    assert response.status_code == 204 and "HX-Redirect" in response.headers, text(response)
    assert re.search(r"/acme/tutor/groups/\d+$", response.headers["HX-Redirect"])
    body = text(client.get(response.headers["HX-Redirect"]))
    assert "2 of 3 seats taken" in body and "Ada Acme" in body and "Cy Cruz" in body
    assert "Charged when the family accepts" in body
    assert "Cancel Group Session" in body and "Reschedule the group" in body
    # the Calendar shows the group once, naming both students, opening the group page
    week = text(client.get(f"/acme/admin/schedule?view=week&date={DAY.isoformat()}"))
    assert week.count("Ada Acme, Cy Cruz") == 1
    assert response.headers["HX-Redirect"] in week


@pytest.mark.parametrize(
    ("others", "category_name", "message"),
    [
        ("ben", "Session", "Session sessions take one student"),
        ("ada", "SAT group", "Choose each student once."),
        ("999999999999999999999", "SAT group", "Choose the students from the list."),
    ],
)
def test_a_group_that_cannot_be_is_refused_in_the_form(
    client, auth, business, acme, trio, others, category_name, message
):
    category, _, _ = trio
    with acme.scope():
        chosen = acme.db.scalar(select(type(category)).where(type(category).name == category_name))
    ids = {"ben": business.students[1].id, "ada": business.students[0].id}
    auth.as_role(business, "admin")
    response = client.post(
        "/acme/tutor/sessions/new",
        data=propose_form(business, [ids.get(others, others)], chosen),
        headers=HX,
    )
    assert response.status_code == 422
    body = text(response)
    assert message in body and 'id="others-error"' in body
    with acme.scope():
        assert acme.db.scalars(select(TutoringSession)).all() == []
        assert acme.db.scalars(select(SessionGroup)).all() == []


def make_group(acme, trio, students=None):
    category, _, cy = trio
    with acme.scope():
        made = scheduling.propose_group(
            acme.db, acme.b.tenant, acme.b.admin,
            students=students or [acme.b.students[0], cy], staff=acme.b.tutor,
            service="tutoring", starts_at=local_to_utc(acme.b.tenant, DAY, time(16)),
            duration_minutes=60, category=category,
        )  # fmt: skip
        acme.db.commit()
    return made


def test_a_family_joins_an_open_group_and_sees_no_other_child(client, auth, business, acme, trio):
    _, _, cy = trio
    made = make_group(acme, trio, [cy, acme.b.students[0]])
    group_id = made[0].group_id
    auth.as_role(business, "parent")
    dashboard = text(client.get("/acme/family/"))
    assert "Group sessions you can join" in dashboard and "1 seat left" in dashboard
    assert "Cy" not in dashboard and "Cruz" not in dashboard
    # Ada is in it already: only Ben is offered
    join_form = dashboard.split(f'id="join-{group_id}"')[1].split("</form>")[0]
    assert "Join with Ben" in join_form and "Ada" not in join_form
    # someone else's student, or an id that is no id: 404, nothing booked
    for student, status in ((str(cy.id), 404), ("1" * 30, 404), ("\x00", 422)):
        response = client.post(f"/acme/family/groups/{group_id}/join", data={"student": student})
        assert response.status_code == status
    response = client.post(
        f"/acme/family/groups/{group_id}/join",
        data={"student": str(business.students[1].id)},
        headers=HX,
    )
    assert response.status_code == 200
    body = text(response)
    assert "Ben joined the group session" in body and "Cruz" not in body
    with acme.scope():
        ben = acme.db.scalar(
            select(TutoringSession).where(TutoringSession.student_id == business.students[1].id)
        )
        assert (ben.group_id, ben.status, ben.charged_minutes) == (
            group_id, SessionStatus.UPCOMING, 60,
        )  # fmt: skip
    # full now: the offer is gone, and a forced join is refused in the page
    assert "Group sessions you can join" not in text(client.get("/acme/family/"))
    response = client.post(
        f"/acme/family/groups/{group_id}/join",
        data={"student": str(business.students[1].id)},
        headers=HX,
    )
    assert response.status_code == 422 and "Ben is in this group session already" in text(response)
    # the family's session page names its own child only
    page = text(client.get(f"/acme/family/sessions/{ben.id}"))
    assert "A group session" in page and "Cruz" not in page


def test_group_attendance_refuses_odd_values_and_staff_of_others_get_404(
    client, auth, business, acme, trio
):
    made = make_group(acme, trio)
    group_id = made[0].group_id
    auth.as_role(business, "tutor")
    assert client.get(f"/acme/tutor/groups/{group_id}").status_code == 200
    # before the start: attendance is not offered, and a forced one is refused
    field = f"p{made[0].id}"
    for value in ("present", "sideways", "\x00"):
        response = client.post(
            f"/acme/tutor/groups/{group_id}/attendance", data={field: value}, headers=HX
        )
        assert response.status_code == 422
    auth.logout(business)
    auth.as_role(business, "counselor")
    assert client.get(f"/acme/tutor/groups/{group_id}").status_code == 404
    assert client.post(f"/acme/tutor/groups/{group_id}/cancel").status_code == 404
    with as_tenant(business.tenant.id):
        assert {ts.status for ts in acme.db.scalars(select(TutoringSession))} == {
            SessionStatus.PENDING
        }


def test_staff_lists_link_a_participation_to_its_group_and_families_get_no_link(
    client, auth, business, acme, trio
):
    made = make_group(acme, trio)
    group_url = f"/acme/tutor/groups/{made[0].group_id}"
    auth.as_role(business, "admin")
    assert f'href="{group_url}"' in text(client.get("/acme/admin/sessions"))
    auth.logout(business)
    auth.as_role(business, "parent")
    dashboard = text(client.get("/acme/family/"))
    assert "Group session" in dashboard and group_url not in dashboard


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("plan", {"topics": "x" * 1_000_000}),
        ("plan", {"topics": "Fine", "note_{id}": "y" * 1_000_000}),
        ("reschedule", {"date": "9999-12-31", "start_time": "16:00"}),
        ("reschedule", {"date": "0001-01-01", "start_time": "16:00"}),
        ("reschedule", {"date": "2027-02-30", "start_time": "25:99"}),
        ("cancel", {"cancel-reason": "z" * 1_000_000}),
    ],
)
def test_hostile_input_on_the_group_page_is_refused_in_the_page(
    client, auth, business, acme, trio, action, data
):
    made = make_group(acme, trio)
    group_id = made[0].group_id
    auth.as_role(business, "tutor")
    posted = {key.format(id=made[0].id): value for key, value in data.items()}
    response = client.post(f"/acme/tutor/groups/{group_id}/{action}", data=posted, headers=HX)
    assert response.status_code == 422
    with as_tenant(business.tenant.id):
        rows = acme.db.scalars(select(TutoringSession)).all()
        assert {(ts.status, ts.starts_at) for ts in rows} == {
            (SessionStatus.PENDING, made[0].starts_at)
        }
