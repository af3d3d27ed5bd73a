"""One log line per request (prepbase/request_log.py): the request id, the business, the
user's id and nothing personal; text or JSON (LOG_FORMAT)."""

from __future__ import annotations

import json
import logging
import re

import pytest

from config import ConfigError, load_config
from prepbase import create_app
from prepbase.request_log import HEADER, RequestIdFilter, make_formatter
from tests.conftest import CSRFClient, app_config

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def lines(caplog) -> pytest.LogCaptureFixture:
    """The log records of the test's own phase (`request_lines` picks the request lines)."""
    caplog.set_level(logging.INFO, logger="prepbase.request")
    return caplog


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "prepbase.request"]


def only_line(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    found = request_lines(caplog)
    assert len(found) == 1, [r.getMessage() for r in found]
    return found[0]


def test_each_request_gets_an_id_returned_in_the_response_and_logged(client, lines):
    response = client.get("/healthz")
    request_id = response.headers[HEADER]
    assert HEX_ID.fullmatch(request_id)
    line = only_line(lines)
    assert (line.request_id, line.method, line.path, line.status) == (
        request_id,
        "GET",
        "/healthz",
        200,
    )
    assert line.tenant is None and line.user_id is None
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    assert client.get("/healthz").headers[HEADER] != request_id  # one id per request


def test_a_clients_own_request_id_is_ignored_without_a_trusted_proxy(client, lines):
    response = client.get("/healthz", headers={HEADER: "chosen-by-the-client"})
    assert HEX_ID.fullmatch(response.headers[HEADER])
    assert only_line(lines).request_id == response.headers[HEADER]


@pytest.fixture
def behind_proxy(app, smtp_server, db_session):
    application = create_app(
        "testing",
        **app_config(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server[0].port),
        TRUSTED_PROXIES=1,
    )
    application.test_client_class = CSRFClient
    return application.test_client()


def test_a_trusted_proxys_request_id_is_kept(behind_proxy, lines):
    response = behind_proxy.get("/healthz", headers={HEADER: "Root=1-6789abcd-0123456789abcdef"})
    assert response.headers[HEADER] == "Root=1-6789abcd-0123456789abcdef"
    assert only_line(lines).request_id == "Root=1-6789abcd-0123456789abcdef"


@pytest.mark.parametrize("offered", ["two words", "x" * 201, "line\tbreak", "ünïcode"])
def test_a_request_id_that_could_break_a_log_line_is_replaced(behind_proxy, offered):
    response = behind_proxy.get("/healthz", headers={HEADER: offered})
    assert HEX_ID.fullmatch(response.headers[HEADER])


def test_the_line_names_the_business_and_the_user_id_never_email_or_name(
    client, auth, business, lines
):
    auth.as_role(business, "admin")
    lines.clear()
    response = client.get(f"/{business.tenant.slug}/admin/students?q=Leo&email=x@example.com")
    assert response.status_code == 200
    line = only_line(lines)
    assert (line.tenant, line.user_id, line.status) == ("acme", business.admin.id, 200)
    # No query string: searches hold people's names.
    assert line.path == "/acme/admin/students"
    for log_format in ("text", "json"):
        written = make_formatter(log_format).format(line)
        for personal in (business.admin.email, business.admin.name, "Leo", "x@example.com"):
            assert personal not in written


def test_a_links_secret_is_not_logged(client, business, lines):
    client.get(f"/{business.tenant.slug}/invite/not-a-real-but-secret-token")
    client.get(f"/{business.tenant.slug}/calendar/also-a-secret-token.ics")
    assert [line.path for line in request_lines(lines)] == [
        "/acme/invite/<token>",
        "/acme/calendar/<token>.ics",
    ]


def test_a_request_refused_before_its_view_is_logged_too(client, lines):
    response = client.get("/no-such-business/login")
    assert response.status_code == 404
    line = only_line(lines)
    assert (line.status, line.tenant, line.request_id) == (404, None, response.headers[HEADER])


def test_json_lines_carry_every_field(client, lines):
    client.get("/healthz")
    record = only_line(lines)
    RequestIdFilter().filter(record)
    written = json.loads(make_formatter("json").format(record))
    assert written["level"] == "INFO" and written["logger"] == "prepbase.request"
    assert written["request_id"] == record.request_id
    assert (written["method"], written["path"], written["status"]) == ("GET", "/healthz", 200)
    assert written["tenant"] is None and written["user_id"] is None
    assert written["duration_ms"] >= 0 and written["time"].endswith("+00:00")


def test_text_lines_carry_the_request_id(client, lines):
    client.get("/healthz")
    record = only_line(lines)
    written = make_formatter("text").format(record)
    assert f"[{record.request_id}] prepbase.request: GET /healthz 200 " in written
    assert written.endswith("tenant=- user=-")


def test_lines_outside_a_request_have_no_id():
    record = logging.LogRecord("prepbase.cli", logging.INFO, __file__, 1, "renewed", (), None)
    RequestIdFilter().filter(record)
    assert record.request_id == "-"
    assert json.loads(make_formatter("json").format(record))["request_id"] == "-"


def test_log_format_is_text_or_json(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert load_config("testing")["LOG_FORMAT"] == "json"
    monkeypatch.delenv("LOG_FORMAT")
    assert load_config("testing")["LOG_FORMAT"] == "text"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        load_config("testing")
