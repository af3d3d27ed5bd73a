"""The OpenAPI 3.1 document: it validates, it documents every API route, and what each
operation really answers (successes and problems) matches the schema it documents."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.api.conftest import Api, new_token
from tests.api.test_api_isolation import ARGUMENTS, PUBLIC
from tests.api.test_api_writes import local

METHODS = {"get", "post"}


def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi_3_1_and_covers_every_route(app, client):
    spec = document(client)
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post")
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule not in PUBLIC:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert {"401", "429"} <= set(operation["responses"]), (method, path)


def check(spec: dict, method: str, path: str, response) -> None:
    """`response` matches what the document says `method path` answers with its status."""
    operation = spec["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], (method, path, status, response.get_data(as_text=True))
    documented = operation["responses"][status]
    if "$ref" in documented:
        documented = spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
    content = documented["content"]
    assert response.mimetype in content, (method, path, response.mimetype, list(content))
    schema = content[response.mimetype]["schema"]
    validator = Draft202012Validator(schema | {"components": spec["components"]})
    errors = sorted(validator.iter_errors(response.get_json(force=True)), key=str)
    assert not errors, (method, path, status, [e.message for e in errors[:5]])


def test_every_operation_answers_what_it_documents(client, rich, rival, db_session):
    spec = document(client)
    api = Api(client, new_token(db_session, rich))
    reader = api.as_(new_token(db_session, rich, scope="read"))
    ids = {name: str(value(rich)) for name, value in ARGUMENTS.items()}
    foreign = {name: str(value(rival)) for name, value in ARGUMENTS.items()}
    group_session = next(
        row["id"] for row in api.get("/sessions").get_json()["items"] if row["participants"]
    )
    bodies = {
        "/api/v1/sessions": {
            "student_id": rich.students[1].id, "staff_id": rich.tutor.id, "service": "tutoring",
            "starts_at": local(70), "duration_minutes": 45,
        },
        "/api/v1/packages": {
            "student_id": rich.students[1].id, "offering_id": rich.extra["offering_id"],
        },
        "/api/v1/packages/{package_id}/adjustments": {"hours": "1", "note": "Checked"},
        "/api/v1/sessions/{session_id}/attendance": {"attendance": "present"},
        "/api/v1/sessions/{session_id}/action-plan": {"topics": "Checked"},
        "/api/v1/sessions/{session_id}/cancel": {"reason": "Checked"},
        "/api/v1/sessions/{session_id}/confirm": None,
        "/api/v1/sessions/{session_id}/accept": None,  # an upcoming one: 409, documented
        "/api/v1/sessions/book": {
            "student_id": rich.students[0].id, "staff_id": rich.tutor.id, "service": "tutoring",
            "starts_at": local(75), "duration_minutes": 30,
        },
    }  # fmt: skip
    checked = 0
    # Cancel last: the other moves need the session still upcoming.
    order = sorted(spec["paths"], key=lambda p: p.endswith("/cancel"))
    for path in order:
        for method in set(spec["paths"][path]) & METHODS:

            def url(values, path=path):
                filled = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
                return filled.removeprefix("/api/v1")

            if method == "get":
                check(spec, "GET", path, api.get(url(ids)))
                check(
                    spec,
                    "GET",
                    path,
                    api.get(url(ids), limit=0) if "{" not in path else api.get(url(foreign)),
                )
                check(spec, "GET", path, api.as_(None).get(url(ids)))
            else:
                body = bodies[path]
                check(spec, "POST", path, api.post(url(ids), json=body))
                check(spec, "POST", path, reader.post(url(ids), json=body))
                if "{" in path:
                    check(spec, "POST", path, api.post(url(foreign), json=body))
                if body:
                    check(spec, "POST", path, api.post(url(ids), json={"bogus": 1}))
            checked += 1
    assert checked >= 20
    check(spec, "GET", "/api/v1/sessions/{session_id}", api.get(f"/sessions/{group_session}"))


def test_the_reference_page_is_made_from_the_document_and_loads_nothing_else(client):
    spec = document(client)
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for path, item in spec["paths"].items():
        for method in set(item) & METHODS:
            assert f"{method.upper()} {path}" in page
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert 'id="problem-invalid"' in page and 'id="problem-rate-limited"' in page
    # no script or stylesheet from elsewhere (no CDN): only the app's own files
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page)
