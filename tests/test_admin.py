"""Admin pages: students, families, staff, invitations, settings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from prepbase.models import Family, Role, Student, Tenant, User
from prepbase.tenancy import as_tenant


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


def count(db_session, business, model) -> int:
    with as_tenant(business.tenant.id):
        return db_session.scalar(select(func.count(model.id)))


# --- students -----------------------------------------------------------------------------


def test_student_profiles_list_and_search(admin, business):
    body = text(admin.get("/acme/admin/students"))
    assert "Student Profiles" in body
    assert "Ada Acme" in body and "Ben Acme" in body
    body = text(admin.get("/acme/admin/students?q=ben"))
    assert "Ben Acme" in body and "Ada Acme" not in body
    body = text(admin.get("/acme/admin/students?q=central+high"))
    assert "Ada Acme" in body and "Ben Acme" in body
    body = text(admin.get("/acme/admin/students?q=zzz"))
    assert "No student matches" in body


def test_student_search_treats_wildcards_literally(admin, business):
    assert "No student matches" in text(admin.get("/acme/admin/students?q=%25"))
    assert "No student matches" in text(admin.get("/acme/admin/students?q=_"))


def test_student_search_over_htmx_returns_results_fragment(admin, business):
    response = admin.get("/acme/admin/students?q=ada", headers={"HX-Request": "true"})
    body = text(response)
    assert body.lstrip().startswith('<div id="student-results">')
    assert "<nav" not in body
    assert "Ada Acme" in body
    assert "HX-Request" in response.headers["Vary"]


def test_add_student_to_existing_family(admin, business, db_session):
    response = admin.post(
        "/acme/admin/students/new",
        data={
            "first_name": "Cleo",
            "last_name": "Acme",
            "grade": "5",
            "school": "Oak Elementary",
            "family": str(business.family.id),
            "notes": "Loves geometry",
        },
    )
    assert response.status_code == 303
    with as_tenant(business.tenant.id):
        cleo = db_session.scalar(select(Student).where(Student.first_name == "Cleo"))
    assert cleo.family_id == business.family.id
    assert response.headers["Location"] == f"/acme/admin/students/{cleo.id}"
    profile = text(admin.get(response.headers["Location"]))
    assert "Loves geometry" in profile and "Oak Elementary" in profile


def test_add_student_with_new_family(admin, business, db_session):
    families_before = count(db_session, business, Family)
    response = admin.post(
        "/acme/admin/students/new",
        data={"first_name": "Dev", "last_name": "Nguyen", "family": "new", "new_family_name": ""},
    )
    assert response.status_code == 303
    assert count(db_session, business, Family) == families_before + 1
    with as_tenant(business.tenant.id):
        dev = db_session.scalar(select(Student).where(Student.first_name == "Dev"))
        assert dev.family.name == "Nguyen family"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first_name": "", "last_name": "X", "family": "new"}, "This field is required"),
        ({"first_name": "A" * 81, "last_name": "X", "family": "new"}, "80 characters"),
        ({"first_name": "A", "last_name": "X", "family": "new", "notes": "n" * 5001}, "5000"),
        ({"first_name": "A", "last_name": "X", "family": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_student_input_is_422_and_writes_nothing(admin, business, db_session, data, message):
    before = (count(db_session, business, Student), count(db_session, business, Family))
    response = admin.post("/acme/admin/students/new", data=data)
    assert response.status_code == 422
    assert message in text(response)
    assert (count(db_session, business, Student), count(db_session, business, Family)) == before


def test_cannot_file_student_under_another_business_family(admin, business, other_business):
    response = admin.post(
        "/acme/admin/students/new",
        data={"first_name": "A", "last_name": "X", "family": str(other_business.family.id)},
    )
    assert response.status_code == 422


def test_edit_student(admin, business, db_session):
    student = business.students[1]
    page = admin.get(f"/acme/admin/students/{student.id}/edit")
    assert 'value="Ben"' in text(page)
    response = admin.post(
        f"/acme/admin/students/{student.id}/edit",
        data={
            "first_name": "Benjamin",
            "last_name": "Acme",
            "grade": "9",
            "school": "",
            "family": str(business.family.id),
        },
    )
    assert response.status_code == 303
    db_session.refresh(student)
    assert (student.first_name, student.grade) == ("Benjamin", "9")


def test_profile_tabs(admin, business):
    sid = business.students[0].id
    overview = text(admin.get(f"/acme/admin/students/{sid}"))
    for tab in ("Overview", "Packages", "Sessions"):
        assert f">{tab}</a>" in overview
    packages = admin.get(f"/acme/admin/students/{sid}/packages", headers={"HX-Request": "true"})
    body = text(packages)
    assert "<html" not in body
    headers = [
        "Package Name",
        "Package Type",
        "Start Date",
        "Total Hrs",
        "Remaining Hrs",
        "Package Service",
        "Status",
    ]
    positions = [body.index(h) for h in headers]
    assert positions == sorted(positions)
    assert 'aria-current="page">Packages' in body
    sessions = text(admin.get(f"/acme/admin/students/{sid}/sessions"))
    assert "Upcoming Sessions" in sessions and "Completed Sessions" in sessions


def test_invite_student_login(admin, business, mailbox, db_session):
    sid = business.students[1].id
    response = admin.post(f"/acme/admin/students/{sid}/login", data={"email": "ben@example.com"})
    assert response.status_code == 303
    assert mailbox.to("ben@example.com")
    with as_tenant(business.tenant.id):
        user = db_session.scalar(select(User).where(User.email == "ben@example.com"))
    assert (user.role, user.student_id, user.family_id) == ("student", sid, business.family.id)
    again = admin.post(f"/acme/admin/students/{sid}/login", data={"email": "ben2@example.com"})
    assert again.status_code == 422
    assert "already has a login" in text(again)


# --- families and parents ----------------------------------------------------------------


def test_create_family_and_invite_parent(admin, business, mailbox, db_session):
    response = admin.post("/acme/admin/families/new", data={"name": "Lopez family"})
    assert response.status_code == 303
    family_url = response.headers["Location"]
    assert "Lopez family" in text(admin.get(family_url))
    family_id = int(family_url.rstrip("/").rsplit("/", 1)[1])
    response = admin.post(
        f"/acme/admin/families/{family_id}/parents",
        data={"name": "Luz Lopez", "email": "LUZ@example.com"},
    )
    assert response.status_code == 303
    message = mailbox.to("luz@example.com")[0]
    assert "Acme Tutoring" in message["Subject"]
    assert "/acme/invite/" in mailbox.body(message)
    page = text(admin.get(family_url))
    assert "Luz Lopez" in page and "Invited" in page
    assert "Families" in text(admin.get("/acme/admin/families"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Dup", "email": "pat.parent@acme.example.com"}, "already uses that e-mail"),
        ({"name": "Dup", "email": "PAT.PARENT@acme.example.com"}, "already uses that e-mail"),
        ({"name": "Bad", "email": "not-an-email"}, "valid e-mail"),
        ({"name": "", "email": "ok@example.com"}, "This field is required"),
        ({"name": "N" * 121, "email": "ok@example.com"}, "120 characters"),
    ],
)
def test_bad_parent_invite_is_422(admin, business, mailbox, db_session, data, message):
    users_before = count(db_session, business, User)
    response = admin.post(f"/acme/admin/families/{business.family.id}/parents", data=data)
    assert response.status_code == 422
    assert message in text(response)
    assert count(db_session, business, User) == users_before
    assert mailbox.messages == []


def test_htmx_parent_invite_error_swaps_the_form(admin, business):
    response = admin.post(
        f"/acme/admin/families/{business.family.id}/parents",
        data={"name": "X", "email": "bad"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert text(response).lstrip().startswith('<form id="parent-form"')


def test_same_email_in_another_business_is_fine(admin, business, other_business):
    response = admin.post(
        f"/acme/admin/families/{business.family.id}/parents",
        data={"name": "Shared", "email": other_business.parent.email},
    )
    assert response.status_code == 303


# --- staff --------------------------------------------------------------------------------


def test_invite_tutor_with_services(admin, business, mailbox, db_session):
    response = admin.post(
        "/acme/admin/staff/invite",
        data={
            "name": "Tom Teach",
            "email": "tom@example.com",
            "role": "tutor",
            "services": ["tutoring", "counseling"],
        },
    )
    assert response.status_code == 303
    with as_tenant(business.tenant.id):
        tom = db_session.scalar(select(User).where(User.email == "tom@example.com"))
        assert [s.value for s in tom.services] == ["tutoring", "counseling"]
    assert mailbox.to("tom@example.com")
    body = text(admin.get("/acme/admin/staff"))
    assert "Tom Teach" in body and "Tutoring, Counseling" in body


def test_tutor_needs_a_service(admin, business):
    response = admin.post(
        "/acme/admin/staff/invite",
        data={"name": "No Service", "email": "ns@example.com", "role": "tutor"},
    )
    assert response.status_code == 422
    assert "at least one service" in text(response)


def test_staff_invite_refuses_family_roles(admin, business):
    response = admin.post(
        "/acme/admin/staff/invite",
        data={
            "name": "Sneaky",
            "email": "s@example.com",
            "role": "parent",
            "services": ["tutoring"],
        },
    )
    assert response.status_code == 422
    assert "Not a valid choice" in text(response)


def test_edit_staff_role_and_services(admin, business, db_session):
    response = admin.post(
        f"/acme/admin/staff/{business.tutor.id}/edit",
        data={"name": "Tara T.", "role": "counselor", "services": ["counseling"]},
    )
    assert response.status_code == 303
    db_session.refresh(business.tutor)
    assert business.tutor.role == Role.COUNSELOR
    assert [s.value for s in business.tutor.services] == ["counseling"]


def test_last_admin_cannot_be_demoted_or_deactivated(admin, business, db_session):
    response = admin.post(
        f"/acme/admin/staff/{business.admin.id}/edit",
        data={"name": "Owner", "role": "tutor", "services": ["tutoring"]},
    )
    assert response.status_code == 422
    assert "at least one active admin" in text(response)
    response = admin.post(f"/acme/admin/people/{business.admin.id}/deactivate")
    assert response.status_code == 303
    db_session.refresh(business.admin)
    assert business.admin.active is True
    assert "cannot deactivate your own account" in text(admin.get("/acme/admin/staff"))


def test_deactivate_and_reactivate_staff(admin, client, business, db_session):
    assert admin.post(f"/acme/admin/people/{business.tutor.id}/deactivate").status_code == 303
    db_session.refresh(business.tutor)
    assert business.tutor.active is False
    assert "Deactivated" in text(admin.get("/acme/admin/staff"))
    assert admin.post(f"/acme/admin/people/{business.tutor.id}/reactivate").status_code == 303
    db_session.refresh(business.tutor)
    assert business.tutor.active is True


def test_editing_a_family_member_as_staff_redirects(admin, business):
    response = admin.get(f"/acme/admin/staff/{business.parent.id}/edit")
    assert response.status_code == 303


def test_dashboard_lists_pending_invitations(admin, business):
    body = text(admin.get("/acme/admin/"))
    assert "Ivy Invited" in body
    assert "Resend invitation" in body


# --- settings and reports ---------------------------------------------------------------


def test_settings_change_name_time_zone_and_low_balance(admin, business, db_session):
    assert 'value="2"' in text(admin.get("/acme/admin/settings"))
    response = admin.post(
        "/acme/admin/settings",
        data={"name": "Acme Learning", "timezone": "Europe/London", "low_balance_hours": "3.5"},
    )
    assert response.status_code == 303
    tenant = db_session.scalar(select(Tenant).where(Tenant.slug == "acme"))
    db_session.refresh(tenant)
    assert (tenant.name, tenant.timezone, tenant.low_balance_minutes) == (
        "Acme Learning",
        "Europe/London",
        210,
    )
    for bad_data, message in (
        ({"timezone": "Nowhere/Land", "low_balance_hours": "2"}, "Not a valid choice"),
        ({"timezone": "Europe/London", "low_balance_hours": "-1"}, "negative"),
        ({"timezone": "Europe/London", "low_balance_hours": "1.001"}, "whole minutes"),
    ):
        bad = admin.post("/acme/admin/settings", data={"name": "Acme", **bad_data})
        assert bad.status_code == 422
        assert message in text(bad)
    db_session.refresh(tenant)
    assert tenant.name == "Acme Learning"


def test_student_profiles_are_paged(admin, app, business, db_session):
    from prepbase import people

    with app.app_context(), as_tenant(business.tenant.id):
        for i in range(55):
            people.save_student(
                db_session,
                business.admin,
                None,
                family=business.family,
                first_name=f"Pupil{i:02d}",
                last_name="Zed",
                grade="",
                school="",
                notes="",
            )
        db_session.commit()
    first = text(admin.get("/acme/admin/students"))
    assert "57 students" in first and "page 1 of 2" in first
    assert "Next page" in first and "Pupil47" in first and "Pupil48" not in first
    second = text(admin.get("/acme/admin/students?page=2"))
    assert "Pupil54" in second and "Previous page" in second
    assert "Ada Acme" not in second
    searched = text(admin.get("/acme/admin/students?q=pupil&page=2"))
    assert "55 students matching" in searched


def test_a_student_page_past_the_end_shows_the_last_page(admin, app, business, db_session):
    from prepbase import people

    with app.app_context(), as_tenant(business.tenant.id):
        for i in range(55):
            people.save_student(
                db_session,
                business.admin,
                None,
                family=business.family,
                first_name=f"Pupil{i:02d}",
                last_name="Zed",
                grade="",
                school="",
                notes="",
            )
        db_session.commit()
    past = text(admin.get("/acme/admin/students?page=9"))
    assert "57 students" in past and "page 2 of 2" in past  # clamped, not an empty table
    assert "Pupil48" in past and "Pupil54" in past and "Pupil47" not in past
    assert "Previous page" in past and "Next page" not in past
    searched = text(
        admin.get("/acme/admin/students?q=pupil&page=5", headers={"HX-Request": "true"})
    )
    assert "55 students matching" in searched and "page 2 of 2" in searched
    assert "Pupil54" in searched and "Pupil49" not in searched
