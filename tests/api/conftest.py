"""The API's fixtures: two businesses with hours, sessions, a group and purchases, and
keys to call it with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from prepbase import api_keys as keys
from prepbase.tenancy import as_tenant
from tests.factories import Business, add_group, add_hours_rows


@pytest.fixture
def rich(app, business, db_session) -> Business:
    """Business A with an offering, a package, a booked session, a purchase, a group."""
    with app.app_context():
        add_hours_rows(db_session, business)
        add_group(db_session, business)
    return business


@pytest.fixture
def rival(app, other_business, db_session) -> Business:
    with app.app_context():
        add_hours_rows(db_session, other_business)
        add_group(db_session, other_business)
    return other_business


def new_token(db_session, business: Business, scope: str = "read_write", name: str = "Tool") -> str:
    with as_tenant(business.tenant.id):
        made = keys.create_api_key(db_session, business.admin, name=name, scope=scope)
        db_session.commit()
    return made.token


@dataclass
class Api:
    client: Any
    token: str | None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return headers | (extra or {})

    def get(self, path: str, **query: Any):
        return self.client.get(f"/api/v1{path}", query_string=query, headers=self.headers())

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kw):
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers(headers), **kw)

    def as_(self, token: str | None) -> Api:
        return Api(self.client, token)


@pytest.fixture
def api(app, client, rich, db_session) -> Api:
    """A read and write key of business A."""
    return Api(client, new_token(db_session, rich))


def assert_problem(response, status: int, detail: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("/api/v1/docs#problem-")
    assert body["title"] and body["detail"]
    if detail is not None:
        assert body["detail"] == detail, body
    return body
