"""The staff portal: my sessions, Propose Session, and one session's page with its actions.

Tutors and counselors act on their own sessions; admins use the same pages for the
sessions they teach and, from the admin's Sessions list, for anyone's (design §1, §3).
A session that is not the actor's is a 404, like a row of another business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import abort, flash, g, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectField

from prepbase import (
    availability,
    cancellation,
    categories,
    packages,
    reports,
    scheduling,
    slots,
)
from prepbase.charts import Series, bar_chart
from prepbase.errors import DomainError, NotFound
from prepbase.extensions import db
from prepbase.feed_pages import add_feed_routes
from prepbase.forms import (
    ActionForm,
    Form,
    SelectChoice,
    apply_domain_error,
    choices,
    form_status,
)
from prepbase.hours import format_hours, hours_phrase
from prepbase.htmx import hx_redirect, render
from prepbase.inputs import parse_id
from prepbase.lifecycle import actions_by_session, allowed_actions
from prepbase.localtime import business_today, format_when, to_local
from prepbase.models import Role, SessionStatus, Student, TutoringSession, User, utcnow
from prepbase.series import NewSeries, PlanChanged, SeriesPlan
from prepbase.session_forms import (
    SERVICE_CHOICES,
    ActionPlanForm,
    AttendanceForm,
    ReasonForm,
    RepeatScheduleForm,
    staff_choices,
)
from prepbase.session_lists import staff_board
from prepbase.tenant_url import get_or_404
from prepbase.tutor.blueprint import bp
from prepbase.tutor.forms import (
    APPLY_POLICY,
    FOLLOWING,
    CancelForm,
    DurationForm,
    LogPastSessionForm,
    PlaceForm,
    ProposeForm,
    RescheduleForm,
)


def _refused(form: FlaskForm, exc: DomainError) -> None:
    if isinstance(exc, NotFound):
        raise exc  # someone else's row: the error handler answers 404
    db.session.rollback()  # nothing of a refused action is kept
    apply_domain_error(form, exc)


def _decline_form(ts: TutoringSession, **kwargs: object) -> ReasonForm:
    # One prefix per session: the dashboard shows several decline forms at once.
    form = ReasonForm(prefix=f"decline-{ts.id}", **kwargs)
    form.reason.label.text = "Reason (the family reads it)"
    return form


def _cancel_form(**kwargs: object) -> CancelForm:
    form = CancelForm(prefix="cancel", **kwargs)
    form.reason.label.text = "Reason (optional)"
    return form


@bp.get("/")
def dashboard() -> Response:
    now = utcnow()
    board = staff_board(db.session, current_user.id, now, business_today(g.tenant, now))
    weeks = reports.staff_hours_by_week(db.session, g.tenant.timezone, current_user.id, now)
    return render(
        "tutor/dashboard.html",
        board=board,
        delivered_chart=bar_chart(
            "chart-delivered",
            "Hours you delivered per week, last 12 weeks",
            [f"{start.day} {start.strftime('%b')}" for start, _ in weeks],
            [Series("Hours delivered", [minutes / 60 for _, minutes in weeks])],
        ),
        delivered_total=sum(minutes for _, minutes in weeks),
        actions=actions_by_session(board.sessions(), current_user, now),
        action_form=ActionForm(),
        decline_forms={ts.id: _decline_form(ts, formdata=None) for ts in board.new_bookings},
        # New staff are asked to set working hours until they have (not a redirect: the
        # rest of the page works without them). An admin's "My teaching" asks only an
        # admin who teaches.
        needs_hours=(current_user.role != Role.ADMIN or bool(current_user.services))
        and not availability.has_working_hours(db.session, current_user.id),
    )


# --- Propose Session ---------------------------------------------------------------------


def _student_choices() -> list[SelectChoice]:
    # Any student of the business: staff are not tied to a roster, so a tutor can start
    # working with a student the office has just enrolled.
    students = db.session.scalars(
        select(Student).order_by(Student.last_name, Student.first_name, Student.id)
    )
    return [SelectChoice(str(s.id), s.full_name) for s in students]


def _staff_choices(actor: User) -> list[SelectChoice]:
    if actor.role != Role.ADMIN:
        return [SelectChoice(str(actor.id), actor.name)]
    return staff_choices(slots.bookable_staff(db.session))


def _service_choices(actor: User) -> list[SelectChoice]:
    if actor.role == Role.ADMIN:
        return SERVICE_CHOICES  # the chosen staff member must offer it; the domain checks
    return [SelectChoice(s.value, s.label) for s in actor.services]


def _offered(field: SelectField, value: str) -> bool:
    return any(choice.value == value for choice in choices(field))


@bp.route("/sessions/new", methods=["GET", "POST"])
def session_new() -> Response:
    form = ProposeForm()
    form.student.choices = _student_choices()
    form.others.choices = form.student.choices
    form.service.choices = _service_choices(current_user)
    form.offer_kinds(db.session)
    form.staff.choices = _staff_choices(current_user)
    if request.method == "GET":
        # A subject in the link (?subject=…): only the staff who teach it are offered.
        subject_id = parse_id(request.args.get("subject", ""))
        if subject_id is not None and _offered(form.subject, str(subject_id)):
            form.subject.data = str(subject_id)
            teaching = categories.staff_teaching(db.session, subject_id)
            form.staff.choices = [c for c in form.staff.choices if int(c.value) in teaching]
        # A link may choose the student (a student's page), and the staff member, day and
        # start (a free time on the Calendar); what is not offered or not a date is ignored.
        wanted = request.args.get("student", "")
        if _offered(form.student, wanted):
            form.student.data = wanted
        for staff in (request.args.get("staff", ""), str(current_user.id)):
            if _offered(form.staff, staff):
                form.staff.data = staff
                break
        for name in ("date", "start_time"):
            if request.args.get(name):
                form[name].process(request.args)
        if request.args.get("repeat"):  # back from a series' preview: "Change the time"
            form.process(formdata=request.args)
    if form.validate_on_submit():
        if form.book_now.data and _book_now_refused(form):
            return render("tutor/propose.html", block="form", status=422, form=form)
        if form.others.data:
            return _propose_group(form)
        if form.repeat.data:
            return _propose_series(form)
        # "Book it now" is an admin's booking for the family (a phone call): upcoming at
        # once with its hours used; otherwise a proposal the family accepts.
        make = scheduling.book_for_family if form.book_now.data else scheduling.propose_session
        try:
            ts = make(
                db.session,
                g.tenant,
                current_user,
                student=get_or_404(Student, int(form.student.data)),
                **_proposed(form),
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            booked = ts.status == SessionStatus.UPCOMING
            # Staff may propose any time; they are told when it is outside their hours (a
            # booking for the family never is: it is refused there).
            outside = None
            if not booked:
                outside = availability.outside_hours(
                    db.session, g.tenant, ts.staff, ts.starts_at, ts.duration_minutes
                )
            db.session.commit()
            when = format_when(g.tenant.timezone, ts.starts_at)
            if booked:
                source = f" from {ts.package.name}" if ts.package is not None else ""
                flash(
                    f"Booked for {ts.student.full_name} on {when}: upcoming, "
                    f"{hours_phrase(ts.charged_minutes)} used{source}. The family and the "
                    "staff member are told by e-mail.",
                    "success",
                )
            else:
                flash(
                    f"Session proposed for {ts.student.full_name} on {when}. It is pending "
                    "until the family accepts it; no hours move until then.",
                    "success",
                )
                if outside:
                    flash(f"Note: {outside} It is proposed anyway.", "info")
            return hx_redirect(url_for(".session_detail", session_id=ts.id))
    return render("tutor/propose.html", block="form", status=form_status(), form=form)


def _proposed(form: ProposeForm) -> dict[str, Any]:
    """What a proposal is, besides its students: staff member, service, time, kind."""
    category, subject = form.chosen_kind()
    return {
        "staff": get_or_404(User, int(form.staff.data)),
        "service": form.service.data,
        "starts_at": form.starts_at(g.tenant),
        "duration_minutes": form.duration_minutes(),
        "category": category,
        "subject": subject,
    }


def _book_now_refused(form: ProposeForm) -> bool:
    """Whether "Book it now for the family" is refused here, with the reason on the form:
    only admins book for a family, and one session of one student."""
    if current_user.role != Role.ADMIN:
        form.form_errors.append("Only an admin books for a family; propose the session.")
        return True
    if form.others.data or form.repeat.data:
        form.book_now.errors = [
            "Booking now is for one session of one student; propose a group or a weekly series."
        ]
        return True
    return False


def _propose_group(form: ProposeForm) -> Response:
    """Propose Session with other participating students: a group session (design §11),
    one proposal per student, shown on the group's page."""
    if form.repeat.data:
        form.others.errors = ["A weekly series is for one student; propose the group once."]
        return render("tutor/propose.html", block="form", status=422, form=form)
    try:
        chosen = [form.student.data, *(form.others.data or [])]
        made = scheduling.propose_group(
            db.session,
            g.tenant,
            current_user,
            students=[get_or_404(Student, int(value)) for value in chosen],
            **_proposed(form),
        )
    except DomainError as exc:
        if exc.field == "students":  # the form names the other students' field
            exc = DomainError(exc.message, field="others")
        _refused(form, exc)
        return render("tutor/propose.html", block="form", status=422, form=form)
    db.session.commit()
    names = ", ".join(ts.student.full_name for ts in made)
    flash(
        f"Group session proposed for {names} on "
        f"{format_when(g.tenant.timezone, made[0].starts_at)}. Each family accepts for its "
        "own student; no hours move until then.",
        "success",
    )
    return hx_redirect(url_for(".group_detail", group_id=made[0].group_id))


def _propose_series(form: RepeatScheduleForm) -> Response:
    """Propose Session with "Repeat weekly" (design §10): first the plan (which sessions
    are proposed, which are not free and why), then, posted again with the plan's
    fingerprint, the proposals themselves."""
    try:
        category, subject = form.chosen_kind()
        new = NewSeries(
            student=get_or_404(Student, int(form.student.data)),
            staff=get_or_404(User, int(form.staff.data)),
            service=form.service.data,
            rule=form.rule(),
            duration_minutes=form.duration_minutes(),
            category=category,
            subject=subject,
        )
        if not form.plan.data:
            plan = scheduling.plan_proposed_series(db.session, g.tenant, current_user, new)
            return _series_preview(form, new, plan)
        made = scheduling.propose_series(
            db.session, g.tenant, current_user, new, expected=form.plan.data
        )
    except PlanChanged as exc:
        db.session.rollback()
        return _series_preview(form, new, exc.plan, error=exc.message, status=422)
    except DomainError as exc:
        _refused(form, exc)
        return render("tutor/propose.html", block="form", status=422, form=form)
    db.session.commit()
    first = made[0]
    flash(
        f"{len(made)} weekly sessions proposed for {first.student.full_name} "
        f"({new.rule.rhythm}, from {format_when(g.tenant.timezone, first.starts_at)}). They "
        "are pending until the family accepts them; no hours move until then.",
        "success",
    )
    return hx_redirect(url_for(".session_detail", session_id=first.id))


def _series_preview(
    form: RepeatScheduleForm,
    new: NewSeries,
    plan: SeriesPlan,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        "tutor/series_preview.html",
        block="form",
        status=status,
        form=form,
        new=new,
        plan=plan,
        error=error,
        change_url=f"{url_for('.session_new')}?{urlencode(form.posted_values())}",
    )


# --- Log Past Session ----------------------------------------------------------------------


@bp.route("/sessions/log", methods=["GET", "POST"])
def session_log() -> Response:
    """A session that took place but was never entered: completed at once, its hours
    debited from the package that would have paid on its day (design §10)."""
    form = LogPastSessionForm()
    form.student.choices = _student_choices()
    form.service.choices = _service_choices(current_user)
    form.offer_kinds(db.session)
    form.staff.choices = _staff_choices(current_user)
    form.date.render_kw = {"max": business_today(g.tenant).isoformat()}
    if request.method == "GET":
        wanted = request.args.get("student", "")
        if _offered(form.student, wanted):
            form.student.data = wanted
        if _offered(form.staff, str(current_user.id)):
            form.staff.data = str(current_user.id)
    if form.validate_on_submit():
        try:
            category, subject = form.chosen_kind()
            ts = scheduling.log_past_session(
                db.session,
                g.tenant,
                current_user,
                student=get_or_404(Student, int(form.student.data)),
                staff=get_or_404(User, int(form.staff.data)),
                service=form.service.data,
                starts_at=form.starts_at(g.tenant),
                duration_minutes=form.duration_minutes(),
                attendance=form.attendance.data,
                topics=form.topics.data or "",
                goals=form.goals.data or "",
                next_steps=form.next_steps.data or "",
                category=category,
                subject=subject,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            package = ts.package
            db.session.commit()
            flash(
                f"Past session logged for {ts.student.full_name}, "
                f"{format_when(g.tenant.timezone, ts.starts_at)}: completed, "
                f"{hours_phrase(ts.charged_minutes)} from {package.name if package else ''}.",
                "success",
            )
            return hx_redirect(url_for(".session_detail", session_id=ts.id))
    return render("tutor/log_past.html", block="form", status=form_status(), form=form)


# --- one session --------------------------------------------------------------------------


def _staff_session(session_id: int) -> TutoringSession:
    """The session, if the signed-in user is its staff member or an admin; else 404."""
    ts = get_or_404(TutoringSession, session_id)
    if not scheduling.may_staff_act(current_user, ts):
        abort(404)
    return ts


def _back(ts: TutoringSession) -> str:
    if request.args.get("next") == "dashboard":
        return url_for(".dashboard")
    return url_for(".session_detail", session_id=ts.id)


def _default_forms(ts: TutoringSession) -> dict[str, FlaskForm]:
    # formdata=None: only the form that was posted reads the request.
    local = to_local(g.tenant.timezone, ts.starts_at)
    return {
        "attendance_form": AttendanceForm(formdata=None),
        "plan_form": ActionPlanForm(formdata=None),
        "cancel_form": _cancel_form(formdata=None),
        "decline_form": _decline_form(ts, formdata=None),
        "duration_form": DurationForm(
            formdata=None, data={"duration": format_hours(ts.duration_minutes)}
        ),
        "reschedule_form": RescheduleForm(
            formdata=None, data={"date": local.date(), "start_time": local.time()}
        ),
        "place_form": PlaceForm(
            formdata=None,
            data={"custom_address": ts.custom_address, "meeting_link": ts.meeting_link},
        ),
    }


def _session_page(
    ts: TutoringSession, *, block: str = "content", status: int = 200, **forms: FlaskForm
) -> Response:
    now = utcnow()
    preview = (
        scheduling.preview_package(db.session, g.tenant, ts)
        if ts.status == SessionStatus.PENDING
        else None
    )
    policy = cancellation.policy_for(g.tenant, ts)
    return render(
        "tutor/session.html",
        block=block,
        status=status,
        ts=ts,
        # What the page offers is what the domain would accept (prepbase/lifecycle.py).
        allowed=allowed_actions(ts, current_user, now),
        waiting_to_start=ts.status == SessionStatus.UPCOMING and ts.starts_at > now,
        # Design §1: staff read the student's active packages and remaining hours.
        active_packages=packages.active_packages(
            db.session, [ts.student_id], business_today(g.tenant, now)
        ),
        preview=preview,
        # Design §12: inside the window staff choose refund all or the policy's charge.
        cancel_policy=policy,
        policy_applies=cancellation.may_cost(policy, ts, now),
        back=request.args.get("next"),
        action_form=ActionForm(),
        **{**_default_forms(ts), **forms},
    )


@bp.get("/sessions/<id:session_id>")
def session_detail(session_id: int) -> Response:
    return _session_page(_staff_session(session_id))


_F = TypeVar("_F", bound=Form)


def _act(
    session_id: int,
    form_name: str,
    make_form: Callable[[TutoringSession], _F],
    act: Callable[[TutoringSession, _F], str],
) -> Response:
    """Run one action from the session page: commit and go back on success, else show
    the form (its block, for htmx) with the refusal, 422, nothing kept."""
    ts = _staff_session(session_id)
    form = make_form(ts)
    if form.validate_on_submit():
        try:
            message = act(ts, form)
        except DomainError as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return hx_redirect(_back(ts))
    return _session_page(ts, block=form_name, status=form_status(), **{form_name: form})


def _recorded(what: str, ts: TutoringSession) -> str:
    if ts.status == SessionStatus.COMPLETED:
        return f"{what}. The session is completed."
    missing = "the action plan" if ts.plan_submitted_at is None else "attendance"
    return f"{what}. Add {missing} to complete the session."


@bp.post("/sessions/<id:session_id>/place")
def session_place(session_id: int) -> Response:
    def act(ts: TutoringSession, form: PlaceForm) -> str:
        categories.set_session_place(
            db.session,
            current_user,
            ts,
            custom_address=form.custom_address.data,
            meeting_link=form.meeting_link.data,
            now=utcnow(),
        )
        return "The meeting link is saved." if ts.category.is_virtual else "The address is saved."

    return _act(session_id, "place_form", lambda ts: PlaceForm(), act)


@bp.post("/sessions/<id:session_id>/attendance")
def session_attendance(session_id: int) -> Response:
    def act(ts: TutoringSession, form: AttendanceForm) -> str:
        scheduling.take_attendance(db.session, g.tenant, current_user, ts, form.attendance.data)
        return _recorded("Attendance taken", ts)

    return _act(session_id, "attendance_form", lambda ts: AttendanceForm(), act)


@bp.post("/sessions/<id:session_id>/plan")
def session_plan(session_id: int) -> Response:
    def act(ts: TutoringSession, form: ActionPlanForm) -> str:
        scheduling.submit_action_plan(
            db.session,
            g.tenant,
            current_user,
            ts,
            topics=form.topics.data or "",
            goals=form.goals.data or "",
            next_steps=form.next_steps.data or "",
        )
        return _recorded("Action plan submitted", ts)

    return _act(session_id, "plan_form", lambda ts: ActionPlanForm(), act)


@bp.post("/sessions/<id:session_id>/cancel")
def session_cancel(session_id: int) -> Response:
    def act(ts: TutoringSession, form: CancelForm) -> str:
        if form.which.data == FOLLOWING:
            change = scheduling.cancel_following(
                db.session, g.tenant, current_user, ts, form.reason.data or ""
            )
            message = f"{len(change.changed)} sessions of the series cancelled."
            if change.refunded:
                message += f" {hours_phrase(change.refunded)} went back to the packages."
            return message
        charged, package = ts.charged_minutes, ts.package
        cost = scheduling.cancel_session(
            db.session,
            g.tenant,
            current_user,
            ts,
            form.reason.data or "",
            apply_policy=form.hours.data == APPLY_POLICY,
        )
        kept = cost.kept if cost is not None else 0
        if kept and package is not None:
            return (
                f"Session cancelled. The cancellation policy kept {hours_phrase(kept)}; "
                f"{hours_phrase(charged - kept)} went back to {package.name}."
            )
        if charged and package is not None:
            return f"Session cancelled. {hours_phrase(charged)} went back to {package.name}."
        return "Session cancelled. No hours had been used."

    return _act(session_id, "cancel_form", lambda ts: _cancel_form(), act)


@bp.post("/sessions/<id:session_id>/confirm")
def session_confirm(session_id: int) -> Response:
    ts = _staff_session(session_id)
    if ActionForm().validate_on_submit():
        # A refusal (already cancelled…) propagates: the error handler rolls back and
        # answers 422 with the message.
        scheduling.confirm_session(db.session, g.tenant, current_user, ts)
        db.session.commit()
        flash(f"Session with {ts.student.full_name} confirmed.", "success")
    return hx_redirect(_back(ts))


@bp.post("/sessions/<id:session_id>/accept-for-family")
def session_accept_for_family(session_id: int) -> Response:
    """An admin accepts a proposal for the family who said yes on the phone (rule 2 by the
    business: `scheduling.accept_for_family`); a refusal answers 422 with its reason."""
    ts = _staff_session(session_id)
    if ActionForm().validate_on_submit():
        scheduling.accept_for_family(db.session, g.tenant, current_user, ts)
        db.session.commit()
        source = f" from {ts.package.name}" if ts.package is not None else ""
        flash(
            f"Accepted for the family: {ts.student.full_name}'s session is upcoming, "
            f"{hours_phrase(ts.charged_minutes)} used{source}.",
            "success",
        )
    return hx_redirect(_back(ts))


@bp.post("/sessions/<id:session_id>/decline")
def session_decline(session_id: int) -> Response:
    def act(ts: TutoringSession, form: ReasonForm) -> str:
        package = ts.package
        scheduling.reject_booking(db.session, g.tenant, current_user, ts, form.reason.data or "")
        back_to = f" to {package.name}" if package is not None else ""
        return f"Booking declined. Its hours went back{back_to} and the family is told by e-mail."

    return _act(session_id, "decline_form", _decline_form, act)


@bp.post("/sessions/<id:session_id>/duration")
def session_duration(session_id: int) -> Response:
    def act(ts: TutoringSession, form: DurationForm) -> str:
        scheduling.change_duration(db.session, g.tenant, current_user, ts, form.duration_minutes())
        return f"The session now lasts {hours_phrase(ts.duration_minutes)}."

    return _act(session_id, "duration_form", lambda ts: DurationForm(), act)


@bp.post("/sessions/<id:session_id>/reschedule")
def session_reschedule(session_id: int) -> Response:
    def act(ts: TutoringSession, form: RescheduleForm) -> str:
        if form.which.data == FOLLOWING:
            change = scheduling.reschedule_following(
                db.session, g.tenant, current_user, ts, form.starts_at(g.tenant)
            )
            return (
                f"{len(change.changed)} sessions of the series moved; this one to "
                f"{format_when(g.tenant.timezone, ts.starts_at)}."
            )
        scheduling.reschedule(db.session, g.tenant, current_user, ts, form.starts_at(g.tenant))
        return f"Session moved to {format_when(g.tenant.timezone, ts.starts_at)}."

    return _act(session_id, "reschedule_form", lambda ts: RescheduleForm(), act)


add_feed_routes(bp)  # Calendar feed: /calendar, /calendar/revoke
