"""The feed itself (/<slug>/calendar/<token>.ics); its management pages are
`prepbase.feed_pages`, mounted by the tutor and family blueprints."""

from __future__ import annotations

from flask import abort, g, make_response
from werkzeug.wrappers import Response

from prepbase import calendar_feeds
from prepbase.extensions import db
from prepbase.feeds.blueprint import bp
from prepbase.mail.sessions import session_link
from prepbase.models import utcnow


@bp.get("/calendar/<token>.ics")
def calendar_feed_ics(token: str) -> Response:
    """The iCalendar file; an unknown or revoked token is a 404 like any missing page."""
    owner = calendar_feeds.feed_owner(db.session, token)
    if owner is None:
        abort(404)
    now = utcnow()
    body = calendar_feeds.build_calendar(
        g.tenant,
        owner,
        calendar_feeds.feed_sessions(db.session, owner, now),
        now,
        url_of=lambda ts: session_link(g.tenant, ts, owner),
    )
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{g.tenant.slug}.ics"'
    response.headers["X-Robots-Tag"] = "noindex"
    return response
