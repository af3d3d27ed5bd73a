from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import current_app, flash, g, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from prepbase import business, people
from prepbase.admin import bp
from prepbase.admin.forms import (
    NEW_FAMILY,
    BusinessSettingsForm,
    FamilyForm,
    InviteParentForm,
    StaffEditForm,
    StaffInviteForm,
    StudentForm,
    StudentLoginForm,
)
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, apply_domain_error, form_status
from prepbase.hours import format_hours, parse_hours
from prepbase.htmx import hx_redirect, render
from prepbase.inputs import page_number
from prepbase.localtime import business_today
from prepbase.mail.accounts import send_invitation
from prepbase.models import STAFF_ROLES, Family, Package, Role, Student, User
from prepbase.tenant_url import get_or_404


def _invite_ttl() -> timedelta:
    return timedelta(days=current_app.config["INVITE_TTL_DAYS"])


def _refused(form: object, exc: DomainError) -> None:
    db.session.rollback()  # nothing of a refused action is kept
    apply_domain_error(form, exc)  # type: ignore[arg-type]


def _invite(form: object, done_url: Callable[[], str], **who: object) -> Response | None:
    """Invite someone (one transaction with the e-mail); the redirect, or None if refused."""
    try:
        email = form.email.data  # type: ignore[attr-defined]
        user, raw = people.invite_user(
            db.session, current_user, email=email, ttl=_invite_ttl(), **who
        )
        send_invitation(db.session, g.tenant, user, raw)
    except DomainError as exc:
        _refused(form, exc)
        return None
    db.session.commit()
    flash(f"Invitation sent to {user.email}.", "success")
    return hx_redirect(done_url())


@bp.get("/")
def dashboard() -> Response:
    counts = {
        "students": db.session.scalar(select(func.count(Student.id))),
        "families": db.session.scalar(select(func.count(Family.id))),
        "staff": db.session.scalar(
            select(func.count(User.id)).where(User.role.in_(STAFF_ROLES), User.active.is_(True))
        ),
    }
    pending = db.session.scalars(
        select(User).where(User.password_hash.is_(None), User.active.is_(True)).order_by(User.name)
    ).all()
    # §4: Active packages at or below the business's low-balance threshold, emptiest first.
    running_low = db.session.scalars(
        select(Package)
        .where(
            Package.active_on(business_today(g.tenant)),
            Package.remaining_minutes <= g.tenant.low_balance_minutes,
        )
        .options(joinedload(Package.student))
        .order_by(Package.remaining_minutes, Package.id)
    ).all()
    return render(
        "admin/dashboard.html",
        counts=counts,
        pending=pending,
        running_low=running_low,
        action_form=ActionForm(),
    )


# --- students ---------------------------------------------------------------------------


@bp.get("/students")
def student_list() -> Response:
    query = request.args.get("q", "")[:100]
    page = page_number()
    students, total = people.search_students(db.session, query, page)
    pages = max(1, -(-total // people.STUDENTS_PER_PAGE))
    return render(
        "admin/students/list.html",
        block="results",
        students=students,
        q=query,
        page=min(max(page, 1), pages),
        pages=pages,
        total=total,
    )


def _family_choices() -> list[SelectChoice]:
    families = db.session.scalars(select(Family).order_by(Family.name)).all()
    return [SelectChoice(NEW_FAMILY, "New family")] + [
        SelectChoice(str(f.id), f.name) for f in families
    ]


def _chosen_family(form: StudentForm) -> Family:
    if form.family.data == NEW_FAMILY:
        name = (form.new_family_name.data or "").strip() or f"{form.last_name.data.strip()} family"
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
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                grade=form.grade.data or "",
                school=form.school.data or "",
                notes=form.notes.data or "",
            )
        except DomainError as exc:
            _refused(form, exc)
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


def _profile(student_id: int, tab: str, **context: object) -> Response:
    student = get_or_404(Student, student_id)
    return render(
        f"admin/students/tab_{tab}.html", block="tab", student=student, tab=tab, **context
    )


@bp.get("/students/<id:student_id>")
def student_overview(student_id: int) -> Response:
    return _profile(student_id, "overview", login_form=StudentLoginForm(), action_form=ActionForm())


@bp.post("/students/<id:student_id>/login")
def student_login_invite(student_id: int) -> Response:
    student = get_or_404(Student, student_id)
    form = StudentLoginForm()
    if form.validate_on_submit():
        done = _invite(
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


# --- families ---------------------------------------------------------------------------


@bp.get("/families")
def family_list() -> Response:
    families = db.session.scalars(select(Family).order_by(Family.name)).all()
    return render("admin/families/list.html", families=families)


@bp.route("/families/new", methods=["GET", "POST"])
def family_new() -> Response:
    form = FamilyForm()
    if form.validate_on_submit():
        family = people.create_family(db.session, current_user, name=form.name.data)
        db.session.commit()
        flash(f"{family.name} is added. Add its students and invite its parents.", "success")
        return hx_redirect(url_for(".family_detail", family_id=family.id))
    return render("admin/families/form.html", block="form", status=form_status(), form=form)


@bp.get("/families/<id:family_id>")
def family_detail(family_id: int) -> Response:
    family = get_or_404(Family, family_id)
    return render(
        "admin/families/detail.html",
        family=family,
        parent_form=InviteParentForm(),
        action_form=ActionForm(),
    )


@bp.post("/families/<id:family_id>/parents")
def family_invite_parent(family_id: int) -> Response:
    family = get_or_404(Family, family_id)
    form = InviteParentForm()
    if form.validate_on_submit():
        done = _invite(
            form,
            lambda: url_for(".family_detail", family_id=family.id),
            name=form.name.data,
            role=Role.PARENT,
            family=family,
        )
        if done is not None:
            return done
    return render(
        "admin/families/detail.html",
        block="parent_form",
        status=form_status(),
        family=family,
        parent_form=form,
        action_form=ActionForm(),
    )


# --- staff ------------------------------------------------------------------------------


@bp.get("/staff")
def staff_list() -> Response:
    staff = db.session.scalars(
        select(User)
        .where(User.role.in_(STAFF_ROLES))
        .options(selectinload(User.service_rows), selectinload(User.working_hours))
        .order_by(User.active.desc(), User.name)
    ).all()
    return render("admin/staff/list.html", staff=staff, action_form=ActionForm())


@bp.route("/staff/invite", methods=["GET", "POST"])
def staff_invite() -> Response:
    form = StaffInviteForm()
    if form.validate_on_submit():
        done = _invite(
            form,
            lambda: url_for(".staff_list"),
            name=form.name.data,
            role=form.role.data,
            services=form.services.data or [],
        )
        if done is not None:
            return done
    return render("admin/staff/invite.html", block="form", status=form_status(), form=form)


@bp.route("/staff/<id:user_id>/edit", methods=["GET", "POST"])
def staff_edit(user_id: int) -> Response:
    user = get_or_404(User, user_id)
    if user.role not in STAFF_ROLES:
        return hx_redirect(url_for(".staff_list"))
    form = StaffEditForm(obj=user)
    if request.method == "GET":
        form.services.data = [s.value for s in user.services]
    if form.validate_on_submit():
        try:
            people.update_staff(
                db.session,
                current_user,
                user,
                name=form.name.data,
                role=form.role.data,
                services=form.services.data or [],
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash(f"{user.name} is saved.", "success")
            return hx_redirect(url_for(".staff_list"))
    return render(
        "admin/staff/edit.html", block="form", status=form_status(), form=form, member=user
    )


def _set_active(user_id: int, active: bool) -> Response:
    user = get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            people.set_active(db.session, current_user, user, active)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"{user.name} is {'reactivated' if active else 'deactivated'}.", "success")
    return hx_redirect(request.referrer if _same_site(request.referrer) else url_for(".staff_list"))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url + g.tenant.slug + "/")  # type: ignore[union-attr]


@bp.post("/people/<id:user_id>/deactivate")
def person_deactivate(user_id: int) -> Response:
    return _set_active(user_id, False)


@bp.post("/people/<id:user_id>/reactivate")
def person_reactivate(user_id: int) -> Response:
    return _set_active(user_id, True)


@bp.post("/people/<id:user_id>/resend-invite")
def person_resend_invite(user_id: int) -> Response:
    user = get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            raw = people.reissue_invite(db.session, current_user, user, _invite_ttl())
            send_invitation(db.session, g.tenant, user, raw)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                f"A new invitation went to {user.email}; the old link no longer works.", "success"
            )
    return hx_redirect(request.referrer if _same_site(request.referrer) else url_for(".dashboard"))


# --- settings -----------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response:
    form = BusinessSettingsForm(obj=g.tenant)
    if request.method == "GET":
        form.low_balance_hours.data = format_hours(g.tenant.low_balance_minutes)
    if form.validate_on_submit():
        try:
            business.update_business(
                db.session,
                g.tenant,
                name=form.name.data,
                timezone=form.timezone.data,
                low_balance_minutes=parse_hours(
                    form.low_balance_hours.data, field="low_balance_hours", max_hours=200
                ),
                contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data or "",
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return hx_redirect(url_for(".settings"))
    return render("admin/settings.html", block="form", status=form_status(), form=form)
