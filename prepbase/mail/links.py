"""Absolute links to the app, for e-mails and for Stripe's return addresses.

A link that leaves the app must not follow the request's Host header (anyone can send
one): with PUBLIC_BASE_URL set — always in production — it is the only base; without it
(development, tests) the request's host is used. A job has no request, so without
PUBLIC_BASE_URL it has no base at all.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context, has_request_context, url_for

from prepbase.models import Tenant


class NoBaseURL(RuntimeError):
    """A link was asked for outside a request while PUBLIC_BASE_URL is not set."""


def external_url(endpoint: str, *, anchor: str = "", **values: Any) -> str:
    """The absolute URL of `endpoint`: PUBLIC_BASE_URL when set, else the request's host."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "") if has_app_context() else ""
    base = base.rstrip("/")
    if has_request_context():
        if base:
            return base + url_for(endpoint, _anchor=anchor or None, **values)
        return url_for(endpoint, _external=True, _anchor=anchor or None, **values)
    if not base:
        raise NoBaseURL(f"PUBLIC_BASE_URL is needed to link to {endpoint} from a job")
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base + path + (f"#{anchor}" if anchor else "")


def mail_link(tenant: Tenant, endpoint: str, *, anchor: str = "", **values: Any) -> str | None:
    """`external_url` of one of the business's pages, or None when a job (or domain code
    outside the app) runs without PUBLIC_BASE_URL: the e-mail says where to sign in."""
    try:
        return external_url(endpoint, anchor=anchor, tenant_slug=tenant.slug, **values)
    except NoBaseURL:
        return None
