"""Settings: the business's details (name, time zone, low-balance reminder, contact) and
Settings → Scheduling. The Settings page also shows the Online Payments section
(payments.py) and how e-mail is doing (email.py); each section posts to its own route."""

from __future__ import annotations

from typing import Any

from flask import flash, g, request, url_for
from werkzeug.wrappers import Response

from prepbase import business, cancellation
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import (
    ALL,
    NO_CHARGE,
    SHARE,
    BusinessSettingsForm,
    CancellationPolicyForm,
    SchedulingSettingsForm,
)
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import form_status
from prepbase.hours import format_hours, parse_hours
from prepbase.htmx import hx_redirect, is_htmx, render
from prepbase.models import Tenant


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response:
    form = BusinessSettingsForm(obj=g.tenant)
    form.show_examples(g.tenant.currency)
    if request.method == "GET":
        form.low_balance_hours.data = format_hours(g.tenant.low_balance_minutes)
    if form.validate_on_submit():
        try:
            business.update_business(
                db.session,
                g.tenant,
                name=form.name.data or "",
                timezone=form.timezone.data,
                low_balance_minutes=parse_hours(
                    form.low_balance_hours.data, field="low_balance_hours", max_hours=200
                ),
                contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data or "",
                locale=form.locale.data,
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return hx_redirect(url_for(".settings"))
    return render("admin/settings/index.html", block="form", status=form_status(), form=form)


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
        assert form.horizon_days.data is not None  # required
        try:
            business.update_booking_settings(
                db.session,
                g.tenant,
                notice_minutes=_notice_minutes(form.notice_hours.data or ""),
                horizon_days=form.horizon_days.data,
                step_minutes=int(form.step_minutes.data),
                reminder_hours=int(form.reminder_hours.data),
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash("Scheduling settings saved.", "success")
            return hx_redirect(url_for(".settings"))
    # htmx swaps the form alone (its block lives in the section template); without
    # JavaScript the section comes on a page of its own.
    template = "admin/settings/_scheduling.html" if is_htmx() else "admin/settings/scheduling.html"
    return render(template, block="scheduling_form", status=form_status(), scheduling_form=form)


# --- Settings → Cancellation Policy (design §12) -------------------------------------------


def policy_form(tenant: Tenant, **kwargs: Any) -> CancellationPolicyForm:
    """The Cancellation Policy section of Settings, filled with the business's policy."""
    form = CancellationPolicyForm(prefix="policy", **kwargs)
    if request.method == "GET" or "formdata" in kwargs:
        keep = tenant.late_cancel_keep_percent
        form.window_hours.data = tenant.late_cancel_window_hours
        form.charge.data = ALL if keep == 100 else SHARE if keep else NO_CHARGE
        form.percent.data = keep if 0 < keep < 100 else None
        form.free_per_month.data = tenant.late_cancel_free_per_month
        form.no_show.data = "yes" if tenant.no_show_uses_hours else "no"
        form.text.data = tenant.cancellation_policy_text
        form.proposal_expiry_hours.data = tenant.proposal_expiry_hours
    return form


@bp.context_processor
def _policy_section() -> dict[str, Any]:
    return {"new_policy_form": lambda: policy_form(g.tenant, formdata=None)}


@bp.route("/settings/cancellation-policy", methods=["GET", "POST"])
def cancellation_policy_settings() -> Response:
    form = policy_form(g.tenant)
    if form.validate_on_submit():
        assert form.window_hours.data is not None  # required
        assert form.proposal_expiry_hours.data is not None  # required
        try:
            cancellation.update_policy(
                db.session,
                g.tenant,
                window_hours=form.window_hours.data,
                keep_percent=form.keep_percent(),
                free_per_month=form.free_per_month.data,
                no_show_uses_hours=form.no_show.data == "yes",
                text=form.text.data or "",
                proposal_expiry_hours=form.proposal_expiry_hours.data,
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash("Cancellation policy saved.", "success")
            return hx_redirect(url_for(".settings"))
    template = "admin/settings/_policy.html" if is_htmx() else "admin/settings/policy.html"
    return render(template, block="policy_form", status=form_status(), policy_form=form)
