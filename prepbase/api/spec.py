"""The API on the app: flask-smorest's `Api` (one per app: it holds the OpenAPI
document), the resource blueprints, /api/v1/openapi.json and the reference page."""

from __future__ import annotations

from http import HTTPStatus

from flask import Blueprint, Flask, current_app, render_template
from flask_smorest import Api

from prepbase.api import offerings, packages, people, purchases, sessions
from prepbase.inputs import IdConverter
from prepbase.problems import API_PREFIX, KINDS, problem_type

RESOURCES = (
    people.students_bp,
    people.families_bp,
    people.staff_bp,
    packages.bp,
    sessions.bp,
    offerings.bp,
    purchases.bp,
)

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Invalid input: each field's messages.",
        },
    },
}


class PrepBaseApi(Api):
    """flask-smorest's Api, but errors stay with `prepbase.errorpages` (problem documents
    for the API, pages elsewhere): its own handler would answer every page's errors."""

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        """Every error response is a problem document (flask-smorest's own error schema
        is replaced); each is in the document only where an operation names it."""
        self.spec.components.schema("Problem", PROBLEM_SCHEMA)
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for status in HTTPStatus:
            if status >= 400:
                response = {"description": status.phrase, "content": problem}
                self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR", {"description": "An error", "content": problem}, lazy=True
        )


docs_bp = Blueprint("api_docs", __name__, url_prefix=API_PREFIX)


@docs_bp.get("/docs")
def reference() -> str:
    """The API reference, read from the OpenAPI document (no script, no CDN)."""
    api: PrepBaseApi = current_app.extensions["prepbase-api"]
    spec = api.spec.to_dict()
    return render_template(
        "api/reference.html",
        spec=spec,
        problems=[
            (problem_type(slug), status, title, detail)
            for status, (slug, title, detail) in KINDS.items()
        ],
    )


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "PrepBase API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = PrepBaseApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Each business's own data: students, families, staff, packages and their "
                    "hours, sessions, offerings and purchases. Authenticate with an API key "
                    "(Settings → API keys) as a Bearer token."
                )
            },
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API key: pbk_…"}
    )
    api.register_converter(IdConverter, lambda _c: {"type": "integer", "minimum": 1})
    for bp in RESOURCES:
        api.register_blueprint(bp)
    app.register_blueprint(docs_bp)
    app.extensions["prepbase-api"] = api
