"""Sign-in, sessions, invitations and password resets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from prepbase.auth.views import GENERIC_LOGIN_ERROR
from prepbase.models import AuthToken, User, utcnow
from prepbase.tenancy import as_tenant


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("owner@acme.example.com", "wrong-password-123"),
        ("nobody@acme.example.com", "correct-horse-battery"),
        ("owner@rival.example.com", "correct-horse-battery"),  # right account, other business
    ],
)
def test_wrong_credentials_get_one_generic_message(
    client, business, other_business, email, password
):
    response = client.post("/acme/login", data={"email": email, "password": password})
    assert response.status_code == 422
    assert GENERIC_LOGIN_ERROR in text(response)
    assert client.get("/acme/admin/").status_code == 302


def test_email_is_case_insensitive(client, business):
    response = client.post(
        "/acme/login", data={"email": "  Owner@ACME.example.com ", "password": business.password}
    )
    assert response.status_code == 303


def test_deactivated_account_cannot_sign_in(client, business, db_session):
    business.tutor.active = False
    db_session.commit()
    response = client.post(
        "/acme/login", data={"email": business.tutor.email, "password": business.password}
    )
    assert response.status_code == 422
    assert GENERIC_LOGIN_ERROR in text(response)


def test_deactivation_ends_existing_sessions(client, business, auth, db_session, app):
    auth.as_role(business, "tutor")
    assert client.get("/acme/tutor/").status_code == 200
    admin_client = app.test_client()
    admin_client.post(
        "/acme/login", data={"email": business.admin.email, "password": business.password}
    )
    response = admin_client.post(f"/acme/admin/people/{business.tutor.id}/deactivate")
    assert response.status_code == 303
    assert client.get("/acme/tutor/").status_code == 302


def test_each_role_lands_on_its_dashboard(client, business, auth):
    expected = {
        "admin": "/acme/admin/",
        "tutor": "/acme/tutor/",
        "counselor": "/acme/tutor/",
        "parent": "/acme/family/",
        "student": "/acme/family/",
    }
    for role, path in expected.items():
        response = auth.as_role(business, role)
        assert response.headers["Location"] == path
        assert client.get(path).status_code == 200
        auth.logout(business)


def test_login_starts_a_fresh_session(client, business, auth):
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    auth.as_role(business, "admin")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(f"{business.admin.id}:")


def test_session_cookie_flags(client, business, auth):
    response = auth.as_role(business, "admin")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/acme/admin/staff", "/acme/admin/staff"),
        ("//evil.example.com/acme/", "/acme/admin/"),
        ("https://evil.example.com/acme/admin/", "/acme/admin/"),
        ("/rival/admin/", "/acme/admin/"),
        ("/\\evil.example.com", "/acme/admin/"),
        ("javascript:alert(1)", "/acme/admin/"),
    ],
)
def test_only_safe_next_redirects(client, business, next_url, landing):
    response = client.post(
        "/acme/login",
        data={"email": business.admin.email, "password": business.password, "next": next_url},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == landing


def test_login_page_keeps_safe_next_only(client, business):
    assert 'value="/acme/admin/staff"' in text(client.get("/acme/login?next=/acme/admin/staff"))
    assert "evil" not in text(client.get("/acme/login?next=https://evil.example.com/"))


def test_logout_needs_post(client, business, auth):
    auth.as_role(business, "admin")
    assert client.get("/acme/logout").status_code == 405
    assert client.post("/acme/logout").status_code == 303
    assert client.get("/acme/admin/").status_code == 302


def test_sign_out_ends_every_session_of_the_account_copied_cookies_included(
    client, app, business, auth, db_session
):
    auth.as_role(business, "admin")
    stolen = client.get_cookie("session").value  # e.g. copied off a shared computer
    laptop = app.test_client()
    signed_in = laptop.post(
        "/acme/login", data={"email": business.admin.email, "password": business.password}
    )
    assert signed_in.status_code == 303
    assert client.post("/acme/logout").status_code == 303

    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/acme/admin/").status_code == 302
    # The copy still carries a valid CSRF token, but it no longer names a signed-in user.
    response = thief.post(
        "/acme/account/password",
        data={
            "current_password": business.password,
            "password": "stolen-pass-1",
            "confirm": "stolen-pass-1",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/acme/admin/").status_code == 302  # every browser of the account
    db_session.refresh(business.admin)
    assert check_password_hash(business.admin.password_hash, business.password)
    assert auth.as_role(business, "admin").status_code == 303  # signing in again works


def test_missing_csrf_token_is_refused(raw_client, business):
    response = raw_client.post(
        "/acme/login", data={"email": business.admin.email, "password": business.password}
    )
    assert response.status_code == 400
    assert "Reload the page" in text(response)


def test_login_is_rate_limited(client, business):
    for _ in range(10):
        client.post(
            "/acme/login", data={"email": business.admin.email, "password": "nope-nope-nope"}
        )
    response = client.post(
        "/acme/login", data={"email": business.admin.email, "password": business.password}
    )
    assert response.status_code == 429
    assert "Too many attempts" in text(response)


def test_reset_request_is_rate_limited(client, business):
    for _ in range(5):
        assert (
            client.post("/acme/forgot-password", data={"email": "x@example.com"}).status_code == 200
        )
    assert client.post("/acme/forgot-password", data={"email": "x@example.com"}).status_code == 429


# --- invitations ---------------------------------------------------------------------------


def invite_parent(client, auth, business, mailbox, email="newparent@example.com") -> str:
    auth.as_role(business, "admin")
    response = client.post(
        f"/acme/admin/families/{business.family.id}/parents",
        data={"name": "Nora New", "email": email},
    )
    assert response.status_code == 303, text(response)
    auth.logout(business)
    return mailbox.link(email).split("localhost", 1)[1]


def test_invitation_sets_password_and_lands_on_portal(client, auth, business, mailbox, db_session):
    path = invite_parent(client, auth, business, mailbox)
    assert path.startswith("/acme/invite/")
    page = client.get(path)
    assert page.status_code == 200
    assert "Welcome to Acme Tutoring, Nora New" in text(page)
    response = client.post(path, data={"password": "a-new-password", "confirm": "a-new-password"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/family/"
    dashboard = client.get("/acme/family/")
    assert "Welcome, Nora New" in text(dashboard)
    assert "Ada Acme" in text(dashboard)
    auth.logout(business)
    assert auth.login(business, "newparent@example.com", "a-new-password").status_code == 303


def test_invitation_link_works_once(client, auth, business, mailbox):
    path = invite_parent(client, auth, business, mailbox)
    client.post(path, data={"password": "a-new-password", "confirm": "a-new-password"})
    auth.logout(business)
    again = client.get(path)
    assert again.status_code == 410
    assert "expired or was already used" in text(again)
    reuse = client.post(path, data={"password": "another-password", "confirm": "another-password"})
    assert reuse.status_code == 410
    assert auth.login(business, "newparent@example.com", "another-password").status_code == 422


def test_expired_invitation_is_refused(client, business, db_session):
    with as_tenant(business.tenant.id):
        token = db_session.scalar(select(AuthToken).where(AuthToken.user_id == business.invitee.id))
        token.expires_at = utcnow() - timedelta(seconds=1)
        db_session.commit()
    path = f"/acme/invite/{business.invite_token}"
    assert client.get(path).status_code == 410
    response = client.post(path, data={"password": "a-new-password", "confirm": "a-new-password"})
    assert response.status_code == 410
    db_session.refresh(business.invitee)
    assert business.invitee.password_hash is None


def test_invitation_valid_for_seven_days(business, db_session):
    with as_tenant(business.tenant.id):
        token = db_session.scalar(select(AuthToken).where(AuthToken.user_id == business.invitee.id))
    assert timedelta(days=6, hours=23) < token.expires_at - token.created_at <= timedelta(days=7)


def test_invitation_of_one_business_is_unknown_to_another(
    client, business, other_business, db_session
):
    assert client.get(f"/acme/invite/{other_business.invite_token}").status_code == 410
    response = client.post(
        f"/acme/invite/{other_business.invite_token}",
        data={"password": "a-new-password", "confirm": "a-new-password"},
    )
    assert response.status_code == 410
    db_session.refresh(other_business.invitee)
    assert other_business.invitee.password_hash is None


def test_invitation_refuses_weak_password_with_422(client, business, db_session):
    path = f"/acme/invite/{business.invite_token}"
    response = client.post(path, data={"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert "at least 10 characters" in text(response)
    db_session.refresh(business.invitee)
    assert business.invitee.password_hash is None


def test_resent_invitation_kills_the_old_link(client, auth, business, mailbox):
    auth.as_role(business, "admin")
    response = client.post(f"/acme/admin/people/{business.invitee.id}/resend-invite")
    assert response.status_code == 303
    auth.logout(business)
    assert client.get(f"/acme/invite/{business.invite_token}").status_code == 410
    new_path = mailbox.link(business.invitee.email).split("localhost", 1)[1]
    assert client.get(new_path).status_code == 200


# --- password reset ---------------------------------------------------------------------


def test_password_reset_by_email(client, auth, business, mailbox):
    response = client.post("/acme/forgot-password", data={"email": business.parent.email})
    assert response.status_code == 200
    assert "is on its way" in text(response)
    path = mailbox.link(business.parent.email).split("localhost", 1)[1]
    assert path.startswith("/acme/reset/")
    response = client.post(
        path, data={"password": "fresh-password-1", "confirm": "fresh-password-1"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/family/"
    auth.logout(business)
    assert auth.login(business, business.parent.email, business.password).status_code == 422
    assert auth.login(business, business.parent.email, "fresh-password-1").status_code == 303
    auth.logout(business)
    assert client.get(path).status_code == 410


def test_reset_for_unknown_email_says_the_same_and_sends_nothing(client, business, mailbox):
    response = client.post("/acme/forgot-password", data={"email": "ghost@example.com"})
    assert response.status_code == 200
    assert "is on its way" in text(response)
    assert mailbox.messages == []


def test_reset_link_expires(client, business, mailbox, db_session):
    client.post("/acme/forgot-password", data={"email": business.parent.email})
    path = mailbox.link(business.parent.email).split("localhost", 1)[1]
    with as_tenant(business.tenant.id):
        for token in db_session.scalars(select(AuthToken).where(AuthToken.purpose == "reset")):
            token.expires_at = utcnow() - timedelta(minutes=1)
        db_session.commit()
    assert client.get(path).status_code == 410


def test_password_change_signs_out_other_browsers(client, app, business, auth):
    auth.as_role(business, "parent")
    other = app.test_client()
    other.post("/acme/login", data={"email": business.parent.email, "password": business.password})
    assert other.get("/acme/family/").status_code == 200
    response = client.post(
        "/acme/account/password",
        data={
            "current_password": business.password,
            "password": "brand-new-pass",
            "confirm": "brand-new-pass",
        },
    )
    assert response.status_code == 303
    assert client.get("/acme/family/").status_code == 200
    assert other.get("/acme/family/").status_code == 302


def test_password_change_needs_current_password(client, business, auth, db_session):
    auth.as_role(business, "parent")
    response = client.post(
        "/acme/account/password",
        data={
            "current_password": "not-it-at-all",
            "password": "brand-new-pass",
            "confirm": "brand-new-pass",
        },
    )
    assert response.status_code == 422
    assert "not your current password" in text(response)


def test_passwords_are_hashed(business, db_session):
    with as_tenant(business.tenant.id):
        user = db_session.scalar(select(User).where(User.id == business.admin.id))
    assert business.password not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
