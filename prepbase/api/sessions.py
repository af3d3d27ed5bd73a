"""GET /sessions (filters: from/to days in the business's zone, status, staff, student;
group sessions with their participants), one session; and the admin's moves, through the
verbs the pages call (`prepbase.scheduling`): propose, book for a family, accept a
proposal for a family, cancel (refund all or apply the policy), confirm a family's
booking, take attendance, submit the action plan.

Booking and accepting spend the family's hours (design §3 rules 1 and 2). The API acts
as the admin who made its key, so it books and accepts as the business does for a
family on the phone (`scheduling.book_for_family`, `scheduling.accept_for_family`): the
same checks and debit as the family's own, with the admin on the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from prepbase import scheduling
from prepbase.api.auth import actor, api_blueprint, errors_documented, rate_limited
from prepbase.api.idempotency import write
from prepbase.api.pagination import CursorPage, PageArgs, paginate
from prepbase.api.schemas import (
    ActionPlanInput,
    AttendanceInput,
    CancelInput,
    NewSessionInput,
    SessionFilter,
    SessionSchema,
    page_of,
)
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.localtime import day_start_utc
from prepbase.models import (
    STAFF_ROLES,
    SessionCategory,
    Student,
    Subject,
    TutoringSession,
    User,
)
from prepbase.problems import API_PREFIX
from prepbase.tenancy import get_scoped
from prepbase.tenant_url import get_or_404

bp = api_blueprint("sessions", f"{API_PREFIX}/sessions", "Sessions and their lifecycle.")


def with_participants(sessions: Iterable[TutoringSession]) -> None:
    """Every participation of the group sessions among `sessions`, in one statement, for
    `SessionSchema.participants` (no query per row)."""
    group_ids = {ts.group_id for ts in sessions if ts.group_id is not None}
    found: dict[int, list[TutoringSession]] = {gid: [] for gid in group_ids}
    if group_ids:
        rows = db.session.scalars(
            select(TutoringSession)
            .where(TutoringSession.group_id.in_(group_ids))
            .order_by(TutoringSession.id)
        )
        for ts in rows:
            found[ts.group_id].append(ts)  # type: ignore[index]  # in group_ids
    g.participants = found


def _loaded() -> Any:
    return select(TutoringSession).options(selectinload(TutoringSession.group))


@bp.route("", methods=["GET"])
@errors_documented(bp, 422)
@rate_limited
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.arguments(SessionFilter, location="query", as_kwargs=True)
@bp.response(200, page_of(SessionSchema, "SessionPage"))
def list_sessions(
    from_: Any, to: Any, status: str | None, staff: int | None, student: int | None, **page: Any
) -> CursorPage[TutoringSession]:
    """Sessions by start time and id. `from` and `to` are days in the business's zone,
    both included."""
    stmt = _loaded()
    if from_ is not None:
        stmt = stmt.where(TutoringSession.starts_at >= day_start_utc(g.tenant, from_))
    if to is not None:
        stmt = stmt.where(
            TutoringSession.starts_at < day_start_utc(g.tenant, to + timedelta(days=1))
        )
    if status is not None:
        stmt = stmt.where(TutoringSession.status == status)
    if staff is not None:
        stmt = stmt.where(TutoringSession.staff_id == staff)
    if student is not None:
        stmt = stmt.where(TutoringSession.student_id == student)
    found = paginate(db.session, stmt, [TutoringSession.starts_at, TutoringSession.id], page)
    with_participants(found.items)
    return found


def _session(session_id: int) -> TutoringSession:
    ts = get_or_404(TutoringSession, session_id, selectinload(TutoringSession.group))
    with_participants([ts])
    return ts


@bp.route("/<id:session_id>", methods=["GET"])
@errors_documented(bp, 404)
@rate_limited
@bp.response(200, SessionSchema)
def get_session(session_id: int) -> TutoringSession:
    """One session (a participation of a group session lists the group's)."""
    return _session(session_id)


def _one(model: type[Any], ident: int | None, field: str, message: str) -> Any:
    if ident is None:
        return None
    row = get_scoped(db.session, model, ident)
    if row is None:
        raise DomainError(message, field=field)
    return row


def _new(data: dict[str, Any]) -> dict[str, Any]:
    """A new session's rows and values, for `propose_session` and `book_for_family`."""
    student = _one(Student, data["student_id"], "student_id", "Choose a student of this business.")
    staff = _one(User, data["staff_id"], "staff_id", "Choose a staff member of this business.")
    if staff.role not in STAFF_ROLES:
        raise DomainError("Choose a staff member of this business.", field="staff_id")
    return {
        "student": student,
        "staff": staff,
        "service": data["service"],
        "starts_at": data["starts_at"],
        "duration_minutes": data["duration_minutes"],
        "category": _one(
            SessionCategory,
            data["category_id"],
            "category_id",
            "Choose a category of this business.",
        ),
        "subject": _one(
            Subject, data["subject_id"], "subject_id", "Choose a subject of this business."
        ),
    }


@bp.route("", methods=["POST"])
@errors_documented(bp, 403, 409, 415, 422)
@rate_limited
@write
@bp.arguments(NewSessionInput)
@bp.response(201, SessionSchema)
def propose(data: dict[str, Any]) -> TutoringSession:
    """Propose a session (PENDING): no hours move until it is accepted."""
    ts = scheduling.propose_session(db.session, g.tenant, actor(), **_new(data))
    return _session(ts.id)


@bp.route("/book", methods=["POST"])
@errors_documented(bp, 403, 409, 415, 422)
@rate_limited
@write
@bp.arguments(NewSessionInput)
@bp.response(201, SessionSchema)
def book(data: dict[str, Any]) -> TutoringSession:
    """Book a session for a family, as the business: UPCOMING at once.

    The hours are debited now from the package rule 5 picks (the key's admin is the
    ledger's actor), or the booking is refused with "Not enough hours: …" (409) and
    nothing is written. Held to the staff member's service, working hours and time off
    and to other sessions (422), not to the notice, horizon or step families book
    within; no confirming needed."""
    ts = scheduling.book_for_family(db.session, g.tenant, actor(), **_new(data))
    return _session(ts.id)


@bp.route("/<id:session_id>/accept", methods=["POST"])
@errors_documented(bp, 403, 404, 409, 415)
@rate_limited
@write
@bp.response(200, SessionSchema)
def accept(session_id: int) -> TutoringSession:
    """Accept a pending proposal for the family, as the business: UPCOMING.

    The hours are debited now, as when the family accepts (the key's admin is the
    ledger's actor), or it is refused with "Not enough hours: …" (409) and the proposal
    stays pending. A proposal whose start has passed is refused too (409)."""
    ts = get_or_404(TutoringSession, session_id)
    scheduling.accept_for_family(db.session, g.tenant, actor(), ts)
    return _session(ts.id)


@bp.route("/<id:session_id>/cancel", methods=["POST"])
@errors_documented(bp, 403, 404, 409, 415, 422)
@rate_limited
@write
@bp.arguments(CancelInput)
@bp.response(200, SessionSchema)
def cancel(data: dict[str, Any], session_id: int) -> TutoringSession:
    """Cancel: the hours go back to the package that paid (`refund_all`), or the
    business's cancellation policy decides what a late one keeps (`apply_policy`)."""
    ts = get_or_404(TutoringSession, session_id)
    scheduling.cancel_session(
        db.session,
        g.tenant,
        actor(),
        ts,
        data["reason"],
        apply_policy=data["hours"] == "apply_policy",
    )
    return _session(ts.id)


@bp.route("/<id:session_id>/confirm", methods=["POST"])
@errors_documented(bp, 403, 404, 409, 415)
@rate_limited
@write
@bp.response(200, SessionSchema)
def confirm(session_id: int) -> TutoringSession:
    """Confirm a family's booking (no hours move)."""
    ts = get_or_404(TutoringSession, session_id)
    scheduling.confirm_session(db.session, g.tenant, actor(), ts)
    return _session(ts.id)


@bp.route("/<id:session_id>/attendance", methods=["POST"])
@errors_documented(bp, 403, 404, 409, 415, 422)
@rate_limited
@write
@bp.arguments(AttendanceInput)
@bp.response(200, SessionSchema)
def attendance(data: dict[str, Any], session_id: int) -> TutoringSession:
    """Take attendance (present, late, absent); with the action plan it completes the
    session. A no-show gives the hours back only when the policy says so."""
    ts = get_or_404(TutoringSession, session_id)
    scheduling.take_attendance(db.session, g.tenant, actor(), ts, data["attendance"])
    return _session(ts.id)


@bp.route("/<id:session_id>/action-plan", methods=["POST"])
@errors_documented(bp, 403, 404, 409, 415, 422)
@rate_limited
@write
@bp.arguments(ActionPlanInput)
@bp.response(200, SessionSchema)
def action_plan(data: dict[str, Any], session_id: int) -> TutoringSession:
    """Submit the action plan (a group session's is the group's)."""
    ts = get_or_404(TutoringSession, session_id, selectinload(TutoringSession.group))
    scheduling.submit_action_plan(
        db.session,
        g.tenant,
        actor(),
        ts,
        topics=data["topics"],
        goals=data["goals"],
        next_steps=data["next_steps"],
    )
    return _session(ts.id)
