"""The family portal: balances, Book Session, Accept / Decline / Cancel, package history.

A parent sees every student of their family, a student login only themself; any other
row answers 404, exactly like a row of another business.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, g, make_response, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from prepbase import cancellation, categories, groups, packages, reports, scheduling, slots
from prepbase.errors import DomainError, NotFound
from prepbase.extensions import db
from prepbase.family.blueprint import bp
from prepbase.family.forms import book_session_form, slots_form
from prepbase.family_scope import (
    family_sessions,
    guards,
    shown_to_family,
    visible_students,
)
from prepbase.feed_pages import add_feed_routes
from prepbase.forms import ActionForm, apply_domain_error, form_status
from prepbase.hours import format_hours, hours_phrase, ledger_page, out_of_hours_sentence
from prepbase.htmx import hx_redirect, is_htmx, render, render_block
from prepbase.inputs import page_number, parse_id
from prepbase.localtime import business_today, format_when
from prepbase.models import (
    OPEN_STATUSES,
    Package,
    Service,
    SessionGroup,
    SessionStatus,
    Student,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.series import NewSeries, PlanChanged, SeriesPlan
from prepbase.session_forms import RepeatScheduleForm, ScheduleForm
from prepbase.tenant_url import get_or_404

DASHBOARD = "family/dashboard.html"
COMPLETED_SHOWN = 20  # the most recent ones; each package's history has the rest


def _out_of_hours(package: Package, active: list[Package], today: date) -> tuple[str, bool]:
    """The banner of an empty package, and whether the student has hours of its service
    left elsewhere (then it informs rather than alarms)."""
    others = [
        (o.name, o.remaining_minutes)
        for o in active
        if o.id != package.id
        and o.student_id == package.student_id
        and o.service == package.service
        and o.usable_on(today)
    ]
    sentence = out_of_hours_sentence(
        package.student.first_name, package.name, Service(package.service).label, others
    )
    return sentence, any(minutes > 0 for _, minutes in others)


def _dashboard_context(*, with_completed: bool = True, **extra: Any) -> dict[str, Any]:
    """What the dashboard shows; without the completed sessions (and the family's name of
    the heading) for an answer that swaps only the sessions region and the hours (no
    family action completes a session)."""
    now = utcnow()
    today = business_today(g.tenant, now)
    students = visible_students(db.session, current_user)
    active = packages.active_packages(db.session, [s.id for s in students], today)
    # Open sessions, and series occurrences waiting for hours (design §10), in one query.
    listed = family_sessions(
        db.session, students, (*OPEN_STATUSES, SessionStatus.WAITING), for_actions=True
    )
    open_sessions = [ts for ts in listed if ts.status != SessionStatus.WAITING]
    waiting = [ts for ts in listed if ts.status == SessionStatus.WAITING and ts.starts_at > now]
    # The previews use the packages already on the page: no query per proposal.
    pending = scheduling.accept_previews(
        g.tenant, [ts for ts in open_sessions if ts.status == SessionStatus.PENDING], active
    )
    trends = reports.package_trends(db.session, [p.id for p in active], now, g.tenant.timezone)
    return {
        "students": students,
        # The heading's; after a commit the relationship would be read again.
        "family": current_user.family if with_completed else None,
        "packages_of": {s.id: [p for p in active if p.student_id == s.id] for s in students},
        "charts": {
            p.id: reports.balance_chart(
                p.id, p.name, trends[p.id].history, g.tenant.timezone, p.start_date, now
            )
            for p in active
            if trends[p.id].history
        },
        "runout": {
            p.id: reports.projected_runout(p.remaining_minutes, trends[p.id].used_recently, today)
            for p in active
        },
        "running_low": [p for p in active if p.running_low(g.tenant.low_balance_minutes)],
        # An empty package's banner speaks of the student's hours of its service in all.
        "out_of_hours": {
            p.id: _out_of_hours(p, active, today) for p in active if p.remaining_minutes == 0
        },
        # Design §12: these may cost hours to cancel now, so Cancel opens the cost first.
        "costly": {
            ts.id
            for ts in open_sessions
            if cancellation.may_cost(cancellation.policy_for(g.tenant, ts), ts, now)
        },
        "pending": pending,
        "upcoming": [ts for ts in open_sessions if ts.status == SessionStatus.UPCOMING],
        "waiting": waiting,
        "proposed_series": _first_of_each_series([row.session for row in pending], now),
        "actions": scheduling.family_actions(
            [*open_sessions, *waiting], pending, current_user, now
        ),
        "action_form": ActionForm(),  # the CSRF token of the Accept/Decline/Cancel buttons
        "completed": family_sessions(
            db.session,
            students,
            SessionStatus.COMPLETED,
            newest_first=True,
            limit=COMPLETED_SHOWN,
        )
        if with_completed
        else [],
        "completed_limit": COMPLETED_SHOWN,
        # Design §11: open group sessions with a free seat (never who else takes part).
        "joinable": groups.joinable(db.session, students, now),
        "show_student": len(students) > 1,
        "now": now,
        **extra,
    }


@bp.get("/")
def dashboard() -> Response:
    context = _dashboard_context()
    context["notice"] = _answer_prompt(context["pending"])
    return render(DASHBOARD, **context)


def _first_of_each_series(proposals: list[TutoringSession], now: datetime) -> list[TutoringSession]:
    """Each proposed series once, by its first proposal still to come (a series is
    accepted whole from there, design §10)."""
    firsts: dict[int, TutoringSession] = {}
    for ts in proposals:
        if ts.series_id is not None and ts.starts_at > now:
            firsts.setdefault(ts.series_id, ts)
    return list(firsts.values())


def _answer_prompt(pending: list[scheduling.AcceptPreview]) -> str | None:
    """Arriving from a proposal e-mail's Accept or Decline link (`?accept=<id>`): say which
    button answers it. The link only opens the page; the button is the decision."""
    for verb in ("accept", "decline"):
        wanted = request.args.get(verb, type=int)
        ts = next((row.session for row in pending if row.session.id == wanted), None)
        if ts is not None:
            return (
                f"{ts.staff.name} proposed {ts.student.first_name}'s session of {_when(ts)}: "
                f"press {verb.title()} below to answer."
            )
    return None


# --- Book Session ---------------------------------------------------------------------


def _chosen_student(students: list[Student], student_id: str | None) -> Student:
    for student in students:
        if str(student.id) == student_id:
            return student
    raise DomainError("Choose one of your students.", field="student")


def _fill_from_args(form: ScheduleForm) -> None:
    """A GET (first view, a day link) carries the choices in the URL."""
    if request.args:
        form.process(formdata=request.args)
    _default_choices(form)


def _default_choices(form: ScheduleForm) -> None:
    """Choices missing from the URL default to the first option, as the browser shows
    them."""
    for name in ("student", "service", "staff"):
        select_field = getattr(form, name)
        if not select_field.data and select_field.choices:
            select_field.data = select_field.choices[0].value
    form.duration.data = form.duration.data or "1"


def _slot_picker(form: ScheduleForm, students: list[Student]) -> slots.SlotPicker:
    """The open times for the form's choices (`slots.pick_slots`); the form shows the
    day they are for and the days a family may book."""
    try:
        minutes: int | None = form.duration_minutes()
    except DomainError:
        minutes = None
    picker = slots.pick_slots(
        db.session,
        g.tenant,
        student=next((s for s in students if str(s.id) == form.student.data), None),
        service=form.service.data,
        staff_id=parse_id(form.staff.data or ""),
        duration_minutes=minutes,
        day=form.date.data,
        now=utcnow(),
        day_refused=bool(form.date.errors),
        buffers=categories.buffers_of_choice(db.session, *form.chosen_kind()),
    )
    if picker.bookable is not None:
        first, last = picker.bookable
        form.date.render_kw = {
            **(form.date.render_kw or {}),
            "min": first.isoformat(),
            "max": last.isoformat(),
        }
    if picker.day is not None:
        form.date.data = picker.day  # the first open day, when none was chosen
    return picker


@bp.get("/slots")
def session_slots() -> Response:
    """The "When" part of Book Session for the choices in the URL (HTMX swaps it in)."""
    if not is_htmx():
        query: dict[str, Any] = request.args.to_dict()  # the first value of each
        return hx_redirect(url_for(".session_new", **query))
    students = visible_students(db.session, current_user)
    form = slots_form(g.tenant, students, request.args)
    _default_choices(form)
    return render(
        "family/_slots.html",
        block="slots",
        form=form,
        picker=_slot_picker(form, students),
    )


@bp.route("/sessions/new", methods=["GET", "POST"])
def session_new() -> Response:
    students = visible_students(db.session, current_user)
    subject_id = parse_id(request.args.get("subject", "")) if request.method == "GET" else None
    form = book_session_form(db.session, g.tenant, students, subject_id=subject_id)
    if request.method == "GET":
        _fill_from_args(form)
    if form.validate_on_submit():
        if form.repeat.data:
            return _book_series(form, students)
        try:
            category, subject = form.chosen_kind()
            ts = scheduling.book_session(
                db.session,
                g.tenant,
                current_user,
                student=_chosen_student(students, form.student.data),
                staff=get_or_404(User, int(form.staff.data)),
                service=form.service.data,
                starts_at=form.starts_at(g.tenant),
                duration_minutes=form.duration_minutes(),
                category=category,
                subject=subject,
            )
        except NotFound:
            db.session.rollback()
            abort(404)
        except DomainError as exc:
            db.session.rollback()  # nothing of a refused booking is kept
            apply_domain_error(form, exc)
        else:
            message = _booked_message(ts)
            db.session.commit()
            flash(message, "success")
            return hx_redirect(url_for(".dashboard"))
    return render(
        "family/book.html",
        block="form",
        status=form_status(),
        form=form,
        students=students,
        picker=_slot_picker(form, students),
    )


def _book_series(form: RepeatScheduleForm, students: list[Student]) -> Response:
    """Book Session with "Repeat weekly" (design §10): first the plan — which sessions
    are booked and from which package, which would wait for hours, which are not free —
    then, posted again with the plan's fingerprint, the booking itself."""
    try:
        category, subject = form.chosen_kind()
        new = NewSeries(
            student=_chosen_student(students, form.student.data),
            staff=get_or_404(User, int(form.staff.data)),
            service=form.service.data,
            rule=form.rule(),
            duration_minutes=form.duration_minutes(),
            category=category,
            subject=subject,
        )
        if not form.plan.data:
            plan = scheduling.plan_booking_series(db.session, g.tenant, current_user, new)
            return _series_preview(form, new, plan)
        made = scheduling.book_series(
            db.session, g.tenant, current_user, new, expected=form.plan.data
        )
    except NotFound:
        db.session.rollback()
        abort(404)
    except PlanChanged as exc:
        db.session.rollback()  # nothing of a refused booking is kept
        return _series_preview(form, new, exc.plan, error=exc.message, status=422)
    except DomainError as exc:
        db.session.rollback()
        apply_domain_error(form, exc)
        return render(
            "family/book.html",
            block="form",
            status=422,
            form=form,
            students=students,
            picker=_slot_picker(form, students),
        )
    waiting = sum(1 for ts in made if ts.status == SessionStatus.WAITING)
    message = (
        f"{new.student.first_name}'s weekly sessions with {new.staff.name} "
        f"({new.rule.rhythm}): {len(made) - waiting} booked"
    )
    message += f", {waiting} waiting for hours." if waiting else "."
    db.session.commit()
    flash(message, "success")
    return hx_redirect(url_for(".dashboard"))


def _series_preview(
    form: RepeatScheduleForm,
    new: NewSeries,
    plan: SeriesPlan,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        "family/series_preview.html",
        block="form",
        status=status,
        form=form,
        new=new,
        plan=plan,
        error=error,
        change_url=f"{url_for('.session_new')}?{urlencode(form.posted_values())}",
    )


def _booked_message(ts: TutoringSession) -> str:
    package = ts.package
    assert package is not None  # a booked session is paid from a package
    return (
        f"{ts.student.first_name}'s session with {ts.staff.name} is booked for "
        f"{_when(ts)}: {hours_phrase(ts.charged_minutes)} from {package.name} "
        f"({format_hours(package.remaining_minutes)} left)."
    )


def _when(ts: TutoringSession) -> str:
    return format_when(g.tenant.timezone, ts.starts_at)


@bp.get("/staff-options")
def staff_options() -> Response:
    """The staff select for the chosen service (HTMX reloads it when the service changes)."""
    service = request.args.get("service")
    form = book_session_form(
        db.session,
        g.tenant,
        visible_students(db.session, current_user),
        service,
        subject_id=parse_id(request.args.get("subject", "")),
    )
    form.service.data = service
    form.staff.data = request.args.get("staff")
    # The open times depend on the staff member: once the new select is in the page
    # (after settling, so the reloaded times listen to it), ask for them again.
    response = render("family/_staff_field.html", block="field", form=form)
    response.headers["HX-Trigger-After-Settle"] = "slots-stale"
    return response


# --- Accept / Decline / Cancel Session -----------------------------------------------


def _own_session(session_id: int) -> TutoringSession:
    # With its student (whom `guards` reads) in the same statement.
    ts = get_or_404(
        TutoringSession, session_id, joinedload(TutoringSession.student, innerjoin=True)
    )
    if not guards(current_user, ts.student):
        abort(404)  # another family's session looks exactly like a missing one
    return ts


def _sessions_region(status: int, **context: Any) -> Response:
    """The sessions block, with the packages block swapped out of band so balances and
    banners change in place; the whole page when the request is not HTMX."""
    if not is_htmx():
        return render(DASHBOARD, status=status, **_dashboard_context(**context))
    context = _dashboard_context(with_completed=False, **context)
    body = render_block(DASHBOARD, "sessions", **context) + render_block(
        DASHBOARD, "packages", oob=True, **context
    )
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def _session_action(
    session_id: int, act: Callable[[TutoringSession], None], done: Callable[[TutoringSession], str]
) -> Response:
    ts = _own_session(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        act(ts)
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()  # nothing of a refused action is kept
        # Refused by the lifecycle (prepbase/lifecycle.py) or by the hours (rule 5).
        return _sessions_region(422, error=exc.message)
    message = done(ts)
    db.session.commit()
    if is_htmx():
        return _sessions_region(200, notice=message)
    flash(message, "success")
    return hx_redirect(url_for(".dashboard"))


@bp.post("/sessions/<id:session_id>/accept")
def session_accept(session_id: int) -> Response:
    def done(ts: TutoringSession) -> str:
        assert ts.package is not None  # accepting paid it from a package
        return (
            f"Accepted: {ts.student.first_name}'s session of {_when(ts)} uses "
            f"{hours_phrase(ts.charged_minutes)} of {ts.package.name} "
            f"({format_hours(ts.package.remaining_minutes)} left)."
        )

    return _session_action(
        session_id,
        lambda ts: scheduling.accept_session(db.session, g.tenant, current_user, ts),
        done,
    )


@bp.post("/groups/<id:group_id>/join")
def group_join(group_id: int) -> Response:
    """A family adds its student to an open group session (a seat, paid now by rule 5)."""
    group = get_or_404(SessionGroup, group_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    student_id = parse_id(request.form.get("student", ""))
    student = get_or_404(Student, student_id) if student_id is not None else abort(404)
    try:
        ts = scheduling.join_group(db.session, g.tenant, current_user, group, student)
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        return _sessions_region(422, error=exc.message)
    assert ts.package is not None  # joining paid it from a package
    message = (
        f"{student.first_name} joined the group session of {_when(ts)}; it uses "
        f"{hours_phrase(ts.charged_minutes)} of {ts.package.name} "
        f"({format_hours(ts.package.remaining_minutes)} left)."
    )
    db.session.commit()
    if is_htmx():
        return _sessions_region(200, notice=message)
    flash(message, "success")
    return hx_redirect(url_for(".dashboard"))


@bp.post("/sessions/<id:session_id>/decline")
def session_decline(session_id: int) -> Response:
    return _session_action(
        session_id,
        lambda ts: scheduling.decline_session(db.session, g.tenant, current_user, ts),
        lambda ts: f"Declined {ts.staff.name}'s proposed session of {_when(ts)}; no hours used.",
    )


def _cancel_page(ts: TutoringSession, *, status: int = 200, error: str | None = None) -> Response:
    now = utcnow()
    allowed = "cancel" in scheduling.family_actions([ts], [], current_user, now)[ts.id]
    cost = cancellation.cost_of(db.session, g.tenant, ts, now) if allowed else None
    return render(
        "family/cancel_confirm.html",
        status=status,
        ts=ts,
        cost=cost,
        policy=cancellation.policy_for(g.tenant, ts),
        error=error,
        form=ActionForm(),
    )


@bp.route("/sessions/<id:session_id>/cancel", methods=["GET", "POST"])
def session_cancel(session_id: int) -> Response:
    """Cancel Session. GET: what cancelling costs now under the business's policy
    (design §12), and the button that confirms it. The cost the family saw comes back
    as `kept` (minutes); a request without it was shown no cost, so it may cost nothing
    (`scheduling.CostChanged`): such a cancellation is sent to the page with the cost."""
    ts = _own_session(session_id)
    if request.method == "GET":
        return _cancel_page(ts)
    if not ActionForm().validate_on_submit():
        abort(400)
    confirming = "kept" in request.form
    kept_text = request.form.get("kept", "0")
    if not (kept_text.isascii() and kept_text.isdigit() and len(kept_text) <= 6):
        abort(400)  # the page sends whole minutes; anything else was not our page
    expected = int(kept_text)
    refunded = ts.charged_minutes
    try:
        cost = scheduling.cancel_session(
            db.session, g.tenant, current_user, ts, expected_kept=expected
        )
    except NotFound:
        db.session.rollback()
        abort(404)
    except scheduling.CostChanged as exc:
        db.session.rollback()
        if confirming:
            return _cancel_page(ts, status=409, error=exc.message)
        flash("Cancelling this session now has a cost: here it is before you confirm.", "info")
        return hx_redirect(url_for(".session_cancel", session_id=session_id))
    except DomainError as exc:
        db.session.rollback()
        if confirming:
            return _cancel_page(ts, status=422, error=exc.message)
        return _sessions_region(422, error=exc.message)
    kept = cost.kept if cost is not None else 0
    message = f"Cancelled {ts.student.first_name}'s session of {_when(ts)}."
    if kept:
        message += f" {g.tenant.name}'s cancellation policy kept {hours_phrase(kept)}."
    if refunded - kept and ts.package is not None:
        message += (
            f" {hours_phrase(refunded - kept)} went back to {ts.package.name}"
            f" ({format_hours(ts.package.remaining_minutes)} left)."
        )
    db.session.commit()
    if is_htmx() and not confirming:
        return _sessions_region(200, notice=message)
    flash(message, "success")
    return hx_redirect(url_for(".dashboard"))


@bp.post("/sessions/<id:session_id>/cancel-following")
def session_cancel_following(session_id: int) -> Response:
    """Cancel this session of a weekly series and its following ones (design §10)."""
    changes: dict[str, scheduling.SeriesChange] = {}

    def act(ts: TutoringSession) -> None:
        changes["done"] = scheduling.cancel_following(db.session, g.tenant, current_user, ts)

    def done(ts: TutoringSession) -> str:
        change = changes["done"]
        message = f"Cancelled {len(change.changed)} of {ts.student.first_name}'s weekly sessions."
        if change.refunded:
            message += f" {hours_phrase(change.refunded)} went back to the packages."
        return message

    return _session_action(session_id, act, done)


# --- Accept a weekly series --------------------------------------------------------------


@bp.route("/sessions/<id:session_id>/accept-series", methods=["GET", "POST"])
def series_accept(session_id: int) -> Response:
    """Accept every proposal of a weekly series still to come (design §10): the page
    shows which would be paid, and from which package, and which would wait for hours;
    the button accepts exactly that (the plan's fingerprint), else it shows the new plan."""
    ts = _own_session(session_id)
    form = ActionForm()
    error = None
    plan: SeriesPlan | None = None
    if request.method == "POST" and not form.validate_on_submit():
        error = "Your form expired. Reload the page and try again."
    elif request.method == "POST":
        try:
            answered = scheduling.accept_series(
                db.session, g.tenant, current_user, ts, expected=request.form.get("plan", "")
            )
        except NotFound:
            db.session.rollback()
            abort(404)
        except PlanChanged as exc:
            db.session.rollback()
            error, plan = exc.message, exc.plan
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            waiting = sum(1 for p in answered if p.status == SessionStatus.WAITING)
            message = f"Accepted {len(answered)} weekly sessions of {ts.student.first_name}"
            message += f"; {waiting} wait for hours." if waiting else "."
            db.session.commit()
            flash(message, "success")
            return hx_redirect(url_for(".dashboard"))
    if plan is None:
        try:
            plan = scheduling.plan_series_acceptance(db.session, g.tenant, current_user, ts)
        except NotFound:
            abort(404)
        except DomainError as exc:
            error = exc.message
    return render(
        "family/series_accept.html",
        block="accept",
        status=422 if error else 200,
        ts=ts,
        plan=plan,
        error=error,
        form=form,
    )


# --- package history ------------------------------------------------------------------


@bp.get("/packages/<id:package_id>")
def package_history(package_id: int) -> Response:
    package = get_or_404(Package, package_id)
    if not guards(current_user, package.student) or not shown_to_family(
        package, business_today(g.tenant)
    ):
        abort(404)  # inactive packages are hidden from families (design §2)
    return render(
        "family/package.html",
        block="history",  # a pager link (htmx) swaps only the history table
        package=package,
        entries=ledger_page(db.session, package, page_number()),
        running_low=package.running_low(g.tenant.low_balance_minutes),
    )


add_feed_routes(bp)  # Calendar feed: /calendar, /calendar/revoke
