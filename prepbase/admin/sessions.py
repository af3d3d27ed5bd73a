"""Sessions: the business's Sessions list with its filters, a student profile's Sessions
tab, and Reassign (admins only). Acting on one session otherwise (propose, cancel,
complete) happens on the staff session page, which admits admins for every session."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, g, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import scheduling
from prepbase.admin.blueprint import bp
from prepbase.admin.common import PROFILE, reassign_choices, refused
from prepbase.admin.forms import ReassignForm, SessionFilterForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import SelectChoice, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.inputs import page_number
from prepbase.lifecycle import Action, actions_by_session, allowed_actions
from prepbase.localtime import business_today, day_start_utc
from prepbase.models import (
    STAFF_ROLES,
    SessionCategory,
    Student,
    Subject,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.paging import Page
from prepbase.session_lists import SessionFilters, filtered_sessions, student_history
from prepbase.tenant_url import get_or_404

FILTER_NAMES = ("status", "staff", "student", "category", "subject", "date_from", "date_to")


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
    form.offer_kinds(
        list(db.session.scalars(select(SessionCategory).order_by(SessionCategory.name))),
        list(
            db.session.scalars(
                select(Subject).join(Subject.category).order_by(SessionCategory.name, Subject.name)
            )
        ),
    )
    return form


def _filters(form: SessionFilterForm) -> SessionFilters:
    return SessionFilters(
        status=form.status.data or None,
        staff_id=int(form.staff.data) if form.staff.data else None,
        student_id=int(form.student.data) if form.student.data else None,
        category_id=int(form.category.data) if form.category.data else None,
        subject_id=int(form.subject.data) if form.subject.data else None,
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
    student = get_or_404(Student, student_id, PROFILE)
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


@bp.route("/sessions/<id:session_id>/reassign", methods=["GET", "POST"])
def session_reassign(session_id: int) -> Response:
    """Give a pending or upcoming session to another staff member who offers its service."""
    ts = get_or_404(TutoringSession, session_id)
    form = ReassignForm()
    form.staff.choices = reassign_choices([ts.service], ts.staff_id)
    if form.validate_on_submit():
        try:
            previous = scheduling.reassign_session(
                db.session,
                g.tenant,
                current_user,
                ts,
                get_or_404(User, int(form.staff.data)),
                anyway=form.anyway.data,
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(
                f"Session reassigned from {previous.name} to {ts.staff.name}; both of them "
                "and the family are told by e-mail. No hours moved.",
                "success",
            )
            return hx_redirect(url_for("tenant.tutor.session_detail", session_id=ts.id))
    return render(
        "admin/sessions/reassign.html",
        block="form",
        status=form_status(),
        form=form,
        ts=ts,
        allowed=Action.REASSIGN in allowed_actions(ts, current_user, utcnow()),
    )
