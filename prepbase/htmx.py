"""HTMX helpers: a full page on a normal request, the named block on `HX-Request`."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, make_response, render_template, request


def is_htmx() -> bool:
    """True for an HTMX request that wants a fragment. Boosted requests want the page,
    and so does a history restore (the back button to a pushed address htmx no longer
    holds a copy of): htmx 2 marks it HX-Request too, and puts the answer in the body."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and not headers.get("HX-Boosted")
        and not headers.get("HX-History-Restore-Request")
    )


def render_block(template_name: str, block: str, **context: Any) -> str:
    """Render one `{% block %}` of a template with the usual Flask context."""
    # `current_app` is a proxy, typed as the Flask app it stands for.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name)
    app.update_template_context(context)
    ctx = template.new_context(context)
    return "".join(template.blocks[block](ctx))


def render(
    template_name: str, *, block: str = "content", status: int = 200, **context: Any
) -> Response:
    """The page, or only `block` for HTMX; always `Vary: HX-Request` so caches keep both."""
    if is_htmx():
        body = render_block(template_name, block, **context)
    else:
        body = render_template(template_name, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(location: str, code: int = 303) -> Response:
    """Send the browser to `location`: `HX-Redirect` for HTMX, a redirect otherwise."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
    else:
        response = make_response("", code)
        response.headers["Location"] = location
    response.vary.add("HX-Request")
    return response
