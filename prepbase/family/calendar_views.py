"""The family's Calendar (their students' sessions) and the page a session opens at:
what it is, and for a completed one its action plan. The page is read-only; Accept,
Decline and Cancel Session stay on the dashboard, which it links to."""

from __future__ import annotations

from flask import abort, g, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase.calendar_pages import FAMILY, show_calendar
from prepbase.calendar_view import View, shown_status, status_label
from prepbase.family.blueprint import bp
from prepbase.family_scope import guards
from prepbase.htmx import render
from prepbase.lifecycle import allowed_actions
from prepbase.localtime import local_date
from prepbase.models import TutoringSession, utcnow
from prepbase.tenant_url import get_or_404


@bp.get("/schedule")
def calendar() -> Response:
    return show_calendar(FAMILY)


@bp.get("/sessions/<id:session_id>")
def session_page(session_id: int) -> Response:
    ts = get_or_404(TutoringSession, session_id)
    if not guards(current_user, ts.student):
        abort(404)  # another family's session looks exactly like a missing one
    now = utcnow()
    day = local_date(g.tenant, ts.starts_at)
    return render(
        "calendar/session.html",
        ts=ts,
        status_label=status_label(shown_status(ts, now)),
        allowed=allowed_actions(ts, current_user, now),
        calendar_url=url_for(".calendar", view=View.WEEK.value, date=day.isoformat()),
    )
