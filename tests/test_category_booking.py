"""Book Session and Propose Session with categories and subjects, and buffers around
sessions in open slots and overlap checks (issue 14, part C)."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from prepbase import availability, categories, scheduling
from prepbase.errors import DomainError
from prepbase.models import SessionSeries, TutoringSession, buffers_clash
from prepbase.series import NewSeries, make_rule
from prepbase.tenancy import as_tenant
from tests.factories import business_today
from tests.test_series_pages import Acme
from tests.test_slots import MONDAY, NOW, clock, give, local, set_hours, slots
from tests.test_slots import world as world

HX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


def online(db_session, **changes):
    values = {
        "name": "Online",
        "colour": "#6d28d9",
        "location_type": "virtual",
        "location": None,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "reminder_hours": None,
        "link_lead_minutes": 30,
        "capacity": 1,
        "families_may_join": False,
    }
    return categories.save_category(db_session, None, **(values | changes))


# --- the buffer rule ----------------------------------------------------------------------


def test_buffers_clash_keeps_the_larger_facing_buffer_free():
    nine, ten, ten_fifteen = local(MONDAY, 9), local(MONDAY, 10), local(MONDAY, 10, 15)
    eleven, eleven_fifteen = local(MONDAY, 11), local(MONDAY, 11, 15)
    # back to back: fine without buffers, not with 15 minutes after the first
    assert not buffers_clash(ten, eleven, (0, 0), nine, ten, (0, 0))
    assert buffers_clash(ten, eleven, (0, 0), nine, ten, (0, 15))
    assert buffers_clash(ten, eleven, (15, 0), nine, ten, (0, 0))
    # 15 minutes apart with 15-minute buffers facing each other: the larger, not the sum
    assert not buffers_clash(ten_fifteen, eleven_fifteen, (15, 0), nine, ten, (0, 15))
    assert buffers_clash(ten_fifteen, eleven_fifteen, (20, 0), nine, ten, (0, 15))


# --- open slots and overlaps respect buffers -------------------------------------------------


def test_open_slots_keep_the_buffers_of_booked_sessions_and_of_the_new_one(db_session, world):
    set_hours(db_session, world)
    give(db_session, world, student=1)
    travel = online(db_session, name="In home", location_type="student_address",
                    buffer_before_minutes=30, buffer_after_minutes=30)  # fmt: skip
    scheduling.book_session(
        db_session, world.tenant, world.parent, student=world.students[1], staff=world.tutor,
        service="tutoring", starts_at=local(MONDAY, 10), duration_minutes=60, now=NOW,
        category=travel,
    )  # fmt: skip
    # 30-minute sessions (hours 9–12): 9:00 ends where the 30-minute buffer begins
    plain = slots(db_session, world, MONDAY, 30, student=0)
    assert plain[:2] == ["09:00", "11:30"]
    # a new session with its own 60-minute buffer before it needs an hour after 11:00
    schedule = availability.load_schedule(
        db_session, world.tenant, world.tutor.id, first_day=MONDAY, last_day=MONDAY,
        student=world.students[0], buffers=(60, 0),
    )  # fmt: skip
    buffered = clock(schedule.day_slots(MONDAY, 30, NOW))
    assert buffered[:2] == ["09:00", "13:00"]
    db_session.rollback()


def test_a_proposal_inside_another_sessions_buffer_is_refused(db_session, world):
    give(db_session, world)
    travel = online(db_session, name="In home", location_type="student_address",
                    buffer_after_minutes=30)  # fmt: skip

    def propose(at, category=None, student=0):
        return scheduling.propose_session(
            db_session, world.tenant, world.tutor, student=world.students[student],
            staff=world.tutor, service="tutoring", starts_at=at, duration_minutes=60,
            category=category, now=NOW,
        )  # fmt: skip

    propose(local(MONDAY, 10), travel)
    with pytest.raises(DomainError, match="Tara Tutor already has a session then"):
        propose(local(MONDAY, 11, 15), student=1)
    ok = propose(local(MONDAY, 11, 30), student=1)
    # moving it into the buffer is refused too
    with pytest.raises(DomainError, match="already has a session then"):
        scheduling.reschedule(db_session, world.tenant, world.tutor, ok, local(MONDAY, 11), NOW)
    db_session.rollback()


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def acme(app, business, db_session) -> Acme:
    return Acme(app, business, db_session)


def test_one_category_and_no_subjects_show_no_chooser(client, auth, business):
    auth.as_role(business, "parent")
    body = text(client.get("/acme/family/sessions/new"))
    assert 'name="category"' not in body and 'name="subject"' not in body
    auth.logout(business)
    auth.as_role(business, "tutor")
    body = text(client.get("/acme/tutor/sessions/new"))
    assert 'name="category"' not in body and 'name="subject"' not in body


def make_sat(acme):
    with acme.scope():
        prep = online(acme.db, name="Test Prep")
        sat = categories.save_subject(acme.db, None, name="SAT", category=prep)
        categories.set_staff_subjects(acme.db, acme.b.tutor, [sat.id])
        acme.db.commit()
        return prep.id, sat.id


def test_family_books_a_category_and_subject_and_only_its_teachers_are_offered(
    client, auth, business, acme
):
    prep_id, sat_id = make_sat(acme)
    acme.give("4")
    auth.as_role(business, "parent")
    body = text(client.get("/acme/family/sessions/new"))
    assert 'name="category"' in body and "Test Prep → SAT" in body
    offered = text(client.get(f"/acme/family/staff-options?service=tutoring&subject={sat_id}",
                              headers=HX))  # fmt: skip
    assert "Tara Tutor" in offered and "Acme Owner" not in offered
    everyone = text(client.get("/acme/family/staff-options?service=tutoring", headers=HX))
    assert "Tara Tutor" in everyone and "Acme Owner" in everyone
    day = business_today(3)
    form = {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "category": str(prep_id),
        "subject": str(sat_id),
        "date": day.isoformat(),
        "start_time": "16:00",
        "duration": "1",
    }
    # the owner does not teach SAT: refused with the reason
    response = client.post(
        "/acme/family/sessions/new", data=form | {"staff": str(business.admin.id)}
    )
    assert response.status_code == 422
    assert "Acme Owner does not teach SAT" in text(response)
    response = client.post(
        "/acme/family/sessions/new", data=form | {"staff": str(business.tutor.id)}
    )
    assert response.status_code in (302, 303), text(response)
    with acme.scope():
        ts = acme.db.scalar(select(TutoringSession))
        assert (ts.category_id, ts.subject_id) == (prep_id, sat_id)


def test_staff_propose_with_a_subject_and_a_series_carries_it(client, auth, business, acme):
    prep_id, sat_id = make_sat(acme)
    auth.as_role(business, "admin")
    page = text(client.get(f"/acme/tutor/sessions/new?subject={sat_id}"))
    staff_select = page.split('name="staff"')[1].split("</select>")[0]
    assert "Tara Tutor" in staff_select and "Acme Owner" not in staff_select
    form = {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "subject": str(sat_id),
        "category": str(prep_id),
        "date": business_today(3).isoformat(),
        "start_time": "16:00",
        "duration": "1",
    }
    response = client.post("/acme/tutor/sessions/new", data=form)
    assert response.status_code in (302, 303), text(response)
    with as_tenant(business.tenant.id):
        ts = acme.db.scalar(select(TutoringSession))
        assert (ts.category_id, ts.subject_id) == (prep_id, sat_id)
    # a subject of another category is refused under the subject
    with acme.scope():
        default = categories.default_category(acme.db).id
    response = client.post(
        "/acme/tutor/sessions/new",
        data=form | {"category": str(default), "date": business_today(4).isoformat()},
    )
    assert response.status_code == 422
    assert "SAT is not a Session subject" in text(response)
    # a series: the series and each occurrence
    with acme.scope():
        made = scheduling.propose_series(
            acme.db, business.tenant, business.tutor,
            NewSeries(business.students[1], business.tutor, "tutoring",
                      make_rule(first_day=business_today(8), start=time(16, 0), count=2), 60,
                      subject=acme.db.get(type(ts.subject), sat_id)),
        )  # fmt: skip
        series = acme.db.get(SessionSeries, made[0].series_id)
        assert (series.category_id, series.subject_id) == (prep_id, sat_id)
        assert {(t.category_id, t.subject_id) for t in made} == {(prep_id, sat_id)}
        acme.db.rollback()


def test_an_inactive_category_is_not_offered(client, auth, business, acme):
    prep_id, _sat = make_sat(acme)
    auth.as_role(business, "admin")
    client.post(f"/acme/admin/settings/categories/{prep_id}/deactivate")
    body = text(client.get("/acme/tutor/sessions/new"))
    assert 'name="category"' not in body  # one active category left: no chooser
    assert "Test Prep →" not in body  # nor its subjects
