"""The Calendar page, the same for the three portals: admins see every session of the
business, staff their own, a family its students' (design §10). Each blueprint mounts
`show_calendar` with its `Portal`; what is shown and where is prepbase/calendar_view.py.

The page is server-rendered: previous / next / today, the views and the filters are
links and a GET form that htmx turns into a swap of the `calendar` block with the
address bar following (a week can be bookmarked, the back button works), and that work
as they are without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import g, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase.calendar_forms import CalendarForm
from prepbase.calendar_view import (
    Day,
    Event,
    Scope,
    View,
    build_calendar,
    filter_choices,
    window_of,
)
from prepbase.extensions import db
from prepbase.family_scope import visible_students
from prepbase.htmx import is_htmx, render
from prepbase.localtime import business_today
from prepbase.models import utcnow

TEMPLATE = "calendar/page.html"
FILTER_NAMES = ("staff", "student", "service", "status")


@dataclass(frozen=True)
class Portal:
    """Which portal shows the calendar: whose sessions, where they open, what it offers."""

    name: str  # "admin", "tutor" or "family"
    page: str  # the calendar's endpoint
    session: str  # the endpoint a session opens at (with `session_id`)
    staff_filter: bool  # may filter on the staff member
    proposes: bool  # free times open Propose Session
    group: str | None = None  # the endpoint a group session opens at (with `group_id`)

    def scope(self) -> Scope:
        """Whose sessions the signed-in user sees here."""
        if self.name == "admin":
            return Scope.business()
        if self.name == "tutor":
            return Scope.staff(current_user.id)
        return Scope.students(s.id for s in visible_students(db.session, current_user))


GROUP_PAGE = "tenant.tutor.group_detail"
ADMIN = Portal(
    "admin", "tenant.admin.calendar", "tenant.tutor.session_detail", True, True, GROUP_PAGE
)
STAFF = Portal(
    "tutor", "tenant.tutor.calendar", "tenant.tutor.session_detail", False, True, GROUP_PAGE
)
FAMILY = Portal("family", "tenant.family.calendar", "tenant.family.session_page", False, False)


@dataclass(frozen=True)
class Links:
    """The addresses the page links to, each keeping the filters chosen."""

    portal: Portal
    chosen: dict[str, str]
    view: View
    staff_id: int | None  # who a proposed session is for (None: the form's default)

    def page(self, view: View | None = None, day: date | None = None) -> str:
        args: dict[str, Any] = {"view": (view or self.view).value, **self.chosen}
        if day is not None:
            args["date"] = day.isoformat()
        return url_for(self.portal.page, **args)

    def day(self, day: date) -> str:
        return self.page(View.DAY, day)

    def session(self, event: Event) -> str:
        """The session's page; a group session's page for staff (design §11)."""
        if event.group_id is not None and self.portal.group is not None:
            return url_for(self.portal.group, group_id=event.group_id)
        return url_for(self.portal.session, session_id=event.session_id)

    def propose(self, day: Day | date, at: datetime | None = None) -> str:
        """Propose Session with the day (and the time) filled in, for the staff in view."""
        args: dict[str, Any] = {"date": (day.day if isinstance(day, Day) else day).isoformat()}
        if at is not None:
            args["start_time"] = at.strftime("%H:%M")
        if self.staff_id is not None:
            args["staff"] = str(self.staff_id)
        return url_for("tenant.tutor.session_new", **args)


def _chosen(form: CalendarForm) -> dict[str, str]:
    return {
        name: str(form[name].data)
        for name in FILTER_NAMES
        if name in form and form[name].data and not form[name].errors
    }


def show_calendar(portal: Portal) -> Response:
    """The calendar page, or its `calendar` block for htmx; 422 with a message under
    each filter that cannot be used (an unknown view, a day past 2100, someone else)."""
    now = utcnow()
    scope = portal.scope()
    form = CalendarForm(formdata=request.args)
    form.offer(filter_choices(db.session, scope), staff=portal.staff_filter)
    context: dict[str, Any] = {"portal": portal, "form": form, "fragment": is_htmx()}
    if not form.validate():
        return render(TEMPLATE, block="calendar", status=422, cal=None, **context)
    window = window_of(g.tenant, form.chosen_view(), form.chosen_day(business_today(g.tenant, now)))
    cal = build_calendar(db.session, g.tenant, scope, window, form.filters(), now)
    form.view.data, form.date.data = window.view.value, window.day  # what the page shows
    staff = cal.staff_in_view
    links = Links(portal, _chosen(form), window.view, staff.id if staff is not None else None)
    return render(TEMPLATE, block="calendar", cal=cal, links=links, views=list(View), **context)
