"""API keys: Settings → API keys (create shown once, list, revoke), and how a request's
key is checked: Bearer only, revoked keys refused, a session cookie never enough."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import select

from prepbase import api_keys as keys
from prepbase.models import ApiKey, utcnow
from prepbase.tenancy import as_tenant
from tests.api.conftest import Api, assert_problem, new_token


def _key(db_session, business, key_id):
    with as_tenant(business.tenant.id):
        key = db_session.scalar(select(ApiKey).where(ApiKey.id == key_id))
        db_session.refresh(key)
        return key


def test_admin_creates_a_key_sees_it_once_and_it_works(client, auth, business, db_session):
    auth.as_role(business, "admin")
    page = client.get(business.url("/admin/settings/api-keys"))
    assert page.status_code == 200
    assert "No API keys yet." in page.get_data(as_text=True)
    assert 'href="/acme/admin/settings/api-keys" aria-current="page"' in page.get_data(as_text=True)

    made = client.post(
        business.url("/admin/settings/api-keys"), data={"name": "Zapier", "scope": "read"}
    )
    assert made.status_code == 200
    token = re.search(r'value="(pbk_[A-Za-z0-9_-]{43})"', made.get_data(as_text=True)).group(1)
    with as_tenant(business.tenant.id):
        key = db_session.scalars(select(ApiKey)).one()
    assert (key.name, key.scope, key.prefix) == ("Zapier", "read", token[:12])
    assert key.token_hash == keys.hash_token(token) and token not in key.token_hash
    assert key.created_by_id == business.admin.id

    listed = client.get(business.url("/admin/settings/api-keys")).get_data(as_text=True)
    assert "Zapier" in listed and token[:12] in listed and token not in listed  # shown once
    assert "Never" in listed

    api = Api(client, token)
    assert api.get("/students").status_code == 200
    assert _key(db_session, business, key.id).last_used_at is not None
    assert "Never" not in client.get(business.url("/admin/settings/api-keys")).get_data(
        as_text=True
    )


def test_create_refuses_bad_input_with_422(client, auth, business, db_session):
    auth.as_role(business, "admin")
    for data, message in (
        ({"name": "", "scope": "read"}, "This field is required."),
        ({"name": "x", "scope": "admin"}, "Not a valid choice."),
        ({"name": "x" * 81, "scope": "read"}, "Field cannot be longer than 80 characters."),
    ):
        response = client.post(business.url("/admin/settings/api-keys"), data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with as_tenant(business.tenant.id):
        assert db_session.scalars(select(ApiKey)).all() == []


def test_only_admins_manage_keys(client, auth, business):
    auth.as_role(business, "tutor")
    assert client.get(business.url("/admin/settings/api-keys")).status_code == 403


def test_revoke_stops_the_key_and_another_business_key_is_404(
    client, auth, business, other_business, db_session
):
    token = new_token(db_session, business)
    foreign = new_token(db_session, other_business)
    with as_tenant(business.tenant.id):
        key = db_session.scalars(select(ApiKey)).one()
    with as_tenant(other_business.tenant.id):
        foreign_key = db_session.scalars(select(ApiKey)).one()
    api = Api(client, token)
    assert api.get("/students").status_code == 200

    auth.as_role(business, "admin")
    assert (
        client.post(business.url(f"/admin/settings/api-keys/{foreign_key.id}/revoke")).status_code
        == 404
    )
    assert _key(db_session, other_business, foreign_key.id).revoked_at is None
    assert Api(client, foreign).get("/students").status_code == 200

    response = client.post(business.url(f"/admin/settings/api-keys/{key.id}/revoke"))
    assert response.status_code in (302, 303)
    assert _key(db_session, business, key.id).revoked_at is not None
    assert "Revoked" in client.get(business.url("/admin/settings/api-keys")).get_data(as_text=True)
    assert_problem(api.get("/students"), 401, "This API key is unknown or was revoked.")


def test_no_key_bad_key_and_session_cookie_are_401(client, auth, business, db_session):
    api = Api(client, None)
    response = api.get("/students")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(api.as_("pbk_" + "x" * 43).get("/students"), 401)
    assert_problem(api.as_("not-a-key").get("/students"), 401)
    basic = client.get("/api/v1/students", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(basic, 401)
    # An admin signed in with a browser: the cookie is not an API credential.
    auth.as_role(business, "admin")
    assert_problem(api.get("/students"), 401)
    assert_problem(api.post("/packages", json={"student_id": business.students[0].id}), 401)


def test_a_key_of_an_admin_no_longer_admin_or_active_stops_working(client, business, db_session):
    token = new_token(db_session, business)
    api = Api(client, token)
    assert api.get("/students").status_code == 200
    with as_tenant(business.tenant.id):
        db_session.refresh(business.admin)
        business.admin.active = False
        db_session.commit()
    assert_problem(api.get("/students"), 401)


def test_last_used_is_written_at_most_once_a_minute(client, business, db_session):
    token = new_token(db_session, business)
    api = Api(client, token)
    with as_tenant(business.tenant.id):
        key = db_session.scalars(select(ApiKey)).one()
    assert key.last_used_at is None
    assert api.get("/students").status_code == 200
    first = _key(db_session, business, key.id).last_used_at
    assert first is not None and first > utcnow() - timedelta(minutes=1)
    assert api.get("/students").status_code == 200
    assert _key(db_session, business, key.id).last_used_at == first  # not written again
    # a minute later it is
    with as_tenant(business.tenant.id):
        stale = _key(db_session, business, key.id)
        stale.last_used_at = first - timedelta(minutes=2)
        db_session.commit()
    assert api.get("/students").status_code == 200
    assert _key(db_session, business, key.id).last_used_at > first - timedelta(minutes=2)


def test_an_api_request_is_logged_with_its_business_and_admin_never_the_key(
    client, business, db_session, caplog
):
    token = new_token(db_session, business)
    caplog.set_level(logging.INFO, logger="prepbase.request")
    assert Api(client, token).get("/students").status_code == 200
    [line] = [r for r in caplog.records if r.name == "prepbase.request"]
    assert (line.tenant, line.user_id, line.status) == ("acme", business.admin.id, 200)
    assert token not in line.getMessage()


def test_settings_forms_need_their_csrf_token(client, auth, business, db_session):
    auth.as_role(business, "admin")
    client.send_csrf = False  # signed in, but the form comes without its token
    response = client.post(
        business.url("/admin/settings/api-keys"), data={"name": "No token", "scope": "read"}
    )
    assert response.status_code == 400
    with as_tenant(business.tenant.id):
        assert db_session.scalars(select(ApiKey)).all() == []
