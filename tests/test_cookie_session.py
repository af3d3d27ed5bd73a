"""The session cookie is renewed every few minutes, not on every response
(`prepbase.cookie_session`); a change is sent at once and signing out still ends it."""

from __future__ import annotations

import pytest

from prepbase import cookie_session


@pytest.fixture
def clock(monkeypatch):
    """The renewals' clock, moved by hand."""
    moment = {"now": 1_900_000_000}
    monkeypatch.setattr(cookie_session, "now", lambda: moment["now"])
    return moment


def _sets_cookie(response) -> bool:
    return any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))


def test_a_signed_in_session_is_renewed_once_per_interval(client, business, auth, clock):
    assert _sets_cookie(auth.as_role(business, "parent"))
    page = f"/{business.tenant.slug}/family/"
    assert client.get(page).status_code == 200
    clock["now"] += 1
    # Within the interval nothing about the session changed: no cookie is sent.
    assert not _sets_cookie(client.get(page))
    clock["now"] += cookie_session.RENEW_SECONDS - 2
    assert not _sets_cookie(client.get(page))
    clock["now"] += 1
    renewed = client.get(page)
    assert renewed.status_code == 200
    assert _sets_cookie(renewed)
    cookie = next(h for h in renewed.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" in cookie and "HttpOnly" in cookie
    assert not _sets_cookie(client.get(page))  # … and then not again for a while
    with client.session_transaction() as session:
        assert session[cookie_session.STAMP] == clock["now"]
        assert session["_user_id"]


def test_a_changed_session_is_sent_at_once_and_signing_out_ends_it(client, business, auth, clock):
    auth.as_role(business, "parent")
    page = f"/{business.tenant.slug}/family/"
    client.get(page)
    with client.session_transaction() as session:
        session["note"] = "changed"  # a change is saved whatever the clock says
    response = client.get(page)
    assert response.status_code == 200
    gone = auth.logout(business)
    cookie = next(h for h in gone.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" not in cookie  # a browser-session cookie holding only the flash
    with client.session_transaction() as session:
        assert "_user_id" not in session and cookie_session.STAMP not in session
    assert client.get(page).status_code in (302, 303)  # signed out


def test_an_anonymous_visit_sets_no_cookie(client, business, clock):
    assert not _sets_cookie(client.get(f"/{business.tenant.slug}/"))
