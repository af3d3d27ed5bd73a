"""Admin pages of issue 7: Settings → Scheduling, and any staff member's working hours."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, request, url_for
from werkzeug.wrappers import Response

from prepbase import business
from prepbase.admin import bp
from prepbase.admin.scheduling_forms import SchedulingSettingsForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import apply_domain_error, form_status
from prepbase.hours import format_hours, parse_hours
from prepbase.htmx import hx_redirect, is_htmx, render
from prepbase.models import STAFF_ROLES, Tenant, User
from prepbase.tenant_url import get_or_404
from prepbase.tutor import availability_views as staff_pages

# --- Settings → Scheduling ------------------------------------------------------------------


def scheduling_form(tenant: Tenant, **kwargs: Any) -> SchedulingSettingsForm:
    """The Scheduling section of Settings, filled with the business's current rules."""
    form = SchedulingSettingsForm(prefix="scheduling", **kwargs)
    if request.method == "GET" or "formdata" in kwargs:
        form.notice_hours.data = format_hours(tenant.booking_notice_minutes) or "0"
        form.horizon_days.data = tenant.booking_horizon_days
        form.step_minutes.data = str(tenant.slot_step_minutes)
        form.reminder_hours.data = str(tenant.reminder_hours)
    return form


@bp.context_processor
def _scheduling_section() -> dict[str, Any]:
    # Settings includes the Scheduling section without its view knowing about it.
    return {"new_scheduling_form": lambda: scheduling_form(g.tenant, formdata=None)}


def _notice_minutes(text: str) -> int:
    if (text or "").strip() in {"0", "0.0"}:
        return 0
    return parse_hours(text, field="notice_hours", max_hours=business.MAX_NOTICE_HOURS)


@bp.route("/settings/scheduling", methods=["GET", "POST"])
def scheduling_settings() -> Response:
    form = scheduling_form(g.tenant)
    if form.validate_on_submit():
        try:
            business.update_booking_settings(
                db.session,
                g.tenant,
                notice_minutes=_notice_minutes(form.notice_hours.data),
                horizon_days=form.horizon_days.data,
                step_minutes=int(form.step_minutes.data),
                reminder_hours=int(form.reminder_hours.data),
            )
        except DomainError as exc:
            db.session.rollback()
            apply_domain_error(form, exc)
        else:
            db.session.commit()
            flash("Scheduling settings saved.", "success")
            return hx_redirect(url_for(".settings"))
    # htmx swaps the form alone (its block lives in the section template); without
    # JavaScript the section comes on a page of its own.
    template = "admin/settings/_scheduling.html" if is_htmx() else "admin/settings/scheduling.html"
    return render(template, block="scheduling_form", status=form_status(), scheduling_form=form)


# --- anyone's working hours and time off ----------------------------------------------------


def _staff_member(user_id: int) -> tuple[User, staff_pages.Where]:
    member = get_or_404(User, user_id)
    if member.role not in STAFF_ROLES:
        abort(404)
    where = staff_pages.Where(
        page="tenant.admin.staff_hours_page",
        hours="tenant.admin.staff_hours_save",
        time_off="tenant.admin.staff_time_off_add",
        delete="tenant.admin.staff_time_off_delete",
        args={"user_id": member.id},
    )
    return member, where


@bp.get("/staff/<id:user_id>/availability")
def staff_hours_page(user_id: int) -> Response:
    return staff_pages.show_page(*_staff_member(user_id))


@bp.post("/staff/<id:user_id>/availability/hours")
def staff_hours_save(user_id: int) -> Response:
    return staff_pages.save_hours(*_staff_member(user_id))


@bp.post("/staff/<id:user_id>/availability/time-off")
def staff_time_off_add(user_id: int) -> Response:
    return staff_pages.add_time_off(*_staff_member(user_id))


@bp.post("/staff/<id:user_id>/availability/time-off/<id:time_off_id>/delete")
def staff_time_off_delete(user_id: int, time_off_id: int) -> Response:
    member, where = _staff_member(user_id)
    return staff_pages.delete_time_off(member, time_off_id, where)
