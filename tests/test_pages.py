"""HTMX fragments, error pages and response headers."""

from __future__ import annotations

import pytest
from flask import abort

from prepbase import create_app
from prepbase.errors import DomainError


def text(response) -> str:
    return response.get_data(as_text=True)


def test_full_page_and_fragment_share_a_url(client, auth, business):
    auth.as_role(business, "admin")
    page = client.get("/acme/admin/students")
    fragment = client.get("/acme/admin/students", headers={"HX-Request": "true"})
    assert "<html" in text(page) and "<html" not in text(fragment)
    for response in (page, fragment):
        assert "HX-Request" in response.headers["Vary"]
    boosted = client.get(
        "/acme/admin/students", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in text(boosted)


def test_pages_carry_csrf_for_htmx_and_load_pinned_files(client, business):
    body = text(client.get("/acme/login"))
    assert 'hx-headers=\'{"X-CSRFToken":' in body
    assert "/static/vendor/htmx.min.js" in body
    assert "/static/vendor/pico.min.css" in body
    assert "https://" not in body.split("<body", 1)[0]  # nothing from a CDN


def test_static_vendor_files_are_served(client):
    htmx = client.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200
    assert b"htmx" in htmx.data
    assert client.get("/static/vendor/pico.min.css").status_code == 200


def test_security_headers(client, business):
    response = client.get("/acme/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_404_page_and_htmx_alert(client, auth, business):
    auth.as_role(business, "admin")
    page = client.get("/acme/admin/students/999999")
    assert page.status_code == 404
    assert "<html" in text(page) and "Page not found" in text(page)
    fragment = client.get("/acme/admin/students/999999", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert "<html" not in text(fragment) and "Page not found" in text(fragment)
    assert fragment.headers["HX-Retarget"] == "#messages"


def test_403_page(client, auth, business):
    auth.as_role(business, "parent")
    response = client.get("/acme/admin/", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert "Not allowed" in text(response)


def _raise_domain_error():
    raise DomainError("No can do.")


@pytest.fixture
def broken_client(app, db_session):
    """A second app of the same config, with routes that fail on purpose."""
    broken = create_app(
        "testing", **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")}
    )
    broken.add_url_rule("/__test/boom", "boom", lambda: 1 / 0)
    broken.add_url_rule("/__test/domain", "domain", _raise_domain_error)
    broken.add_url_rule("/__test/gone", "gone", lambda: abort(410))
    broken.testing = False  # let the 500 handler run instead of re-raising
    return broken.test_client()


def test_500_page_hides_details(broken_client):
    response = broken_client.get("/__test/boom")
    assert response.status_code == 500
    assert "Something went wrong" in text(response)
    assert "ZeroDivisionError" not in text(response)


def test_410_page(broken_client):
    response = broken_client.get("/__test/gone")
    assert response.status_code == 410
    assert "Link expired" in text(response)


def test_uncaught_domain_error_is_a_422_page(broken_client):
    response = broken_client.get("/__test/domain")
    assert response.status_code == 422
    assert "No can do." in text(response)


def test_phone_viewport_meta(client, business):
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in text(
        client.get("/acme/login")
    )


def test_every_field_has_a_label(client, auth, business):
    import re

    auth.as_role(business, "admin")
    for path in (
        "/signup",
        "/acme/admin/students/new",
        "/acme/admin/staff/invite",
        f"/acme/admin/families/{business.family.id}",
        "/acme/admin/settings",
        f"/acme/admin/students/{business.students[1].id}",
        "/acme/admin/students",
    ):
        body = text(client.get(path))
        ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', body)
        hidden = set(re.findall(r'<input[^>]*type="hidden"[^>]*id="([^"]+)"', body))
        hidden |= set(re.findall(r'<input[^>]*id="([^"]+)"[^>]*type="hidden"', body))
        for field_id in set(ids) - hidden:
            assert f'for="{field_id}"' in body, (path, field_id)
