"""The working-hours and time-off page: a staff member's own (served by the tutor
blueprint under /tutor/availability) and, for admins, anyone's (the admin blueprint under
/admin/staff/<id>/availability). Each blueprint says where its routes are with a `Where`;
the handlers below are the same for both."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import abort, flash, g, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import availability
from prepbase.availability_forms import TimeOffForm, WeeklyHoursForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, apply_domain_error, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.localtime import local_now
from prepbase.models import WEEKDAYS, TimeOff, User
from prepbase.tenant_url import get_or_404

TEMPLATE = "tutor/availability.html"


@dataclass(frozen=True)
class Where:
    """Which blueprint serves the pages: endpoint names and their URL arguments."""

    page: str
    hours: str
    time_off: str
    delete: str
    args: dict[str, Any] = field(default_factory=dict)

    def url(self, endpoint: str, **more: Any) -> str:
        return url_for(getattr(self, endpoint), **self.args, **more)


def _now_local() -> datetime:
    return local_now(g.tenant).replace(tzinfo=None)  # naive, like time off


def show_page(
    member: User,
    where: Where,
    *,
    block: str = "content",
    status: int = 200,
    hours_form: WeeklyHoursForm | None = None,
    time_off_form: TimeOffForm | None = None,
) -> Response:
    """The page: the weekly hours form, upcoming time off, and the form to add some."""
    week = availability.weekly_ranges(member)
    if hours_form is None:
        hours_form = WeeklyHoursForm(
            formdata=None,
            data={
                day.lower(): availability.format_ranges(week[i], clock24=True)
                for i, day in enumerate(WEEKDAYS)
            },
        )
    now = _now_local()
    return render(
        TEMPLATE,
        block=block,
        status=status,
        member=member,
        own=member.id == current_user.id,
        where=where,
        week=[(WEEKDAYS[i], availability.format_ranges(week[i])) for i in range(7)],
        has_hours=any(week.values()),
        time_off=[
            (row, availability.describe_time_off(row))
            for row in member.time_off
            if row.ends_local > now
        ],
        hours_form=hours_form,
        time_off_form=time_off_form or TimeOffForm(formdata=None),
        action_form=ActionForm(),
    )


def save_hours(member: User, where: Where) -> Response:
    """Replace the weekly hours; every day's mistakes are shown at once, nothing saved."""
    form = WeeklyHoursForm()
    if form.validate_on_submit():
        week: dict[int, list[tuple[int, int]]] = {}
        for i, day_field in enumerate(form.day_fields()):
            try:
                week[i] = availability.parse_ranges(
                    day_field.data, field=day_field.name, day_name=WEEKDAYS[i]
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
        if len(week) == 7:
            try:
                availability.set_weekly_hours(db.session, g.tenant, current_user, member, week)
            except DomainError as exc:
                db.session.rollback()
                apply_domain_error(form, exc)
            else:
                db.session.commit()
                flash("Working hours saved. Families now book open slots inside them.", "success")
                return hx_redirect(where.url("page"))
    return show_page(member, where, block="hours_form", status=form_status(), hours_form=form)


def add_time_off(member: User, where: Where) -> Response:
    """Add a stretch of time off; say so when sessions are already booked in it."""
    form = TimeOffForm()
    if form.validate_on_submit():
        assert form.first_day.data is not None and form.last_day.data is not None  # required
        try:
            row = availability.add_time_off(
                db.session,
                g.tenant,
                current_user,
                member,
                first_day=form.first_day.data,
                last_day=form.last_day.data,
                start_time=form.start_time.data,
                end_time=form.end_time.data,
                note=form.note.data or "",
            )
            clashes = availability.sessions_during(db.session, g.tenant, row)
        except DomainError as exc:
            db.session.rollback()
            apply_domain_error(form, exc)
        else:
            what = availability.describe_time_off(row)
            db.session.commit()
            flash(f"Time off added: {what}. Families cannot book then.", "success")
            if clashes:
                flash(
                    f"{member.name} has {clashes} pending or upcoming session(s) in that time: "
                    "cancel or move them.",
                    "info",
                )
            return hx_redirect(where.url("page"))
    return show_page(member, where, block="time_off_form", status=form_status(), time_off_form=form)


def delete_time_off(member: User, time_off_id: int, where: Where) -> Response:
    """Remove a stretch of time off (someone else's is a 404)."""
    row = get_or_404(TimeOff, time_off_id)
    if row.staff_id != member.id:
        abort(404)
    if ActionForm().validate_on_submit():
        what = availability.describe_time_off(row)
        availability.remove_time_off(db.session, g.tenant, current_user, row)
        db.session.commit()
        flash(f"Time off removed: {what}.", "success")
    return hx_redirect(where.url("page"))
