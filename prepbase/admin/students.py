"""Students: the searchable list of profiles, adding and editing a student, the profile's
Overview tab and the student's own sign-in. (The Packages and Sessions tabs live with
packages.py and sessions.py.)"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import people
from prepbase.admin.blueprint import bp
from prepbase.admin.common import PROFILE, invite, refused
from prepbase.admin.forms import NEW_FAMILY, StudentForm, StudentLoginForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, SelectChoice, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.inputs import page_number
from prepbase.models import Family, Role, Student
from prepbase.tenant_url import get_or_404


@bp.get("/students")
def student_list() -> Response:
    query = request.args.get("q", "")[:100]
    return render(
        "admin/students/list.html",
        block="results",
        students=people.search_students(db.session, query, page_number()),
        q=query,
    )


def _family_choices() -> list[SelectChoice]:
    families = db.session.scalars(select(Family).order_by(Family.name)).all()
    return [SelectChoice(NEW_FAMILY, "New family")] + [
        SelectChoice(str(f.id), f.name) for f in families
    ]


def _chosen_family(form: StudentForm) -> Family:
    if form.family.data == NEW_FAMILY:
        last_name = form.last_name.data or ""
        name = (form.new_family_name.data or "").strip() or f"{last_name.strip()} family"
        return people.create_family(db.session, current_user, name=name)
    if not (form.family.data or "").isdigit():
        raise DomainError("Choose a family.", field="family")
    return get_or_404(Family, int(form.family.data))


def _student_form_page(student: Student | None) -> Response:
    form = StudentForm(obj=student)
    form.family.choices = _family_choices()
    if request.method == "GET":
        if student is not None:
            form.family.data = str(student.family_id)
        elif request.args.get("family", "").isdigit():
            form.family.data = request.args["family"]
    if form.validate_on_submit():
        try:
            saved = people.save_student(
                db.session,
                current_user,
                student,
                family=_chosen_family(form),
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                grade=form.grade.data or "",
                school=form.school.data or "",
                notes=form.notes.data or "",
                address=form.address.data or "",
                phone=form.phone.data or "",
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"{saved.full_name} is saved.", "success")
            return hx_redirect(url_for(".student_overview", student_id=saved.id))
    return render(
        "admin/students/form.html", block="form", status=form_status(), form=form, student=student
    )


@bp.route("/students/new", methods=["GET", "POST"])
def student_new() -> Response:
    return _student_form_page(None)


@bp.route("/students/<id:student_id>/edit", methods=["GET", "POST"])
def student_edit(student_id: int) -> Response:
    return _student_form_page(get_or_404(Student, student_id))


@bp.get("/students/<id:student_id>")
def student_overview(student_id: int) -> Response:
    student = get_or_404(Student, student_id, PROFILE)
    return render(
        "admin/students/tab_overview.html",
        block="tab",
        student=student,
        tab="overview",
        login_form=StudentLoginForm(),
        action_form=ActionForm(),
    )


@bp.post("/students/<id:student_id>/login")
def student_login_invite(student_id: int) -> Response:
    student = get_or_404(Student, student_id)
    form = StudentLoginForm()
    if form.validate_on_submit():
        done = invite(
            form,
            lambda: url_for(".student_overview", student_id=student.id),
            name=student.full_name,
            role=Role.STUDENT,
            student=student,
        )
        if done is not None:
            return done
    return render(
        "admin/students/tab_overview.html",
        block="tab",
        status=form_status(),
        student=student,
        tab="overview",
        login_form=form,
        action_form=ActionForm(),
    )
