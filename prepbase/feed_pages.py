"""A person's calendar-feed pages (see it, make a new address, revoke it), which the tutor
and family blueprints mount on their own guarded URLs; the feed itself is `feeds`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import calendar_feeds
from prepbase.extensions import db
from prepbase.forms import ActionForm
from prepbase.htmx import hx_redirect, is_htmx, render

TEMPLATE = "calendar/feed.html"


def feed_page(*, new_url: str | None = None, status: int = 200) -> Response:
    """The person's feed: whether one works, and its address right after it was made."""
    return render(
        TEMPLATE,
        block="feed",
        status=status,
        feed=calendar_feeds.live_feed(db.session, current_user),
        new_url=new_url,
        action_form=ActionForm(),
    )


def feed_create() -> Response:
    """Make a new address (the old one stops working) and show it once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    raw = calendar_feeds.create_feed(db.session, current_user)
    db.session.commit()
    url = url_for("tenant.calendar.calendar_feed_ics", token=raw, _external=True)
    return feed_page(new_url=url)


def feed_revoke(back_endpoint: str) -> Response:
    """Stop the address from working."""
    if not ActionForm().validate_on_submit():
        abort(400)
    revoked = calendar_feeds.revoke_feed(db.session, current_user)
    db.session.commit()
    if is_htmx():
        return feed_page()
    message = "Your calendar address no longer works." if revoked else "There was no address."
    flash(message, "success")
    return hx_redirect(url_for(back_endpoint))


def add_feed_routes(portal: Blueprint) -> None:
    """The same three feed pages on a portal blueprint (tutor, family), behind its guard."""
    back = f"tenant.{portal.name}.calendar_feed"
    portal.add_url_rule("/calendar", "calendar_feed", feed_page, methods=["GET"])
    portal.add_url_rule("/calendar", "calendar_feed_new", feed_create, methods=["POST"])
    portal.add_url_rule(
        "/calendar/revoke",
        "calendar_feed_revoke",
        lambda: feed_revoke(back),
        methods=["POST"],
    )
