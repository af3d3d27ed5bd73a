"""Each blueprint admits its roles: 200 for them, 403 for other roles, 302 for strangers."""

from __future__ import annotations

import pytest

DASHBOARDS = {"admin": "/acme/admin/", "tutor": "/acme/tutor/", "family": "/acme/family/"}

EXPECTED = {
    #              admin  tutor  family
    "anonymous": (302, 302, 302),
    "admin": (200, 200, 403),  # an admin may also deliver sessions
    "tutor": (403, 200, 403),
    "counselor": (403, 200, 403),
    "parent": (403, 403, 200),
    "student": (403, 403, 200),
}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("index,blueprint", list(enumerate(DASHBOARDS)))
def test_role_blueprint_matrix(client, auth, business, role, index, blueprint):
    if role != "anonymous":
        auth.as_role(business, role)
    response = client.get(DASHBOARDS[blueprint])
    assert response.status_code == EXPECTED[role][index]
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/acme/login?next=")
    if response.status_code == 403:
        assert "Not allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["tutor", "parent", "student"])
def test_non_admins_cannot_post_to_admin_pages(client, auth, business, db_session, role):
    auth.as_role(business, role)
    response = client.post(f"/acme/admin/people/{business.counselor.id}/deactivate")
    assert response.status_code == 403
    db_session.refresh(business.counselor)
    assert business.counselor.active is True


def test_anonymous_htmx_request_is_sent_to_login(client, business):
    response = client.get("/acme/admin/students", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/acme/login?next=")


def test_anonymous_is_sent_back_after_login(client, business):
    response = client.get("/acme/admin/staff")
    login_url = response.headers["Location"]
    assert login_url == "/acme/login?next=/acme/admin/staff"
    response = client.post(
        "/acme/login",
        data={
            "email": business.admin.email,
            "password": business.password,
            "next": "/acme/admin/staff",
        },
    )
    assert response.headers["Location"] == "/acme/admin/staff"


def test_admin_navigation_names(client, auth, business):
    auth.as_role(business, "admin")
    body = client.get("/acme/admin/").get_data(as_text=True)
    for label in ("Students", "Student Profiles", "Sessions", "Reports", "Settings"):
        assert f">{label}<" in body


def test_family_navigation_has_no_admin_links(client, auth, business):
    auth.as_role(business, "parent")
    body = client.get("/acme/family/").get_data(as_text=True)
    assert "/acme/admin/" not in body
    assert "Settings" not in body


def test_student_sees_only_themself(client, auth, business):
    auth.as_role(business, "student")
    body = client.get("/acme/family/").get_data(as_text=True)
    assert "Ada Acme" in body
    assert "Ben Acme" not in body


def test_parent_sees_the_family_students(client, auth, business, other_business):
    auth.as_role(business, "parent")
    body = client.get("/acme/family/").get_data(as_text=True)
    assert "Ada Acme" in body and "Ben Acme" in body
    assert "Rival" not in body
