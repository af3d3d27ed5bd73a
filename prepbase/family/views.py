"""The family portal: balances, Book Session, Accept / Decline / Cancel, package history.

A parent sees every student of their family, a student login only themself; any other
row answers 404, exactly like a row of another business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, flash, g, make_response, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import reports, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.extensions import db
from prepbase.family import bp
from prepbase.family.forms import book_session_form
from prepbase.family_scope import (
    active_packages,
    family_sessions,
    guards,
    package_ledger,
    shown_to_family,
    visible_students,
)
from prepbase.feeds import views as feed_views
from prepbase.forms import ActionForm, apply_domain_error, form_status
from prepbase.hours import format_hours
from prepbase.htmx import hx_redirect, is_htmx, render, render_block
from prepbase.models import Package, SessionStatus, Student, TutoringSession, User, utcnow
from prepbase.tenancy import get_or_404
from prepbase.timefmt import format_when

DASHBOARD = "family/dashboard.html"
COMPLETED_SHOWN = 20  # the most recent ones; each package's history has the rest


@dataclass
class PendingRow:
    """A proposed session and what accepting it would do to the hours."""

    session: TutoringSession
    package: Package | None  # the package that would pay, or None when none can
    minutes_left: int  # usable hours of its service on its day, for the refusal text


def _today() -> date:
    return scheduling.local_date(g.tenant, utcnow())


def _pending_rows(pending: list[TutoringSession], packages: list[Package]) -> list[PendingRow]:
    # The preview uses the packages already on the page: no query per proposal.
    rows = []
    for ts in pending:
        day = scheduling.local_date(g.tenant, ts.starts_at)
        package, left = scheduling.pick_package(packages, ts, day)
        rows.append(PendingRow(ts, package, left))
    return rows


def _dashboard_context(**extra: Any) -> dict[str, Any]:
    students = visible_students(db.session, current_user)
    packages = active_packages(db.session, students, _today())
    threshold = g.tenant.low_balance_minutes
    open_sessions = family_sessions(
        db.session, students, (SessionStatus.PENDING, SessionStatus.UPCOMING)
    )
    trends = reports.package_trends(db.session, [p.id for p in packages], utcnow())
    today = _today()
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
        "pending": _pending_rows(
            [ts for ts in open_sessions if ts.status == SessionStatus.PENDING], packages
        ),
        "upcoming": [ts for ts in open_sessions if ts.status == SessionStatus.UPCOMING],
        "completed": family_sessions(
            db.session,
            students,
            SessionStatus.COMPLETED,
            newest_first=True,
            limit=COMPLETED_SHOWN,
        ),
        "completed_limit": COMPLETED_SHOWN,
        "show_student": len(students) > 1,
        "now": utcnow(),
        **extra,
    }


@bp.get("/")
def dashboard() -> Response:
    return render(DASHBOARD, **_dashboard_context())


# --- Book Session ---------------------------------------------------------------------


def _chosen_student(students: list[Student], student_id: str | None) -> Student:
    for student in students:
        if str(student.id) == student_id:
            return student
    raise DomainError("Choose one of your students.", field="student")


@bp.route("/sessions/new", methods=["GET", "POST"])
def session_new() -> Response:
    students = visible_students(db.session, current_user)
    form = book_session_form(db.session, g.tenant, students)
    if request.method == "GET" and request.args.get("student"):
        form.student.data = request.args["student"]
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
    )


def _booked_message(ts: TutoringSession) -> str:
    package = ts.package
    return (
        f"{ts.student.first_name}'s session with {ts.staff.name} is booked for "
        f"{_when(ts)}: {format_hours(ts.charged_minutes)} hours from {package.name} "
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
    return render("family/_staff_field.html", block="field", form=form)


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
        # 409: the page offered something the session's state no longer allows.
        return _sessions_region(409, error=exc.message)
    message = done(ts)
    db.session.commit()
    if is_htmx():
        return _sessions_region(200, notice=message)
    flash(message, "success")
    return hx_redirect(url_for(".dashboard"))


@bp.post("/sessions/<int:session_id>/accept")
def session_accept(session_id: int) -> Response:
    def done(ts: TutoringSession) -> str:
        return (
            f"Accepted: {ts.student.first_name}'s session of {_when(ts)} uses "
            f"{format_hours(ts.charged_minutes)} hours of {ts.package.name} "
            f"({format_hours(ts.package.remaining_minutes)} left)."
        )

    return _session_action(
        session_id,
        lambda ts: scheduling.accept_session(db.session, g.tenant, current_user, ts),
        done,
    )


@bp.post("/sessions/<int:session_id>/decline")
def session_decline(session_id: int) -> Response:
    return _session_action(
        session_id,
        lambda ts: scheduling.decline_session(db.session, g.tenant, current_user, ts),
        lambda ts: f"Declined {ts.staff.name}'s proposed session of {_when(ts)}; no hours used.",
    )


@bp.post("/sessions/<int:session_id>/cancel")
def session_cancel(session_id: int) -> Response:
    refunded: dict[str, int] = {}

    def act(ts: TutoringSession) -> None:
        refunded["minutes"] = ts.charged_minutes
        scheduling.cancel_session(db.session, g.tenant, current_user, ts)

    def done(ts: TutoringSession) -> str:
        message = f"Cancelled {ts.student.first_name}'s session of {_when(ts)}."
        if refunded["minutes"] and ts.package is not None:
            message += (
                f" {format_hours(refunded['minutes'])} hours went back to {ts.package.name}"
                f" ({format_hours(ts.package.remaining_minutes)} left)."
            )
        return message

    return _session_action(session_id, act, done)


# --- package history ------------------------------------------------------------------


@bp.get("/packages/<int:package_id>")
def package_history(package_id: int) -> Response:
    package = get_or_404(Package, package_id)
    if not guards(current_user, package.student) or not shown_to_family(package, _today()):
        abort(404)  # inactive packages are hidden from families (design §2)
    return render(
        "family/package.html",
        package=package,
        entries=package_ledger(db.session, package),
        running_low=package.remaining_minutes <= g.tenant.low_balance_minutes,
    )


# --- calendar feed ------------------------------------------------------------------------


@bp.get("/calendar")
def calendar_feed() -> Response:
    return feed_views.feed_page()


@bp.post("/calendar")
def calendar_feed_new() -> Response:
    return feed_views.feed_create()


@bp.post("/calendar/revoke")
def calendar_feed_revoke() -> Response:
    return feed_views.feed_revoke("tenant.family.calendar_feed")
