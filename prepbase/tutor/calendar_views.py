"""The staff member's Calendar: their own sessions, working hours and time off, and free
times that open Propose Session (the page is prepbase/calendar_pages.py)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from prepbase.calendar_pages import STAFF, show_calendar
from prepbase.tutor.blueprint import bp


@bp.get("/schedule")
def calendar() -> Response:
    return show_calendar(STAFF)
