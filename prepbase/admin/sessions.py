"""Sessions: the business's Sessions list with its filters, and a student profile's
Sessions tab. Acting on one session (propose, cancel, complete) happens on the staff
session page, which admits admins for every session."""

from __future__ import annotations

from datetime import timedelta

from flask import g, request
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from prepbase.admin.blueprint import bp
from prepbase.admin.forms import SessionFilterForm
from prepbase.extensions import db
from prepbase.htmx import render
from prepbase.inputs import page_number
from prepbase.lifecycle import actions_by_session
from prepbase.localtime import business_today, day_start_utc
from prepbase.models import STAFF_ROLES, Student, User, utcnow
from prepbase.paging import Page
from prepbase.session_lists import SessionFilters, filtered_sessions, student_history
from prepbase.tenant_url import get_or_404

FILTER_NAMES = ("status", "staff", "student", "date_from", "date_to")


def _filter_form() -> SessionFilterForm:
    form = SessionFilterForm(formdata=request.args)
    staff = db.session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.name, User.id)
    )
    form.staff.choices = [SelectChoice("", "Anyone")] + [
        SelectChoice(str(u.id), u.name if u.active else f"{u.name} (inactive)") for u in staff
    ]
    students = db.session.scalars(
        select(Student).order_by(Student.last_name, Student.first_name, Student.id)
    )
    form.student.choices = [SelectChoice("", "Any student")] + [
        SelectChoice(str(s.id), s.full_name) for s in students
    ]
    return form


def _filters(form: SessionFilterForm) -> SessionFilters:
    return SessionFilters(
        status=form.status.data or None,
        staff_id=int(form.staff.data) if form.staff.data else None,
        student_id=int(form.student.data) if form.student.data else None,
        starts_from=day_start_utc(g.tenant, form.date_from.data) if form.date_from.data else None,
        starts_before=(
            day_start_utc(g.tenant, form.date_to.data + timedelta(days=1))
            if form.date_to.data
            else None
        ),
    )


@bp.get("/sessions")
def session_list() -> Response:
    form = _filter_form()
    if form.validate():
        sessions = filtered_sessions(db.session, _filters(form), page_number())
        status = 200
    else:
        sessions, status = Page.empty(), 422
    chosen = {name: request.args[name] for name in FILTER_NAMES if request.args.get(name)}
    return render(
        "admin/sessions/list.html",
        block="results",
        status=status,
        form=form,
        sessions=sessions,
        actions=actions_by_session(sessions.items, current_user, utcnow()),
        chosen=chosen,
    )


@bp.get("/students/<id:student_id>/sessions")
def student_sessions(student_id: int) -> Response:
    student = get_or_404(Student, student_id)
    now = utcnow()
    history = student_history(db.session, student.id, business_today(g.tenant, now))
    return render(
        "admin/students/tab_sessions.html",
        block="tab",
        student=student,
        tab="sessions",
        history=history,
        actions=actions_by_session(history.sessions(), current_user, now),
    )
