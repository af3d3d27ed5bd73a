"""Errors go to Sentry only when SENTRY_DSN is set, and carry ids, never personal data
(prepbase/error_reports.py). Nothing leaves the machine: the client's transport is
replaced by one that keeps the events."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sentry_sdk
from flask import Flask, g
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from prepbase import create_app
from prepbase.error_reports import scrub_event
from prepbase.request_log import HEADER
from tests.conftest import CSRFClient, app_config

# Kept out of the functions that raise: Sentry sends a few source lines around each frame.
ADDRESS = "leo.parent@example.com"
FAILURE = (
    f"could not reach {ADDRESS}\n"
    "DETAIL:  Key (tenant_id, name)=(1, Leo Smith) already exists.\n"
    "[parameters: ('Leo Smith', 'leo.parent@example.com')]"
)


class KeptEvents(Transport):
    """A transport that sends nothing and keeps each event."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


def _boom() -> str:
    raise RuntimeError(FAILURE)


def test_sentry_is_not_started_without_a_dsn(app, smtp_server, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("sentry_sdk.init called without SENTRY_DSN")

    monkeypatch.delenv("SENTRY_DSN", raising=False)
    monkeypatch.setattr(sentry_sdk, "init", refuse)
    application = create_app(
        "testing", **app_config(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server[0].port)
    )
    assert application.config["SENTRY_DSN"] is None
    assert not sentry_sdk.get_client().is_active()


@pytest.fixture
def reporting(app, smtp_server, db_session) -> Iterator[tuple[Flask, KeptEvents]]:
    application = create_app(
        "testing",
        **app_config(
            app.config["SQLALCHEMY_DATABASE_URI"],
            smtp_server[0].port,
            SENTRY_DSN="https://public-key@sentry.invalid/1",
        ),
    )
    application.add_url_rule("/boom", view_func=_boom, methods=["POST"])
    application.testing = False  # an error becomes the error page, as for a real server
    application.test_client_class = CSRFClient
    client = sentry_sdk.get_client()
    assert client.is_active()
    assert not client.should_send_default_pii()
    collected = client.options["data_collection"]
    assert collected["user_info"] is False and collected["http_bodies"] == []
    assert collected["stack_frame_variables"] is False
    client.transport.kill()
    kept = KeptEvents()
    client.transport = kept
    try:
        yield application, kept
    finally:
        client.close()
        sentry_sdk.get_global_scope().set_client(None)


def test_an_error_is_reported_with_ids_and_no_personal_data(reporting):
    application, kept = reporting
    client = application.test_client()
    client.set_cookie("session", ADDRESS)
    response = client.post(
        "/boom?name=Leo+Smith",
        data={"email": ADDRESS, "note": "Leo Smith's scores"},
        headers={
            "User-Agent": "Leo's phone",
            "Authorization": "Bearer secret",
            "X-Forwarded-For": "203.0.113.9",
            "Referer": "http://localhost/acme/admin/students?q=Leo+Smith",
        },
    )
    assert response.status_code == 500
    (event,) = kept.events
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"] == "http://localhost/boom"
    assert set(event["request"]["headers"]) <= {"Host", "Content-Type", "Content-Length"}
    assert "user" not in event
    assert event["tags"]["request_id"] == response.headers[HEADER]
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"].startswith("could not reach [email]\nDETAIL: [filtered]")
    written = json.dumps(event)
    for personal in (ADDRESS, "Leo", "203.0.113.9", "Bearer secret"):
        assert personal not in written
    assert all("vars" not in frame for frame in exception["stacktrace"]["frames"])


def test_before_send_keeps_only_ids(reporting, business, db_session):
    application, _kept = reporting
    with application.test_request_context("/acme/reset/the-secret-token?email=x@example.com"):
        application.preprocess_request()
        g.request_id = "req-1"
        g.log_tenant = "acme"
        g._login_user = business.admin
        event = scrub_event(
            {
                "user": {"id": "9", "email": ADDRESS, "username": "Leo", "ip_address": "1.2.3.4"},
                "request": {
                    "method": "GET",
                    "url": "http://localhost/acme/reset/the-secret-token?email=x@example.com",
                    "query_string": "email=x@example.com",
                    "cookies": {"session": "abc"},
                    "data": {"password": "hunter22"},
                    "env": {"REMOTE_ADDR": "1.2.3.4"},
                    "headers": {"Cookie": "session=abc", "Host": "localhost", "X-Real-Ip": "1"},
                },
                "breadcrumbs": {"values": [{"message": f"mail to {ADDRESS}", "data": {"a": 1}}]},
                "extra": {"sys.argv": ["flask", "prepbase", "invite", ADDRESS]},
                "logentry": {"message": f"delivery to {ADDRESS} failed"},
                "exception": {
                    "values": [
                        {
                            "value": FAILURE,
                            "stacktrace": {
                                "frames": [
                                    {"function": "send", "vars": {"address": ADDRESS}},
                                ]
                            },
                        }
                    ]
                },
            },
            {},
        )
    assert event["user"] == {"id": str(business.admin.id)}
    assert event["request"] == {
        "method": "GET",
        "url": "http://localhost/acme/reset/<token>",
        "headers": {"Host": "localhost"},
    }
    assert event["tags"] == {"request_id": "req-1", "tenant": "acme"}
    assert event["breadcrumbs"] == {"values": [{"message": "mail to [email]"}]}
    assert event["extra"] == {}
    assert event["logentry"] == {"message": "delivery to [email] failed"}
    assert event["exception"]["values"][0]["value"] == (
        "could not reach [email]\nDETAIL: [filtered]\n[parameters: filtered]"
    )
    assert event["exception"]["values"][0]["stacktrace"]["frames"] == [{"function": "send"}]
