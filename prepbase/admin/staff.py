"""Staff: the list, inviting and editing tutors, counselors and admins, and anyone's
working hours and time off (the same page a staff member has for their own, see
prepbase/availability_pages.py)."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from prepbase import availability_pages, people
from prepbase.admin.blueprint import bp
from prepbase.admin.common import invite, refused
from prepbase.admin.forms import StaffEditForm, StaffInviteForm
from prepbase.availability_pages import Where
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import STAFF_ROLES, User
from prepbase.tenant_url import get_or_404


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
        done = invite(
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
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"{user.name} is saved.", "success")
            return hx_redirect(url_for(".staff_list"))
    return render(
        "admin/staff/edit.html", block="form", status=form_status(), form=form, member=user
    )


# --- anyone's working hours and time off ----------------------------------------------------


def _staff_member(user_id: int) -> tuple[User, Where]:
    member = get_or_404(User, user_id)
    if member.role not in STAFF_ROLES:
        abort(404)
    where = Where(
        page="tenant.admin.staff_hours_page",
        hours="tenant.admin.staff_hours_save",
        time_off="tenant.admin.staff_time_off_add",
        delete="tenant.admin.staff_time_off_delete",
        args={"user_id": member.id},
    )
    return member, where


@bp.get("/staff/<id:user_id>/availability")
def staff_hours_page(user_id: int) -> Response:
    return availability_pages.show_page(*_staff_member(user_id))


@bp.post("/staff/<id:user_id>/availability/hours")
def staff_hours_save(user_id: int) -> Response:
    return availability_pages.save_hours(*_staff_member(user_id))


@bp.post("/staff/<id:user_id>/availability/time-off")
def staff_time_off_add(user_id: int) -> Response:
    return availability_pages.add_time_off(*_staff_member(user_id))


@bp.post("/staff/<id:user_id>/availability/time-off/<id:time_off_id>/delete")
def staff_time_off_delete(user_id: int, time_off_id: int) -> Response:
    member, where = _staff_member(user_id)
    return availability_pages.delete_time_off(member, time_off_id, where)
