"""A business signs up at /signup; bad input gets 422 and leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from prepbase.models import Tenant, User
from prepbase.tenancy import unscoped

GOOD = {
    "business_name": "Summit Prep",
    "slug": "summit-prep",
    "timezone": "America/Chicago",
    "admin_name": "Sue Summit",
    "email": "sue@summit.example.com",
    "password": "long-enough-pw",
    "confirm": "long-enough-pw",
}


def counts(db_session) -> tuple[int, int]:
    with unscoped():
        return (
            db_session.scalar(select(func.count(Tenant.id))),
            db_session.scalar(select(func.count(User.id))),
        )


def test_signup_creates_business_and_signs_in_admin(client, db_session):
    response = client.post("/signup", data=GOOD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/summit-prep/admin/"
    dashboard = client.get("/summit-prep/admin/")
    assert dashboard.status_code == 200
    assert "Summit Prep" in dashboard.get_data(as_text=True)
    tenant = db_session.scalar(select(Tenant).where(Tenant.slug == "summit-prep"))
    assert tenant.timezone == "America/Chicago"
    with unscoped():
        admin = db_session.scalar(select(User).where(User.tenant_id == tenant.id))
    assert (admin.role, admin.email, admin.name) == (
        "admin",
        "sue@summit.example.com",
        "Sue Summit",
    )


def test_signup_over_htmx_redirects_with_header(client, db_session):
    response = client.post("/signup", data=GOOD, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/summit-prep/admin/"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "acme", "already taken"),
        ("slug", "signup", "reserved"),
        ("slug", "admin", "reserved"),
        ("slug", "static", "reserved"),
        ("slug", "ab", "3 to 40"),
        ("slug", "a" * 41, "40 characters"),
        ("slug", "Has Caps", "lowercase letters"),
        ("slug", "-edge", "lowercase letters"),
        ("slug", "double--hyphen", "lowercase letters"),
        ("slug", "üml", "lowercase letters"),
        ("password", "short-pw", "at least 10 characters"),
        ("email", "not-an-email", "valid e-mail"),
        ("email", "owner@", "valid e-mail"),
        ("timezone", "Mars/Olympus", "Not a valid choice"),
        ("business_name", "x" * 121, "120 characters"),
        ("admin_name", "", "This field is required"),
        ("confirm", "different-pw-1", "passwords differ"),
    ],
)
def test_bad_signup_answers_422_and_creates_nothing(
    client, business, db_session, field, value, message
):
    before = counts(db_session)
    data = dict(GOOD, **{field: value})
    if field == "password":
        data["confirm"] = value
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert 'aria-invalid="true"' in body or "alert" in body
    assert counts(db_session) == before


def test_htmx_signup_error_returns_only_the_form(client, db_session):
    response = client.post("/signup", data=dict(GOOD, slug="admin"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="signup-form"')
    assert "<html" not in body
    assert "reserved" in body
    assert "HX-Request" in response.headers["Vary"]


def test_failed_signup_leaves_no_half_made_business(client, db_session, monkeypatch):
    """A slug taken between the check and the insert: the unique index refuses it and
    nothing at all is kept."""
    client.post("/signup", data=GOOD)
    client.post("/summit-prep/logout")
    before = counts(db_session)
    from prepbase.public import forms

    monkeypatch.setattr("prepbase.business.validate_slug", lambda session, slug: slug)
    monkeypatch.setattr(forms, "validate_slug", lambda session, slug: slug)
    response = client.post("/signup", data=dict(GOOD, email="other@example.com"))
    assert response.status_code == 422
    assert "already taken" in response.get_data(as_text=True)
    assert counts(db_session) == before


def test_same_email_may_exist_in_two_businesses(client, business, db_session):
    response = client.post("/signup", data=dict(GOOD, email=business.admin.email))
    assert response.status_code == 303


def test_signup_page_lists_time_zones(client, db_session):
    body = client.get("/signup").get_data(as_text=True)
    assert (
        '<option selected value="America/New_York">' in body
        or 'value="America/New_York" selected' in body
    )
    assert "Europe/Berlin" in body
    assert '<label for="slug">URL name</label>' in body


def test_all_signup_problems_show_in_one_round(client, db_session):
    response = client.post(
        "/signup", data=dict(GOOD, slug="admin", password="short", confirm="short")
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "reserved" in body and "at least 10 characters" in body
