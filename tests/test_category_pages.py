"""Admin → Settings → Session Categories, Locations, Subjects, and the subjects on a
staff member's Edit page (issue 14, part B)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from prepbase.models import Location, SessionCategory, StaffSubject, Subject, User
from prepbase.tenancy import as_tenant

HX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


def rows(db_session, business, model):
    with as_tenant(business.tenant.id):
        return db_session.scalars(select(model).order_by(model.id)).all()


def category_form(**changes) -> dict[str, str]:
    data = {
        "name": "Online",
        "colour": "#6d28d9",
        "location_type": "virtual",
        "location": "",
        "buffer_before_minutes": "10",
        "buffer_after_minutes": "5",
        "reminder_hours": "2",
        "link_lead_minutes": "15",
        "capacity": "3",
    }
    return data | changes


def test_settings_lists_the_starter_category_and_links_the_new_pages(admin):
    body = text(admin.get("/acme/admin/settings/categories"))
    assert "Session Categories" in body and "Locations" in body and "Subjects" in body
    assert "category-chip" in body and "--category-colour: #1d4ed8" in body
    assert ">Session<" in body and "As in Scheduling" in body


def test_admin_adds_an_online_category(admin, business, db_session):
    page = text(admin.get("/acme/admin/settings/categories/new"))
    assert "Group sessions" in page and "Seats per session" in page
    response = admin.post("/acme/admin/settings/categories/new", data=category_form())
    assert response.status_code in (302, 303), text(response)
    online = rows(db_session, business, SessionCategory)[-1]
    assert (online.name, online.location_type, online.colour) == ("Online", "virtual", "#6d28d9")
    assert (online.buffer_before_minutes, online.buffer_after_minutes) == (10, 5)
    assert (online.reminder_hours, online.link_lead_minutes, online.capacity) == (2, 15, 3)
    assert online.families_may_join is False
    assert "Online" in text(admin.get("/acme/admin/settings/categories"))


def test_a_light_colour_is_refused_with_its_contrast_and_nothing_is_saved(
    admin, business, db_session
):
    response = admin.post(
        "/acme/admin/settings/categories/new", data=category_form(colour="#fde68a"), headers=HX
    )
    assert response.status_code == 422
    body = text(response)
    assert "White text on #fde68a has a contrast of" in body and "Choose a darker colour" in body
    assert 'id="colour-error"' in body
    assert len(rows(db_session, business, SessionCategory)) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required"),
        ({"capacity": "0"}, "Capacity is a whole number from 1 to 50"),
        ({"buffer_before_minutes": "x"}, "Not a valid integer value"),
        ({"location_type": "moon"}, "Not a valid choice"),
        ({"location": "99999"}, "Choose one of your locations"),
        ({"name": "session"}, "Another category already has that name"),
    ],
)
def test_bad_category_input_is_422_with_a_message(admin, business, db_session, changes, message):
    response = admin.post("/acme/admin/settings/categories/new", data=category_form(**changes))
    assert response.status_code == 422
    assert message in text(response)
    assert len(rows(db_session, business, SessionCategory)) == 1


def test_locations_and_a_center_category_that_holds_one(admin, business, db_session):
    response = admin.post(
        "/acme/admin/settings/locations/new", data={"name": "Main St", "address": "1 Main St"}
    )
    assert response.status_code in (302, 303)
    loc = rows(db_session, business, Location)[0]
    response = admin.post(
        "/acme/admin/settings/categories/new",
        data=category_form(name="In center", location_type="center", location=str(loc.id)),
    )
    assert response.status_code in (302, 303), text(response)
    assert "Center · Main St" in text(admin.get("/acme/admin/settings/categories"))
    # It cannot be retired while the category holds it.
    admin.post(f"/acme/admin/settings/locations/{loc.id}/deactivate")
    assert "In center takes place at Main St" in text(admin.get("/acme/admin/settings/locations"))
    assert rows(db_session, business, Location)[0].active is True
    response = admin.post(
        f"/acme/admin/settings/locations/{loc.id}/edit",
        data={"name": "Main Street", "address": "1 Main Street"},
    )
    assert response.status_code in (302, 303)
    assert "1 Main Street" in text(admin.get("/acme/admin/settings/locations"))


def test_the_only_active_category_cannot_be_deactivated(admin, business, db_session):
    only = rows(db_session, business, SessionCategory)[0]
    admin.post(f"/acme/admin/settings/categories/{only.id}/deactivate")
    body = text(admin.get("/acme/admin/settings/categories"))
    assert "your only active category" in body
    db_session.expire_all()
    assert rows(db_session, business, SessionCategory)[0].active is True


def test_subjects_by_category_and_staff_who_teach_them(admin, business, db_session):
    admin.post("/acme/admin/settings/categories/new", data=category_form(name="Test Prep"))
    prep = rows(db_session, business, SessionCategory)[-1]
    response = admin.post(
        "/acme/admin/settings/subjects/new", data={"name": "SAT", "category": str(prep.id)}
    )
    assert response.status_code in (302, 303), text(response)
    sat = rows(db_session, business, Subject)[0]
    assert "SAT" in text(admin.get("/acme/admin/settings/subjects"))
    edit = f"/acme/admin/staff/{business.tutor.id}/edit"
    page = text(admin.get(edit))
    assert "Subjects taught" in page and "Test Prep → SAT" in page
    response = admin.post(
        edit,
        data={
            "name": "Tara Tutor",
            "role": "tutor",
            "services": ["tutoring"],
            "subjects": [str(sat.id)],
            "default_meeting_link": "https://meet.example.com/tara",
        },
    )
    assert response.status_code in (302, 303), text(response)
    assert [r.subject_id for r in rows(db_session, business, StaffSubject)] == [sat.id]
    with as_tenant(business.tenant.id):
        tara = db_session.get(User, business.tutor.id)
        db_session.refresh(tara)
        assert tara.default_meeting_link == "https://meet.example.com/tara"
    assert "checked" in text(admin.get(edit)).split("Test Prep → SAT")[0].rsplit("<input", 1)[1]
    # A subject switched off is no longer offered, and a bad link is refused.
    admin.post(f"/acme/admin/settings/subjects/{sat.id}/deactivate")
    assert "Test Prep → SAT" not in text(admin.get(edit))
    response = admin.post(
        edit,
        data={"name": "Tara Tutor", "role": "tutor", "services": ["tutoring"],
              "default_meeting_link": "meet.example.com"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "starting with https://" in text(response)


def test_a_subject_name_is_unique_within_its_category(admin, business, db_session):
    cat = rows(db_session, business, SessionCategory)[0]
    admin.post("/acme/admin/settings/subjects/new", data={"name": "SAT", "category": str(cat.id)})
    response = admin.post(
        "/acme/admin/settings/subjects/new", data={"name": "sat", "category": str(cat.id)}
    )
    assert response.status_code == 422
    assert "already has a subject of that name" in text(response)


def test_another_businesss_category_location_and_subject_answer_404(
    client, auth, business, other_business, db_session
):
    auth.as_role(other_business, "admin")
    other_cat = rows(db_session, other_business, SessionCategory)[0]
    client.post("/rival/admin/settings/locations/new", data={"name": "X", "address": "Y"})
    client.post(
        "/rival/admin/settings/subjects/new", data={"name": "SAT", "category": str(other_cat.id)}
    )
    loc = rows(db_session, other_business, Location)[0]
    sub = rows(db_session, other_business, Subject)[0]
    auth.logout(other_business)
    auth.as_role(business, "admin")
    for path in (
        f"/acme/admin/settings/categories/{other_cat.id}/edit",
        f"/acme/admin/settings/locations/{loc.id}/edit",
        f"/acme/admin/settings/subjects/{sub.id}/edit",
    ):
        assert client.get(path).status_code == 404
    for path in (
        f"/acme/admin/settings/categories/{other_cat.id}/deactivate",
        f"/acme/admin/settings/locations/{loc.id}/deactivate",
        f"/acme/admin/settings/subjects/{sub.id}/deactivate",
    ):
        assert client.post(path).status_code == 404
    response = client.post(
        "/acme/admin/settings/subjects/new", data={"name": "SAT", "category": str(other_cat.id)}
    )
    assert response.status_code in (404, 422)


@pytest.mark.parametrize("role", ["tutor", "counselor", "parent", "student"])
def test_only_admins_open_the_category_pages(client, auth, business, role):
    auth.as_role(business, role)
    assert client.get("/acme/admin/settings/categories").status_code == 403


def test_a_category_keeps_its_own_cancellation_policy_or_the_business_one(
    admin, business, db_session
):
    page = text(admin.get("/acme/admin/settings/categories/new"))
    assert "Late-cancellation notice window (hours)" in page and "Cancellation Policy" in page
    response = admin.post(
        "/acme/admin/settings/categories/new",
        data=category_form(late_cancel_window_hours="48", late_cancel_keep_percent="100"),
    )
    assert response.status_code in (302, 303), text(response)
    online = rows(db_session, business, SessionCategory)[-1]
    assert (online.late_cancel_window_hours, online.late_cancel_keep_percent) == (48, 100)
    refused = admin.post(
        "/acme/admin/settings/categories/new",
        data=category_form(name="Group", late_cancel_keep_percent="250"),
        headers=HX,
    )
    assert refused.status_code == 422
    assert "Enter a percentage from 0 to 100." in text(refused)
    assert [c.name for c in rows(db_session, business, SessionCategory)] == ["Session", "Online"]
    starter = rows(db_session, business, SessionCategory)[0]
    assert (starter.late_cancel_window_hours, starter.late_cancel_keep_percent) == (None, None)
