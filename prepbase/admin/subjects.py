"""Settings → Subjects: what sessions are about, grouped by category (Test Prep → SAT);
staff list the ones they teach on their Edit page."""

from __future__ import annotations

from flask import flash, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from prepbase import categories
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import SubjectForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import SessionCategory, Subject
from prepbase.tenant_url import get_or_404


@bp.get("/settings/subjects")
def subject_list() -> Response:
    rows = db.session.scalars(
        select(Subject)
        .join(Subject.category)
        .order_by(SessionCategory.name, Subject.name, Subject.id)
    ).all()
    return render("admin/settings/subjects.html", rows=rows, action_form=ActionForm())


def _subject_form_page(subject: Subject | None) -> Response:
    form = SubjectForm()
    offered = categories.active_categories(db.session)
    if subject is not None and subject.category not in offered:
        offered.append(subject.category)
    form.set_category_choices(offered)
    if request.method == "GET" and subject is not None:
        form.name.data, form.category.data = subject.name, str(subject.category_id)
    if form.validate_on_submit():
        category = get_or_404(SessionCategory, int(form.category.data))
        try:
            saved = categories.save_subject(
                db.session, subject, name=form.name.data or "", category=category
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"{saved.name} is saved.", "success")
            return hx_redirect(url_for(".subject_list"))
    return render(
        "admin/settings/subject_form.html",
        block="form",
        status=form_status(),
        form=form,
        subject=subject,
    )


@bp.route("/settings/subjects/new", methods=["GET", "POST"])
def subject_new() -> Response:
    return _subject_form_page(None)


@bp.route("/settings/subjects/<id:subject_id>/edit", methods=["GET", "POST"])
def subject_edit(subject_id: int) -> Response:
    return _subject_form_page(get_or_404(Subject, subject_id))


def _set_active(subject_id: int, active: bool) -> Response:
    subject = get_or_404(Subject, subject_id)
    if ActionForm().validate_on_submit():
        categories.set_subject_active(db.session, subject, active)
        db.session.commit()
        flash(f"{subject.name} is {'offered again' if active else 'no longer offered'}.", "success")
    return hx_redirect(url_for(".subject_list"))


@bp.post("/settings/subjects/<id:subject_id>/deactivate")
def subject_deactivate(subject_id: int) -> Response:
    return _set_active(subject_id, False)


@bp.post("/settings/subjects/<id:subject_id>/activate")
def subject_activate(subject_id: int) -> Response:
    return _set_active(subject_id, True)
