"""A group session's page for its staff member and admins (design §11): who takes part,
attendance for everyone at once, the one action plan with a note per student, moving or
cancelling the whole session. Each participant's own page (`views.session_detail`) still
holds what concerns that student alone (their hours, cancelling only them).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, g, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from prepbase import groups, scheduling
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import Form, apply_domain_error, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.lifecycle import STILL_TO_COME, Action, allowed_actions
from prepbase.localtime import format_when, to_local
from prepbase.models import SessionGroup, SessionStatus, utcnow
from prepbase.session_forms import ReasonForm
from prepbase.tenant_url import get_or_404
from prepbase.tutor.blueprint import bp
from prepbase.tutor.forms import RescheduleForm, group_attendance_form, group_plan_form


class _Group:
    """The group and its participations, loaded once per request."""

    def __init__(self, group_id: int) -> None:
        self.group = get_or_404(SessionGroup, group_id)
        self.rows = groups.participations(db.session, group_id)
        # Its staff member or an admin; anyone else gets the same 404 as a foreign row.
        if not self.rows or not scheduling.may_staff_act(current_user, self.rows[0]):
            abort(404)
        still = [ts for ts in self.rows if ts.status in STILL_TO_COME]
        self.reference = still[0] if still else self.rows[0]
        self.unmarked = [
            ts for ts in self.rows if ts.status == SessionStatus.UPCOMING and not ts.attendance
        ]
        self.upcoming = [ts for ts in self.rows if ts.status == SessionStatus.UPCOMING]
        self.still_to_come = still


def _forms(group: _Group) -> dict[str, FlaskForm]:
    local = to_local(g.tenant.timezone, group.reference.starts_at)
    return {
        "attendance_form": group_attendance_form(group.unmarked, formdata=None),
        "plan_form": group_plan_form(group.upcoming, formdata=None),
        "cancel_form": ReasonForm(formdata=None, prefix="cancel"),
        "reschedule_form": RescheduleForm(
            formdata=None, data={"date": local.date(), "start_time": local.time()}
        ),
    }


def _page(
    group: _Group, *, block: str = "content", status: int = 200, **forms: FlaskForm
) -> Response:
    now = utcnow()
    reference = group.reference
    allowed = allowed_actions(reference, current_user, now) if group.still_to_come else frozenset()
    taken = sum(1 for ts in group.rows if ts.status in groups.SEAT_STATUSES)
    return render(
        "tutor/group.html",
        block=block,
        status=status,
        group=group.group,
        rows=group.rows,
        ts=reference,
        taken=taken,
        unmarked=group.unmarked,
        upcoming=group.upcoming,
        may_record=bool(group.upcoming) and reference.starts_at <= now,
        may_plan=bool(group.upcoming)
        and reference.starts_at <= now
        and group.group.plan_submitted_at is None,
        may_move=Action.RESCHEDULE in allowed,
        may_cancel=Action.CANCEL in allowed,
        **{**_forms(group), **forms},
    )


@bp.get("/groups/<id:group_id>")
def group_detail(group_id: int) -> Response:
    return _page(_Group(group_id))


def _done(group: _Group, form_name: str, form: Form, act: Callable[[], str]) -> Response:
    """Run one action of the group page: commit and come back on success; else the form
    again with the refusal, 422, nothing kept."""
    if form.validate_on_submit():
        try:
            message = act()
        except DomainError as exc:
            if exc.field is None or getattr(form, exc.field, None) is None:
                exc = DomainError(exc.message)
            db.session.rollback()
            apply_domain_error(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return hx_redirect(url_for(".group_detail", group_id=group.group.id))
    return _page(group, block=form_name, status=form_status(), **{form_name: form})


@bp.post("/groups/<id:group_id>/attendance")
def group_attendance(group_id: int) -> Response:
    group = _Group(group_id)
    form = group_attendance_form(group.unmarked)

    def act() -> str:
        marked = [(ts, form[f"p{ts.id}"].data) for ts in group.unmarked]
        marked = [(ts, value) for ts, value in marked if value]
        if not marked:
            raise DomainError("Choose present, late or absent for at least one student.")
        for ts, value in marked:
            scheduling.take_attendance(db.session, g.tenant, current_user, ts, value)
        names = ", ".join(ts.student.first_name for ts, _ in marked)
        if group.reference.status == SessionStatus.COMPLETED:
            return f"Attendance taken for {names}. The session is completed."
        return f"Attendance taken for {names}."

    return _done(group, "attendance_form", form, act)


@bp.post("/groups/<id:group_id>/plan")
def group_plan(group_id: int) -> Response:
    group = _Group(group_id)
    form = group_plan_form(group.upcoming)

    def act() -> str:
        scheduling.submit_group_plan(
            db.session,
            g.tenant,
            current_user,
            group.group,
            topics=form.topics.data or "",
            goals=form.goals.data or "",
            next_steps=form.next_steps.data or "",
            notes={ts.id: form[f"note_{ts.id}"].data or "" for ts in group.upcoming},
        )
        if group.reference.status == SessionStatus.COMPLETED:
            return "Action plan submitted. The session is completed."
        return "Action plan submitted. Take attendance for everyone to complete the session."

    return _done(group, "plan_form", form, act)


@bp.post("/groups/<id:group_id>/cancel")
def group_cancel(group_id: int) -> Response:
    group = _Group(group_id)
    form = ReasonForm(prefix="cancel")

    def act() -> str:
        cancelled = scheduling.cancel_group(
            db.session, g.tenant, current_user, group.group, form.reason.data or ""
        )
        return (
            f"Group session cancelled for {len(cancelled)} students; each student's hours "
            "went back to their package and each family is told."
        )

    return _done(group, "cancel_form", form, act)


@bp.post("/groups/<id:group_id>/reschedule")
def group_reschedule(group_id: int) -> Response:
    group = _Group(group_id)
    form = RescheduleForm()

    def act() -> str:
        moved = scheduling.reschedule_group(
            db.session, g.tenant, current_user, group.group, form.starts_at(g.tenant)
        )
        return f"Group session moved to {format_when(g.tenant.timezone, moved[0].starts_at)}."

    return _done(group, "reschedule_form", form, act)
