"""The lists of sessions staff and admins look at: a staff member's board, the admin's
filtered list, a student's history, the sessions to hand over before a deactivation.

Plain queries taking the database session. Each list eager-loads the student, the staff
member and the paying package in the same statement, so a page costs the same few
statements whether it shows two sessions or two hundred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from prepbase.lifecycle import STILL_TO_COME, is_new_booking, needs_completion
from prepbase.models import Package, SessionStatus, TutoringSession
from prepbase.paging import PER_PAGE, Page, paginate

CLOSED = (SessionStatus.CANCELLED, SessionStatus.DECLINED)
RECENT_COMPLETED = 20


def _with_people(stmt: Select[TutoringSession]) -> Select[TutoringSession]:
    # Many-to-one joins: one row per session, no extra statement per row. A weekly
    # series ("3 of 10 · every Tue"): one statement for all, and none when no session
    # of the list belongs to one.
    return stmt.options(
        joinedload(TutoringSession.student),
        joinedload(TutoringSession.staff),
        joinedload(TutoringSession.package),
        selectinload(TutoringSession.series),
    )


def hours_left_by_service(
    session: Session, student_ids: Iterable[int], today: date
) -> dict[tuple[int, str], int]:
    """Minutes left on each student's Active packages (`Package.active_on` the business's
    `today`), per service, in one statement.

    Shown next to proposals (which hold no hours yet) so staff see whether the family
    can accept them.
    """
    ids = sorted(set(student_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Package.student_id, Package.service, func.sum(Package.remaining_minutes))
        .where(Package.student_id.in_(ids), Package.active_on(today))
        .group_by(Package.student_id, Package.service)
    )
    return {(student_id, service): int(total or 0) for student_id, service, total in rows}


@dataclass
class StaffBoard:
    """One staff member's sessions, sorted into what they need to do; `upcoming` holds
    the `new_bookings` as well."""

    new_bookings: list[TutoringSession] = field(default_factory=list)
    needs_completion: list[TutoringSession] = field(default_factory=list)
    upcoming: list[TutoringSession] = field(default_factory=list)
    pending: list[TutoringSession] = field(default_factory=list)
    waiting: list[TutoringSession] = field(default_factory=list)  # for hours, still ahead
    completed: list[TutoringSession] = field(default_factory=list)
    hours_left: dict[tuple[int, str], int] = field(default_factory=dict)

    def sessions(self) -> list[TutoringSession]:
        """Every session on the board, once (a new booking is upcoming too)."""
        return [
            *self.needs_completion,
            *self.upcoming,
            *self.pending,
            *self.waiting,
            *self.completed,
        ]


def staff_board(
    session: Session,
    staff_id: int,
    now: datetime,
    today: date,
    completed_limit: int = RECENT_COMPLETED,
) -> StaffBoard:
    """The sessions of `staff_id`: new family bookings to confirm, started sessions that
    still need attendance or an action plan, upcoming and pending ones, series
    occurrences waiting for hours, and the most recent completed ones. `today` is the
    business's day at `now`."""
    board = StaffBoard()
    open_sessions = session.scalars(
        _with_people(
            select(TutoringSession)
            .where(
                TutoringSession.staff_id == staff_id,
                TutoringSession.status.in_(STILL_TO_COME),
            )
            .order_by(TutoringSession.starts_at, TutoringSession.id)
        )
    )
    for ts in open_sessions:
        if ts.status == SessionStatus.WAITING:
            if ts.starts_at > now:  # one whose time passed was never held: gone
                board.waiting.append(ts)
        elif ts.status == SessionStatus.PENDING:
            board.pending.append(ts)
        elif needs_completion(ts, now):
            board.needs_completion.append(ts)
        else:
            if is_new_booking(ts):
                board.new_bookings.append(ts)
            # A booking still to confirm is upcoming too (rule 1: its hours are held),
            # so Upcoming Sessions never reads empty while bookings wait (marked there).
            board.upcoming.append(ts)
    board.completed = list(
        session.scalars(
            _with_people(
                select(TutoringSession)
                .where(
                    TutoringSession.staff_id == staff_id,
                    TutoringSession.status == SessionStatus.COMPLETED,
                )
                .order_by(TutoringSession.starts_at.desc(), TutoringSession.id.desc())
                .limit(completed_limit)
            )
        )
    )
    board.hours_left = hours_left_by_service(
        session, (ts.student_id for ts in board.pending), today
    )
    return board


def sessions_to_hand_over(session: Session, staff_id: int) -> list[TutoringSession]:
    """The pending, upcoming and waiting sessions of a staff member, soonest first: what
    must be reassigned or cancelled before they are deactivated, so nothing is left under
    "(inactive)"."""
    return list(
        session.scalars(
            _with_people(
                select(TutoringSession)
                .where(
                    TutoringSession.staff_id == staff_id,
                    TutoringSession.status.in_(STILL_TO_COME),
                )
                .order_by(TutoringSession.starts_at, TutoringSession.id)
            )
        )
    )


@dataclass(frozen=True)
class SessionFilters:
    """What the admin's Sessions list is narrowed to; None means any."""

    status: str | None = None
    staff_id: int | None = None
    student_id: int | None = None
    category_id: int | None = None
    subject_id: int | None = None
    starts_from: datetime | None = None  # inclusive, UTC
    starts_before: datetime | None = None  # exclusive, UTC


def filtered_sessions(
    session: Session, filters: SessionFilters, page: int = 1, per_page: int = PER_PAGE
) -> Page[TutoringSession]:
    """One page of the business's sessions matching `filters`, latest start first (a page
    past the end is the last one), and how many match in all."""
    stmt = select(TutoringSession)
    if filters.status:
        stmt = stmt.where(TutoringSession.status == filters.status)
    if filters.staff_id is not None:
        stmt = stmt.where(TutoringSession.staff_id == filters.staff_id)
    if filters.student_id is not None:
        stmt = stmt.where(TutoringSession.student_id == filters.student_id)
    if filters.category_id is not None:
        stmt = stmt.where(TutoringSession.category_id == filters.category_id)
    if filters.subject_id is not None:
        stmt = stmt.where(TutoringSession.subject_id == filters.subject_id)
    if filters.starts_from is not None:
        stmt = stmt.where(TutoringSession.starts_at >= filters.starts_from)
    if filters.starts_before is not None:
        stmt = stmt.where(TutoringSession.starts_at < filters.starts_before)
    return paginate(
        session,
        _with_people(stmt).order_by(TutoringSession.starts_at.desc(), TutoringSession.id.desc()),
        page,
        per_page=per_page,
    )


@dataclass
class StudentHistory:
    """A student's sessions by status, for the profile's Sessions tab."""

    upcoming: list[TutoringSession] = field(default_factory=list)
    pending: list[TutoringSession] = field(default_factory=list)
    waiting: list[TutoringSession] = field(default_factory=list)  # series, for hours
    completed: list[TutoringSession] = field(default_factory=list)
    closed: list[TutoringSession] = field(default_factory=list)  # cancelled or declined
    hours_left: dict[tuple[int, str], int] = field(default_factory=dict)

    def sessions(self) -> list[TutoringSession]:
        """Every session of the student."""
        return [*self.upcoming, *self.pending, *self.waiting, *self.completed, *self.closed]


def student_history(session: Session, student_id: int, today: date) -> StudentHistory:
    """Every session of the student: open ones soonest first, past ones latest first.
    `today` is the business's day."""
    history = StudentHistory()
    rows = session.scalars(
        _with_people(
            select(TutoringSession)
            .where(TutoringSession.student_id == student_id)
            .order_by(TutoringSession.starts_at, TutoringSession.id)
        )
    )
    lists = {
        SessionStatus.UPCOMING: history.upcoming,
        SessionStatus.PENDING: history.pending,
        SessionStatus.WAITING: history.waiting,
        SessionStatus.COMPLETED: history.completed,
    }
    for ts in rows:
        lists.get(SessionStatus(ts.status), history.closed).append(ts)
    history.completed.reverse()
    history.closed.reverse()
    if history.pending:
        history.hours_left = hours_left_by_service(session, [student_id], today)
    return history
