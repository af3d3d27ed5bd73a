"""The family portal: balances, Book Session, Accept / Decline / Cancel, package history.

A parent sees every student of their family, a student login only themself; any other
row answers 404, exactly like a row of another business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import abort, flash, g, make_response, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import availability, hours, reports, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.extensions import db
from prepbase.family.blueprint import bp
from prepbase.family.forms import book_session_form, slots_form
from prepbase.family_scope import (
    active_packages,
    family_sessions,
    guards,
    shown_to_family,
    visible_students,
)
from prepbase.feed_pages import add_feed_routes
from prepbase.forms import ActionForm, apply_domain_error, form_status
from prepbase.hours import format_hours, hours_phrase, package_ledger
from prepbase.htmx import hx_redirect, is_htmx, render, render_block
from prepbase.lifecycle import Action, actions_by_session
from prepbase.localtime import business_today, format_when, local_date, zone_of
from prepbase.models import (
    OPEN_STATUSES,
    Package,
    Service,
    SessionStatus,
    Student,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.session_forms import ScheduleForm
from prepbase.tenant_url import get_or_404

DASHBOARD = "family/dashboard.html"
COMPLETED_SHOWN = 20  # the most recent ones; each package's history has the rest


@dataclass
class PendingRow:
    """A proposed session and what accepting it would do to the hours."""

    session: TutoringSession
    package: Package | None  # the package that would pay, or None when none can
    minutes_left: int  # usable hours of its service on its day, for the refusal text


def _pending_rows(pending: list[TutoringSession], packages: list[Package]) -> list[PendingRow]:
    # The preview uses the packages already on the page: no query per proposal.
    rows = []
    for ts in pending:
        day = local_date(g.tenant, ts.starts_at)
        package, left = scheduling.pick_package(packages, ts, day)
        rows.append(PendingRow(ts, package, left))
    return rows


def _offered(
    open_sessions: list[TutoringSession], pending: list[PendingRow], now: datetime
) -> dict[int, frozenset[Action]]:
    """The buttons of each open session: what the lifecycle allows the family now, and
    Accept only where a package can pay (rule 5; the row says why not)."""
    offered = actions_by_session(open_sessions, current_user, now)
    for row in pending:
        if row.package is None:
            offered[row.session.id] -= {Action.ACCEPT}
    return offered


def _dashboard_context(**extra: Any) -> dict[str, Any]:
    now = utcnow()
    today = business_today(g.tenant, now)
    students = visible_students(db.session, current_user)
    packages = active_packages(db.session, students, today)
    threshold = g.tenant.low_balance_minutes
    open_sessions = family_sessions(db.session, students, OPEN_STATUSES)
    pending = _pending_rows(
        [ts for ts in open_sessions if ts.status == SessionStatus.PENDING], packages
    )
    trends = reports.package_trends(db.session, [p.id for p in packages], now)
    return {
        "students": students,
        "family": current_user.family,
        "packages_of": {s.id: [p for p in packages if p.student_id == s.id] for s in students},
        "charts": {
            p.id: reports.balance_chart(p.id, p.name, trends[p.id].history, g.tenant.timezone)
            for p in packages
            if trends[p.id].history
        },
        "runout": {
            p.id: reports.projected_runout(p.remaining_minutes, trends[p.id].used_recently, today)
            for p in packages
        },
        "running_low": [p for p in packages if p.remaining_minutes <= threshold],
        "pending": pending,
        "upcoming": [ts for ts in open_sessions if ts.status == SessionStatus.UPCOMING],
        "actions": _offered(open_sessions, pending, now),
        "completed": family_sessions(
            db.session,
            students,
            SessionStatus.COMPLETED,
            newest_first=True,
            limit=COMPLETED_SHOWN,
        ),
        "completed_limit": COMPLETED_SHOWN,
        "show_student": len(students) > 1,
        "now": now,
        **extra,
    }


@bp.get("/")
def dashboard() -> Response:
    context = _dashboard_context()
    context["notice"] = _answer_prompt(context["pending"])
    return render(DASHBOARD, **context)


def _answer_prompt(pending: list[PendingRow]) -> str | None:
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


@dataclass
class SlotPicker:
    """The "When" part of Book Session: a day and its open start times, or why not."""

    message: str | None = None  # shown instead of times (choose a tutor first, …)
    staff: User | None = None
    any_time: bool = False  # the staff member has no working hours: a time field instead
    day: date | None = None
    slots: list[tuple[str, str]] = field(default_factory=list)  # ("16:00", "4:00 PM EST")
    other_days: list[tuple[date, int]] = field(default_factory=list)  # (day, open times)
    links: dict[str, str] = field(default_factory=dict)  # the choices, for day links


OTHER_DAYS = 6  # open days offered next to the chosen one
SCAN_DAYS = 21  # how far past a chosen day to look for them


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


def _slot_picker(form: ScheduleForm, students: list[Student]) -> SlotPicker:
    """Open times for the form's student, service, staff member, duration and day (two
    queries, see `availability.load_schedule`); the first open day when none is chosen."""
    student = next((s for s in students if str(s.id) == form.student.data), None)
    staff_id = form.staff.data or ""
    if student is None or form.service.data not in set(Service) or not staff_id.isdigit():
        return SlotPicker(
            message="Choose the student, the service and the tutor or counselor "
            "to see the open times."
        )
    try:
        minutes = hours.parse_hours(
            form.duration.data, field="duration", max_hours=hours.MAX_SESSION_HOURS
        )
    except DomainError:
        return SlotPicker(message="Enter how long the session lasts to see the open times.")
    tenant, now = g.tenant, utcnow()
    today = business_today(tenant, now)
    horizon_end = today + timedelta(days=tenant.booking_horizon_days)
    day = form.date.data
    first = day or today
    last = min(horizon_end, first + timedelta(days=SCAN_DAYS)) if day else horizon_end
    schedule = availability.load_schedule(
        db.session,
        tenant,
        int(staff_id),
        first_day=first,
        last_day=max(first, last),
        student=student,
        service=form.service.data,
    )
    if schedule is None:
        return SlotPicker(message="Choose a tutor or counselor who offers this service.")
    staff = schedule.staff
    if not schedule.has_hours:
        return SlotPicker(staff=staff, any_time=True, day=day)
    if form.date.errors:  # a refused POST without a valid day: do not guess one
        return SlotPicker(staff=staff, message="Choose a day to see its open times.")
    form.date.render_kw = {
        **(form.date.render_kw or {}),
        "min": schedule.first_day(now).isoformat(),
        "max": schedule.last_day(now).isoformat(),
    }
    if day is None:
        upcoming = schedule.open_days(minutes, now, limit=OTHER_DAYS + 1)
        if not upcoming:
            return SlotPicker(
                staff=staff,
                message=f"{staff.name} has no open times in the next "
                f"{tenant.booking_horizon_days} days. Contact {tenant.name} to find a time. "
                f"{tenant.how_to_reach()}".rstrip(),
            )
        (day, starts), others = upcoming[0], upcoming[1:]
        form.date.data = day
    else:
        starts = schedule.day_slots(day, minutes, now)
        # Other days only when this one has nothing: picking a day stays cheap.
        others = [] if starts else schedule.open_days(minutes, now, after=day, limit=OTHER_DAYS)
    chosen = form.start_time.data
    picker = SlotPicker(
        staff=staff,
        day=day,
        slots=_slot_choices(starts),
        other_days=[(d, len(found)) for d, found in others],
        links={
            "student": str(student.id),
            "service": form.service.data,
            "staff": str(staff.id),
            "duration": form.duration.data,
        },
    )
    if chosen is not None and chosen.strftime("%H:%M") not in {v for v, _ in picker.slots}:
        form.start_time.data = None  # no longer open: nothing pre-selected
    return picker


def _slot_choices(starts: list[datetime]) -> list[tuple[str, str]]:
    """Each open start as its radio's value and label, ("16:00", "4:00 PM EST"): one
    conversion to the business's zone per slot, the zone looked up once."""
    zone = zone_of(g.tenant)
    choices = []
    for at in starts:
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        choices.append(
            (
                availability.format_minute(minute, clock24=True),
                f"{availability.format_minute(minute)} {local.tzname()}",
            )
        )
    return choices


@bp.get("/slots")
def session_slots() -> Response:
    """The "When" part of Book Session for the choices in the URL (HTMX swaps it in)."""
    if not is_htmx():
        return hx_redirect(url_for(".session_new", **request.args))
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
    form = book_session_form(db.session, g.tenant, students)
    if request.method == "GET":
        _fill_from_args(form)
    if form.validate_on_submit():
        try:
            ts = scheduling.book_session(
                db.session,
                g.tenant,
                current_user,
                student=_chosen_student(students, form.student.data),
                staff=get_or_404(User, int(form.staff.data)),
                service=form.service.data,
                starts_at=form.starts_at(g.tenant),
                duration_minutes=form.duration_minutes(),
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


def _booked_message(ts: TutoringSession) -> str:
    package = ts.package
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
        db.session, g.tenant, visible_students(db.session, current_user), service
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
    ts = get_or_404(TutoringSession, session_id)
    if not guards(current_user, ts.student):
        abort(404)  # another family's session looks exactly like a missing one
    return ts


def _sessions_region(status: int, **context: Any) -> Response:
    """The sessions block, with the packages block swapped out of band so balances and
    banners change in place; the whole page when the request is not HTMX."""
    context = _dashboard_context(**context)
    if not is_htmx():
        return render(DASHBOARD, status=status, **context)
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


@bp.post("/sessions/<id:session_id>/decline")
def session_decline(session_id: int) -> Response:
    return _session_action(
        session_id,
        lambda ts: scheduling.decline_session(db.session, g.tenant, current_user, ts),
        lambda ts: f"Declined {ts.staff.name}'s proposed session of {_when(ts)}; no hours used.",
    )


@bp.post("/sessions/<id:session_id>/cancel")
def session_cancel(session_id: int) -> Response:
    refunded: dict[str, int] = {}

    def act(ts: TutoringSession) -> None:
        refunded["minutes"] = ts.charged_minutes
        scheduling.cancel_session(db.session, g.tenant, current_user, ts)

    def done(ts: TutoringSession) -> str:
        message = f"Cancelled {ts.student.first_name}'s session of {_when(ts)}."
        if refunded["minutes"] and ts.package is not None:
            message += (
                f" {hours_phrase(refunded['minutes'])} went back to {ts.package.name}"
                f" ({format_hours(ts.package.remaining_minutes)} left)."
            )
        return message

    return _session_action(session_id, act, done)


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
        package=package,
        entries=package_ledger(db.session, package),
        running_low=package.remaining_minutes <= g.tenant.low_balance_minutes,
    )


add_feed_routes(bp)  # Calendar feed: /calendar, /calendar/revoke
