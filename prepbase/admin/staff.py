"""Staff: the list, inviting and editing tutors, counselors and admins, deactivating one
after handing over their sessions, and anyone's working hours and time off (the same
page a staff member has for their own, see prepbase/availability_pages.py)."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, g, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from prepbase import availability_pages, categories, people, scheduling, slots
from prepbase.admin.blueprint import bp
from prepbase.admin.common import invite, reassign_choices, refused
from prepbase.admin.forms import ReassignForm, StaffEditForm, StaffInviteForm
from prepbase.availability_pages import Where
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.hours import hours_phrase
from prepbase.htmx import hx_redirect, render
from prepbase.lifecycle import Action, actions_by_session
from prepbase.localtime import format_when
from prepbase.models import STAFF_ROLES, TutoringSession, User, utcnow
from prepbase.session_forms import ReasonForm
from prepbase.session_lists import sessions_to_hand_over
from prepbase.tenant_url import get_or_404


@bp.get("/staff")
def staff_list() -> Response:
    staff = db.session.scalars(
        select(User)
        .where(User.role.in_(STAFF_ROLES))
        .options(selectinload(User.service_rows), selectinload(User.working_hours))
        .order_by(User.active.desc(), User.name)
    ).all()
    return render(
        "admin/staff/list.html",
        staff=staff,
        action_form=ActionForm(),
        never_invited=people.never_invited_ids(db.session, [m.id for m in staff]),
    )


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
    form.set_subject_choices(categories.active_subjects(db.session))
    if request.method == "GET":
        form.services.data = [s.value for s in user.services]
        form.subjects.data = [str(s.id) for s in categories.subjects_of(db.session, user)]
    if form.validate_on_submit():
        try:
            people.update_staff(
                db.session,
                current_user,
                user,
                name=form.name.data or "",
                role=form.role.data,
                services=form.services.data or [],
            )
            categories.update_staff_teaching(
                db.session,
                user,
                subject_ids=[int(i) for i in form.subjects.data or []],
                default_meeting_link=form.default_meeting_link.data,
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


# --- deactivating someone, after handing over their sessions ------------------------------
# Nothing is left stranded under "(inactive)": `people.set_active` refuses while the
# staff member has pending or upcoming sessions, and this page lists them with the
# choices (reassign each or all, cancel each or all). Every form works without
# JavaScript; with htmx a refusal swaps the #handover section (422).


def _staff_or_404(user_id: int) -> User:
    member = get_or_404(User, user_id)
    if member.role not in STAFF_ROLES:
        abort(404)
    return member


def _one_form(
    ts: TutoringSession, member: User, candidates: list[User], **kwargs: object
) -> ReassignForm:
    # One prefix per session: the page shows a form for each.
    form = ReassignForm(prefix=f"s{ts.id}", **kwargs)
    form.staff.choices = reassign_choices([ts.service], member.id, candidates)
    return form


def _all_form(
    member: User, sessions: list[TutoringSession], candidates: list[User], **kwargs: object
) -> ReassignForm:
    form = ReassignForm(prefix="all", **kwargs)
    form.staff.label.text = "Reassign all to"
    form.staff.choices = reassign_choices({ts.service for ts in sessions}, member.id, candidates)
    return form


def _cancel_all_form(**kwargs: object) -> ReasonForm:
    form = ReasonForm(prefix="cancel-all", **kwargs)
    form.reason.label.text = "Reason (optional; the families read it)"
    return form


def _handover_page(
    member: User, *, status: int = 200, posted: dict[str | int, FlaskForm] | None = None
) -> Response:
    """The deactivation page: the sessions to hand over and the choices, or the button.
    `posted` holds the form that was sent and refused: under its session's id, "all",
    "cancel_all", or "alert" for a button without fields (its message shows on top)."""
    posted = posted or {}
    sessions = sessions_to_hand_over(db.session, member.id)
    actions = actions_by_session(sessions, current_user, utcnow())
    candidates = slots.bookable_staff(db.session)  # one query for every select
    return render(
        "admin/staff/deactivate.html",
        block="handover",
        status=status,
        member=member,
        sessions=sessions,
        actions=actions,
        # How many sessions "Reassign all" and "Cancel all" would move.
        movable={
            action: sum(1 for ts in sessions if action in actions[ts.id])
            for action in (Action.REASSIGN, Action.CANCEL)
        },
        one_forms={
            ts.id: posted.get(ts.id) or _one_form(ts, member, candidates, formdata=None)
            for ts in sessions
        },
        all_form=posted.get("all") or _all_form(member, sessions, candidates, formdata=None),
        cancel_form=posted.get("cancel_all") or _cancel_all_form(formdata=None),
        alert=posted.get("alert"),
        action_form=ActionForm(formdata=None),
    )


def _hand_over(
    member: User, form: FlaskForm, key: str | int, act: Callable[[], str], done: str = ""
) -> Response:
    """Run one action of the page: commit and go to `done` (the page again by default)
    with what happened, or show the page with the refusal (422), nothing kept."""
    if form.validate_on_submit():
        try:
            message = act()
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return hx_redirect(done or url_for(".staff_deactivate", user_id=member.id))
    return _handover_page(member, status=422, posted={key: form})


@bp.route("/staff/<id:user_id>/deactivate", methods=["GET", "POST"])
def staff_deactivate(user_id: int) -> Response:
    member = _staff_or_404(user_id)
    if request.method == "GET":
        return _handover_page(member)

    def act() -> str:
        people.set_active(db.session, current_user, member, False)
        return f"{member.name} is deactivated."

    return _hand_over(member, ActionForm(), "alert", act, done=url_for(".staff_list"))


@bp.post("/staff/<id:user_id>/reassign-all")
def staff_reassign_all(user_id: int) -> Response:
    member = _staff_or_404(user_id)
    form = _all_form(
        member,
        sessions_to_hand_over(db.session, member.id),
        slots.bookable_staff(db.session),
    )

    def act() -> str:
        new_staff = get_or_404(User, int(form.staff.data))
        moved = scheduling.reassign_all(
            db.session, g.tenant, current_user, member, new_staff, anyway=form.anyway.data
        )
        if not moved:
            return f"{member.name} has no session that can be reassigned."
        sessions = "session" if len(moved) == 1 else "sessions"
        return (
            f"{len(moved)} {sessions} reassigned to {new_staff.name}; the staff members "
            "and the families are told by e-mail. No hours moved."
        )

    return _hand_over(member, form, "all", act)


@bp.post("/staff/<id:user_id>/cancel-all")
def staff_cancel_all(user_id: int) -> Response:
    member = _staff_or_404(user_id)
    form = _cancel_all_form()

    def act() -> str:
        cancelled = scheduling.cancel_all(
            db.session, g.tenant, current_user, member, form.reason.data or ""
        )
        if not cancelled:
            return f"{member.name} has no session that can be cancelled."
        refunded = sum(ts.duration_minutes for ts in cancelled if ts.package_id is not None)
        sessions = "session" if len(cancelled) == 1 else "sessions"
        return (
            f"{len(cancelled)} {sessions} cancelled; {hours_phrase(refunded)} went back to "
            "their packages and the families are told by e-mail."
        )

    return _hand_over(member, form, "cancel_all", act)


def _members_session(member: User, session_id: int) -> TutoringSession | None:
    ts = get_or_404(TutoringSession, session_id)
    return ts if ts.staff_id == member.id else None


@bp.post("/staff/<id:user_id>/sessions/<id:session_id>/reassign")
def staff_session_reassign(user_id: int, session_id: int) -> Response:
    member = _staff_or_404(user_id)
    ts = _members_session(member, session_id)
    if ts is None:  # handed over a moment ago (another tab, another admin)
        flash(f"That session is no longer {member.name}'s.", "info")
        return hx_redirect(url_for(".staff_deactivate", user_id=member.id))
    form = _one_form(ts, member, slots.bookable_staff(db.session))

    def act() -> str:
        new_staff = get_or_404(User, int(form.staff.data))
        scheduling.reassign_session(
            db.session, g.tenant, current_user, ts, new_staff, anyway=form.anyway.data
        )
        return (
            f"{ts.student.full_name}'s session of {format_when(g.tenant.timezone, ts.starts_at)} "
            f"is now with {new_staff.name}; they, {member.name} and the family are told by "
            "e-mail."
        )

    return _hand_over(member, form, ts.id, act)


@bp.post("/staff/<id:user_id>/sessions/<id:session_id>/cancel")
def staff_session_cancel(user_id: int, session_id: int) -> Response:
    member = _staff_or_404(user_id)
    ts = _members_session(member, session_id)
    if ts is None:
        flash(f"That session is no longer {member.name}'s.", "info")
        return hx_redirect(url_for(".staff_deactivate", user_id=member.id))

    def act() -> str:
        charged, package = ts.charged_minutes, ts.package
        scheduling.cancel_session(db.session, g.tenant, current_user, ts)
        back = (
            f" {hours_phrase(charged)} went back to {package.name}."
            if charged and package is not None
            else ""
        )
        return f"{ts.student.full_name}'s session cancelled.{back} The family is told by e-mail."

    return _hand_over(member, ActionForm(), "alert", act)


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
