"""The app as production runs it: the hosts it answers, the links it mails, the headers
it sends, the proxies it believes and the keys it accepts (README, Deploying)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from flask import Flask

from prepbase import create_app
from prepbase.extensions import db
from tests.conftest import CSRFClient, app_config

PUBLIC = "https://app.example.com"


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def production_env(monkeypatch) -> dict[str, str]:
    """The environment of a production deployment behind one TLS proxy, as the README
    tells; tests change a variable before building the app."""
    env = {
        "SECRET_KEY": secrets.token_hex(32),
        "PUBLIC_BASE_URL": PUBLIC,
        "ALLOWED_HOSTS": "internal.example",
    }
    for name in ("REDIS_URL", "TRUSTED_PROXIES", "SECRET_KEY_FALLBACKS", "INSECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def build(kind: str, app: Flask, smtp_port: int, **overrides: object) -> Flask:
    """A second app on the test database (the `db_session` transaction still applies)."""
    application = create_app(
        kind, **app_config(app.config["SQLALCHEMY_DATABASE_URI"], smtp_port, **overrides)
    )
    application.test_client_class = CSRFClient
    return application


@pytest.fixture
def production(app, smtp_server, db_session, production_env) -> Iterator[Flask]:
    application = build("production", app, smtp_server[0].port)
    yield application
    with application.app_context():
        db.engine.dispose()


class BrowserClient(CSRFClient):
    """A browser that reaches the app at `base_url` (https: as the TLS proxy would say)."""

    base_url = PUBLIC

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("base_url", self.base_url)
        # Over https Flask-WTF also wants a same-site Referer, as browsers send it.
        kwargs["headers"] = {"Referer": f"{self.base_url}/", **(kwargs.get("headers") or {})}
        return super().open(*args, **kwargs)

    def session_transaction(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The CSRF token comes from this host's cookie, not from localhost's.
        kwargs.setdefault("base_url", self.base_url)
        return super().session_transaction(*args, **kwargs)


def browser(application: Flask, base_url: str = PUBLIC) -> BrowserClient:
    client = BrowserClient(application, application.response_class, use_cookies=True)
    client.base_url = base_url
    return client


# --- hosts and links ----------------------------------------------------------------------


def test_production_refuses_a_forged_host_and_mails_links_of_public_base_url_only(
    production, business, mailbox
):
    client = browser(production)
    forged = {"Host": "evil.example"}
    assert client.get("/acme/forgot-password", headers=forged).status_code == 400
    response = client.post(
        "/acme/forgot-password", data={"email": business.admin.email}, headers=forged
    )
    assert response.status_code == 400
    assert text(response) == "Unknown host.\n"
    assert mailbox.messages == []

    # A host the operator allowed (a health check's) is answered, but links still name
    # PUBLIC_BASE_URL, never the host the request came to.
    inside = browser(production, "https://internal.example")
    response = inside.post("/acme/forgot-password", data={"email": business.admin.email})
    assert response.status_code == 200
    link = mailbox.link(business.admin.email)
    assert link.startswith(f"{PUBLIC}/acme/reset/"), link
    assert browser(production).get(link.removeprefix(PUBLIC)).status_code == 200


def test_production_invitation_links_use_public_base_url(production, business, mailbox):
    client = browser(production, "https://internal.example")
    client.post("/acme/login", data={"email": business.admin.email, "password": business.password})
    response = client.post(
        f"/acme/admin/families/{business.family.id}/parents",
        data={"name": "Nora New", "email": "nora@example.com"},
    )
    assert response.status_code == 303, text(response)
    assert mailbox.link("nora@example.com").startswith(f"{PUBLIC}/acme/invite/")


def test_development_still_links_to_the_request_host(app, smtp_server, business, mailbox):
    client = browser(app, "http://dev.localhost:5000")  # testing: no PUBLIC_BASE_URL
    client.post("/acme/forgot-password", data={"email": business.admin.email})
    assert mailbox.link(business.admin.email).startswith("http://dev.localhost:5000/acme/reset/")


# --- headers ------------------------------------------------------------------------------


def test_production_sends_strict_transport_security(production, app, business):
    response = browser(production).get("/acme/login")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in app.test_client().get("/acme/login").headers


def test_plain_http_staging_sends_no_strict_transport_security(
    app, smtp_server, db_session, production_env, business, monkeypatch
):
    monkeypatch.setenv("INSECURE_COOKIES", "1")
    staging = build("production", app, smtp_server[0].port)
    response = browser(staging).get("/acme/login")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


# --- proxies ------------------------------------------------------------------------------


def wrong_logins(client: CSRFClient, business, address: str, times: int) -> list[int]:
    return [
        client.post(
            "/acme/login",
            data={"email": business.admin.email, "password": "not-the-password"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for _ in range(times)
    ]


def test_behind_trusted_proxy_each_client_address_has_its_own_rate_limit(
    app, smtp_server, db_session, business, monkeypatch
):
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    proxied = build("testing", app, smtp_server[0].port, LOGIN_RATE_LIMIT="2 per minute")
    client = proxied.test_client()
    assert wrong_logins(client, business, "203.0.113.7", 3) == [422, 422, 429]
    # Another family behind the same proxy is not locked out by the first one.
    assert wrong_logins(client, business, "198.51.100.9", 1) == [422]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    app, smtp_server, db_session, business, monkeypatch
):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    direct = build("testing", app, smtp_server[0].port, LOGIN_RATE_LIMIT="2 per minute")
    client = direct.test_client()
    # Made-up addresses do not buy new attempts: they are not believed.
    assert wrong_logins(client, business, "203.0.113.7", 2) == [422, 422]
    assert wrong_logins(client, business, "198.51.100.9", 1) == [429]


# --- keys ---------------------------------------------------------------------------------


def test_cookies_signed_with_a_former_key_still_open_after_rotation(
    app, smtp_server, db_session, production_env, business, monkeypatch
):
    old_key = production_env["SECRET_KEY"]
    before = build("production", app, smtp_server[0].port)
    client = browser(before)
    response = client.post(
        "/acme/login", data={"email": business.admin.email, "password": business.password}
    )
    assert response.status_code == 303
    cookie = client.get_cookie("session", domain="app.example.com").value

    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", old_key)
    after = browser(build("production", app, smtp_server[0].port))
    after.set_cookie("session", cookie, domain="app.example.com")
    assert after.get("/acme/admin/").status_code == 200
    resigned = after.get_cookie("session", domain="app.example.com").value
    assert resigned != cookie  # the answer re-signed it with the new key

    monkeypatch.delenv("SECRET_KEY_FALLBACKS")  # the rotation is over: the old key is dropped
    later = build("production", app, smtp_server[0].port)
    for value, status in ((resigned, 200), (cookie, 302)):
        client = browser(later)
        client.set_cookie("session", value, domain="app.example.com")
        assert client.get("/acme/admin/").status_code == status
