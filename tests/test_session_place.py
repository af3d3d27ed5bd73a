"""Where a session takes place, for whoever is looking (issue 14, part D): student and
family addresses and phones, Custom Address, Center, Virtual Meeting links shown from
the category's lead time, and the one function that decides (`places.place_of`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from prepbase import categories, people, places, scheduling
from prepbase.errors import DomainError
from prepbase.localtime import local_to_utc
from prepbase.models import Student, TutoringSession, utcnow
from prepbase.tenancy import as_tenant
from tests.factories import business_today
from tests.test_category_booking import online
from tests.test_series_pages import Acme

HX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def acme(app, business, db_session) -> Acme:
    return Acme(app, business, db_session)


def propose(acme, category, *, days=3, student=0):
    from datetime import time

    b = acme.b
    with acme.scope():
        ts = scheduling.propose_session(
            acme.db, b.tenant, b.tutor, student=b.students[student], staff=b.tutor,
            service="tutoring", starts_at=local_to_utc(b.tenant, business_today(days), time(16)),
            duration_minutes=60, category=acme.db.merge(category) if category else None,
        )  # fmt: skip
        acme.db.commit()
        return ts.id


def category(acme, **changes):
    with acme.scope():
        made = online(acme.db, **changes)
        acme.db.commit()
        return made


def session(acme, ts_id) -> TutoringSession:
    with acme.scope():
        return acme.db.scalar(
            select(TutoringSession)
            .where(TutoringSession.id == ts_id)
            .execution_options(populate_existing=True)
        )


def test_a_student_address_session_shows_the_address_to_its_staff_and_admins_only(acme):
    b = acme.b
    home = category(acme, name="In home", location_type="student_address")
    with acme.scope():
        people.update_family(
            acme.db, b.admin, b.family, name=b.family.name, address="9 Elm St", phone=""
        )
        acme.db.commit()
    ts_id = propose(acme, home)
    with acme.scope():
        ts = acme.db.get(TutoringSession, ts_id)
        now = ts.starts_at - timedelta(days=1)
        assert places.place_of(ts, b.tutor, now).text == "9 Elm St"  # the family's
        assert places.place_of(ts, b.admin, now).text == "9 Elm St"
        for other in (b.parent, b.student_user, b.counselor):
            place = places.place_of(ts, other, now)
            assert place.text == "At the student's address" and "Elm" not in str(place)
        # the student's own address comes first
        student = acme.db.get(Student, b.students[0].id)
        student.address = "1 Oak Ave"
        assert places.place_of(ts, b.tutor, now).text == "1 Oak Ave"
        acme.db.rollback()


def test_custom_address_center_and_virtual_places(acme):
    b = acme.b
    with acme.scope():
        center = categories.save_location(acme.db, None, name="Main St", address="1 Main St")
        acme.db.commit()
    in_center = category(acme, name="Center", location_type="center", location=center)
    custom = category(acme, name="Library", location_type="custom_address")
    virtual = category(acme, name="Online", link_lead_minutes=30)
    with acme.scope():
        tutor = acme.db.merge(b.tutor)
        tutor.default_meeting_link = "https://meet.example.com/tara"
        acme.db.commit()
    ids = [propose(acme, c, days=d) for c, d in ((in_center, 3), (custom, 4), (virtual, 5))]
    with acme.scope():
        at_center, at_library, on_line = (acme.db.get(TutoringSession, i) for i in ids)
        parent = acme.db.merge(b.parent)
        assert places.place_of(at_center, parent, at_center.starts_at).text == (
            "Main St, 1 Main St"
        )
        assert places.place_of(at_library, parent, at_library.starts_at).note == (
            "The address has not been set yet."
        )
        # the staff member's default link, shown from 30 minutes before the start
        assert on_line.meeting_link == "https://meet.example.com/tara"
        early = places.place_of(on_line, parent, on_line.starts_at - timedelta(minutes=31))
        assert early.link is None and "30 minutes before the start" in early.note
        for viewer in (parent, tutor):
            at_time = places.place_of(on_line, viewer, on_line.starts_at - timedelta(minutes=30))
            assert at_time.link == "https://meet.example.com/tara"


def test_staff_set_a_sessions_link_or_address_on_its_page(client, auth, business, acme):
    virtual = category(acme, name="Online")
    custom = category(acme, name="Library", location_type="custom_address")
    online_id, library_id = propose(acme, virtual), propose(acme, custom, days=4)
    auth.as_role(business, "tutor")
    page = text(client.get(f"/acme/tutor/sessions/{online_id}"))
    assert "Meeting link" in page and "The meeting link has not been set yet." in page
    response = client.post(
        f"/acme/tutor/sessions/{online_id}/place",
        data={"meeting_link": "zoom me"},
        headers=HX,
    )
    assert response.status_code == 422 and "starting with https://" in text(response)
    response = client.post(
        f"/acme/tutor/sessions/{online_id}/place",
        data={"meeting_link": "https://meet.example.com/abc"},
    )
    assert response.status_code in (302, 303)
    assert session(acme, online_id).meeting_link == "https://meet.example.com/abc"
    client.post(f"/acme/tutor/sessions/{library_id}/place", data={"custom_address": "Room 4"})
    assert session(acme, library_id).custom_address == "Room 4"
    assert "Room 4" in text(client.get(f"/acme/tutor/sessions/{library_id}"))


def test_the_family_reads_category_subject_and_link_but_never_an_address(
    client, auth, business, acme
):
    b = business
    virtual = category(acme, name="Online", link_lead_minutes=180)
    home = category(acme, name="In home", location_type="student_address")
    with acme.scope():
        sat = categories.save_subject(acme.db, None, name="SAT", category=acme.db.merge(virtual))
        categories.set_staff_subjects(acme.db, acme.db.merge(b.tutor), [sat.id])
        b.family.address = "9 Elm St"
        acme.db.merge(b.family)
        tutor = acme.db.merge(b.tutor)
        tutor.default_meeting_link = "https://meet.example.com/tara"
        acme.db.commit()
        ts = scheduling.propose_session(
            acme.db, b.tenant, tutor, student=b.students[0], staff=tutor, service="tutoring",
            # two hours from now: inside the 3-hour lead, whatever the hour of the run
            starts_at=utcnow().replace(second=0, microsecond=0) + timedelta(hours=2),
            duration_minutes=60, subject=sat,
        )  # fmt: skip
        acme.db.commit()
        online_id = ts.id
    home_id = propose(acme, home, days=4)
    auth.as_role(b, "parent")
    page = text(client.get(f"/acme/family/sessions/{online_id}"))
    assert "Online" in page and "SAT" in page and "https://meet.example.com/tara" in page
    dashboard = text(client.get("/acme/family/"))
    assert "Join the meeting" in dashboard and "SAT" in dashboard
    page = text(client.get(f"/acme/family/sessions/{home_id}"))
    assert "At the student&#39;s address" in page and "Elm" not in page
    assert "Elm" not in text(client.get("/acme/family/"))


def test_another_familys_session_stays_404(client, auth, business, other_business, acme):
    virtual = category(acme, name="Online")
    ts_id = propose(acme, virtual)
    auth.as_role(other_business, "parent")
    assert client.get(f"/rival/family/sessions/{ts_id}").status_code == 404


def test_student_and_family_edit_forms_take_address_and_phone(client, auth, business, acme):
    b = business
    auth.as_role(b, "admin")
    student = b.students[0]
    data = {
        "first_name": "Ada", "last_name": "Acme", "grade": "10", "school": "Central High",
        "family": str(b.family.id), "notes": "", "address": "1 Oak Ave", "phone": "+1 555 010 0100",
    }  # fmt: skip
    response = client.post(f"/acme/admin/students/{student.id}/edit", data=data)
    assert response.status_code in (302, 303), text(response)
    response = client.post(
        f"/acme/admin/students/{student.id}/edit", data=data | {"phone": "call me"}
    )
    assert response.status_code == 422 and "Enter a phone number" in text(response)
    response = client.post(
        f"/acme/admin/families/{b.family.id}/edit",
        data={"name": "Acme family", "address": "9 Elm St", "phone": "555 0101"},
    )
    assert response.status_code in (302, 303), text(response)
    with as_tenant(b.tenant.id):
        row = acme.db.scalar(
            select(Student)
            .where(Student.id == student.id)
            .execution_options(populate_existing=True)
        )
        assert (row.address, row.phone) == ("1 Oak Ave", "+1 555 010 0100")
        acme.db.refresh(row.family)
        assert (row.family.address, row.family.phone) == ("9 Elm St", "555 0101")
    assert "9 Elm St" in text(client.get(f"/acme/admin/families/{b.family.id}"))


def test_meeting_links_are_checked():
    assert categories.check_meeting_link("  ") is None
    assert categories.check_meeting_link(" https://x.example/a ") == "https://x.example/a"
    for bad in ("x.example", "https://", "https://a b", "javascript:alert(1)"):
        with pytest.raises(DomainError, match="https://"):
            categories.check_meeting_link(bad)
