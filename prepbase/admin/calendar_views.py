"""Admin → Calendar: every session of the business, by staff member, student, service
and status (the page is prepbase/calendar_pages.py)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from prepbase.admin.blueprint import bp
from prepbase.calendar_pages import ADMIN, show_calendar


@bp.get("/schedule")
def calendar() -> Response:
    return show_calendar(ADMIN)
