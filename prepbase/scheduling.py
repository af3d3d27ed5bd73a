"""The session lifecycle (design §3) and the hours each step moves.

Every function takes the database session and the acting user, checks that the actor
may make the move, changes rows and ledger entries, flushes, and raises `DomainError`
with a message for a person when the move is not allowed. Status changes are
conditional UPDATEs (`… WHERE status IN (…)`), so of two concurrent requests only one
moves a session; hour changes go through `prepbase.hours`, which cannot overdraw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from prepbase import availability, business, hours
from prepbase.errors import DomainError, NotFound
from prepbase.family_scope import guards
from prepbase.lifecycle import Action, actions_by_session, allowed_actions, check, wrong_status
from prepbase.localtime import format_when, local_date
from prepbase.mail import hours as hours_mail
from prepbase.mail import sessions as session_mail
from prepbase.models import (
    OPEN_STATUSES,
    STAFF_ROLES,
    Attendance,
    Package,
    Role,
    Service,
    SessionStatus,
    StaffService,
    Student,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.session_lists import sessions_to_hand_over

MIN_DURATION = 5
MAX_DURATION = hours.MAX_SESSION_HOURS * 60


class NotEnoughHours(DomainError):
    """No active package of the service can pay for the whole session."""


# --- checks ----------------------------------------------------------------------------


def check_duration(minutes: int) -> int:
    """Durations are whole minutes, more than zero and at most 12 hours."""
    if not isinstance(minutes, int) or minutes < MIN_DURATION or minutes > MAX_DURATION:
        raise DomainError(
            f"A session lasts from {MIN_DURATION} minutes to {hours.MAX_SESSION_HOURS} hours.",
            field="duration",
        )
    return minutes


def _check_staff(session: Session, staff: User, service: str) -> None:
    if staff.role not in STAFF_ROLES or not staff.active:
        raise DomainError("Choose an active tutor or counselor.", field="staff")
    offers = session.scalar(
        select(StaffService.id).where(
            StaffService.user_id == staff.id, StaffService.service == service
        )
    )
    if offers is None:
        raise DomainError(f"{staff.name} does not offer {Service(service).label}.", field="staff")


def _lock_people(
    session: Session, staff_ids: Iterable[int | None], student_ids: Iterable[int]
) -> None:
    """Row locks on staff members, then on students, each in id order (see
    `_lock_for_change`)."""
    # key_share=True: FOR NO KEY UPDATE on PostgreSQL.
    for staff_id in sorted({i for i in staff_ids if i is not None}):
        session.execute(select(User.id).where(User.id == staff_id).with_for_update(key_share=True))
    for student_id in sorted(set(student_ids)):
        session.execute(
            select(Student.id).where(Student.id == student_id).with_for_update(key_share=True)
        )


def _lock_for_change(
    session: Session,
    staff_id: int,
    student_id: int,
    ts: TutoringSession | None = None,
    *,
    new_staff_id: int | None = None,
) -> None:
    """Take the row locks of a change to a session; every verb calls this first, before
    it reads what it decides on or changes anything.

    One order on every path, so no two verbs deadlock (issue 11): the staff member's
    `user_account` row, the student's row, the session's row (read again under its
    lock: the verb sees the session as it is now), and only then a package (`hours`
    updates it). The people locks also serialize bookings of one staff member or
    student, so two overlapping sessions cannot both pass the overlap check.

    The deadlock in PostgreSQL's log, booking against accept (cancel alike):
      booking: SELECT user_account.id … FOR UPDATE (the staff member, `_lock_people`),
               then UPDATE package (the debit) waits for the accept;
      accept:  UPDATE tutoring_session (status), UPDATE package (the debit), then
               UPDATE tutoring_session SET package_id, charged_minutes. A row this
               transaction has changed has all its foreign keys checked again, staff_id
               too: SELECT 1 FROM user_account … FOR KEY SHARE waits for the booking.
    FOR NO KEY UPDATE, not FOR UPDATE: it does not block those FOR KEY SHARE checks, so
    a ledger entry or cancellation naming a staff member as the actor (an admin who
    also teaches) never waits for that person's lock out of order.
    SQLite: BEGIN IMMEDIATE already runs one writer at a time; these are plain reads.

    A reassignment names two staff members (`new_staff_id`): both are locked, lower id
    first, before the student. In the order "session's staff member, then the new one",
    A→B and B→A at once (or A→B against a booking with B) would each hold one and wait
    for the other; in id order they queue. A batch (`reassign_all`, `cancel_all`) locks
    all its staff members, then all its students, each in id order, before the first
    session, so its per-session locks are held already and the order stays the same.
    A session reassigned while this request waited for the locks has another staff
    member now, whose lock it does not hold: the move is refused.
    """
    _lock_people(session, (staff_id, new_staff_id), (student_id,))
    if ts is not None:
        # The row lock, then the session read again: not one `refresh(with_for_update=…)`,
        # which replays how the session was loaded, and a session loaded with its people
        # (`session_lists`) would lock outer joins, which PostgreSQL refuses.
        session.execute(
            select(TutoringSession.id)
            .where(TutoringSession.id == ts.id)
            .with_for_update(key_share=True)
        )
        session.refresh(ts)
        if ts.staff_id != staff_id:
            raise DomainError("This session was just given to another staff member; open it again.")


def _check_overlap(
    session: Session,
    tenant: Tenant,
    *,
    staff_id: int,
    student_id: int,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
    statuses: Sequence[str] = OPEN_STATUSES,
) -> None:
    clash = (
        select(TutoringSession)
        .where(
            TutoringSession.status.in_(statuses),
            TutoringSession.starts_at < ends_at,
            TutoringSession.ends_at > starts_at,
            # No session lasts longer than MAX_DURATION: this bound lets the index on
            # (staff_id, starts_at) skip everyone's past sessions.
            TutoringSession.starts_at > starts_at - timedelta(minutes=MAX_DURATION),
            or_(
                TutoringSession.staff_id == staff_id,
                TutoringSession.student_id == student_id,
            ),
        )
        .limit(1)
    )
    if exclude_id is not None:
        clash = clash.where(TutoringSession.id != exclude_id)
    other = session.scalar(clash)
    if other is None:
        return
    who = other.staff.name if other.staff_id == staff_id else other.student.first_name
    raise DomainError(
        f"{who} already has a session then ({format_when(tenant.timezone, other.starts_at)}, "
        f"{other.duration_minutes} min).",
        field="start_time",
    )


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise DomainError("Choose a time in the future.", field="start_time")


def _check_family_actor(actor: User, student: Student) -> None:
    if not guards(actor, student):
        raise NotFound("no such student")


def _check_staff_actor(actor: User, ts: TutoringSession) -> None:
    if actor.role == Role.ADMIN:
        return
    if actor.role in STAFF_ROLES and ts.staff_id == actor.id:
        return
    raise NotFound("no such session")


def may_staff_act(actor: User, ts: TutoringSession) -> bool:
    """True when `actor` is the session's staff member or an admin."""
    return actor.role == Role.ADMIN or (actor.role in STAFF_ROLES and ts.staff_id == actor.id)


# --- which package pays ------------------------------------------------------------------


def payable_packages(
    session: Session, student_id: int, service: str, on: date, minutes: int
) -> list[Package]:
    """Design §3 rule 5: same service, usable on the session's day (`Package.usable_on`),
    covering the whole session; the one that started first comes first."""
    return list(
        session.scalars(
            select(Package)
            .where(
                Package.student_id == student_id,
                Package.service == service,
                Package.usable_on(on),
                Package.remaining_minutes >= minutes,
            )
            .order_by(Package.start_date, Package.id)
        )
    )


def hours_left(session: Session, student_id: int, service: str, on: date) -> int:
    """Minutes usable by a session of `service` on `on`, across the student's packages."""
    packages = payable_packages(session, student_id, service, on, 0)
    return sum(p.remaining_minutes for p in packages)


def _not_enough(
    session: Session, tenant: Tenant, ts: TutoringSession, minutes: int
) -> NotEnoughHours:
    left = hours_left(session, ts.student_id, ts.service, local_date(tenant, ts.starts_at))
    student = ts.student
    renewal = (
        f"Buy Hours on your dashboard or ask {tenant.name} for a renewal package"
        if business.sells_online(tenant)
        else f"Ask {tenant.name} for a renewal package"
    )
    return NotEnoughHours(
        f"Not enough hours: {student.first_name} has {hours.format_hours(left)} "
        f"{Service(ts.service).label} hours left and this session needs "
        f"{hours.format_hours(minutes)}. {renewal}; nothing was booked."
    )


def _debit(
    session: Session, tenant: Tenant, actor: User, ts: TutoringSession, note: str = ""
) -> None:
    on = local_date(tenant, ts.starts_at)
    for package in payable_packages(session, ts.student_id, ts.service, on, ts.duration_minutes):
        change = hours.debit_for_session(
            session, package.id, ts, ts.duration_minutes, actor, note=note
        )
        if change is not None:  # another request may have drained it a moment ago
            ts.package_id = package.id
            ts.charged_minutes = ts.duration_minutes
            session.flush()
            hours_mail.after_debit(
                session, tenant, package, change, sells_online=business.sells_online(tenant)
            )
            return
    raise _not_enough(session, tenant, ts, ts.duration_minutes)


def pick_package(
    packages: list[Package], ts: TutoringSession, on: date
) -> tuple[Package | None, int]:
    """Rule 5 over packages already loaded (oldest first): the one that would pay for
    `ts`, and the minutes its student could use that day. The same rule as
    `payable_packages` (`Package.usable_on`), so a page can preview many sessions
    without a query each."""
    usable = [
        p
        for p in packages
        if p.student_id == ts.student_id and p.service == ts.service and p.usable_on(on)
    ]
    payer = next((p for p in usable if p.remaining_minutes >= ts.duration_minutes), None)
    return payer, sum(p.remaining_minutes for p in usable)


def preview_package(session: Session, tenant: Tenant, ts: TutoringSession) -> Package | None:
    """The package that would pay for `ts` if it were accepted now (for the Accept screen)."""
    candidates = payable_packages(
        session, ts.student_id, ts.service, local_date(tenant, ts.starts_at), ts.duration_minutes
    )
    return candidates[0] if candidates else None


@dataclass(frozen=True)
class AcceptPreview:
    """A proposed session and what accepting it would do to the hours."""

    session: TutoringSession
    package: Package | None  # the package that would pay, or None when none can
    minutes_left: int  # usable hours of its service on its day, for the refusal text


def accept_previews(
    tenant: Tenant, pending: Sequence[TutoringSession], packages: list[Package]
) -> list[AcceptPreview]:
    """What accepting each proposal would do (rule 5, `pick_package`), over the student's
    Active packages already loaded: no query per proposal."""
    previews = []
    for ts in pending:
        package, left = pick_package(packages, ts, local_date(tenant, ts.starts_at))
        previews.append(AcceptPreview(ts, package, left))
    return previews


def family_actions(
    sessions: Iterable[TutoringSession],
    previews: Iterable[AcceptPreview],
    actor: User,
    now: datetime,
) -> dict[int, frozenset[Action]]:
    """The buttons of each open session of a family: what the lifecycle allows them now,
    and Accept only where a package can pay (rule 5; the preview says why not), so the
    page offers exactly what `accept_session` would do."""
    offered = actions_by_session(sessions, actor, now)
    for preview in previews:
        if preview.package is None:
            offered[preview.session.id] -= {Action.ACCEPT}
    return offered


# --- status changes ----------------------------------------------------------------------


def _move(
    session: Session, ts: TutoringSession, allowed: tuple[str, ...], to: str, **values: object
) -> None:
    """Change the status only if it is still one of `allowed` (one winner under races)."""
    moved = session.execute(
        update(TutoringSession)
        .where(TutoringSession.id == ts.id, TutoringSession.status.in_(allowed))
        .values(status=to, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(ts)
    if moved != 1:
        raise DomainError(_refusal(ts.status, to))


def _refusal(current: str, wanted: str) -> str:
    # A request that lost the race: the session moved on since `lifecycle.check` passed.
    verbs = {
        SessionStatus.UPCOMING: "accepted",
        SessionStatus.CANCELLED: "cancelled",
        SessionStatus.DECLINED: "declined",
        SessionStatus.COMPLETED: "completed",
    }
    return wrong_status(current, verbs.get(wanted, "changed"))


def _new_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    student: Student,
    staff: User,
    service: str,
    starts_at: datetime,
    duration_minutes: int,
    status: str,
    now: datetime,
) -> TutoringSession:
    service = Service(service)
    check_duration(duration_minutes)
    _check_future(starts_at, now)
    _check_staff(session, staff, service)
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    _lock_for_change(session, staff.id, student.id)
    if status == SessionStatus.UPCOMING:
        # A family books an open slot only. Checked after the locks, in the transaction
        # that debits: a slot taken a moment ago by another family is seen here.
        availability.check_family_booking(
            session,
            tenant,
            staff=staff,
            student=student,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            now=now,
        )
    _check_overlap(
        session,
        tenant,
        staff_id=staff.id,
        student_id=student.id,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    ts = TutoringSession(
        student=student,
        staff=staff,
        service=service,
        starts_at=starts_at,
        ends_at=ends_at,
        duration_minutes=duration_minutes,
        status=status,
        scheduled_by=actor,
        booked_by_family=status == SessionStatus.UPCOMING,
    )
    session.add(ts)
    session.flush()
    return ts


def book_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    student: Student,
    staff: User,
    service: str,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime | None = None,
) -> TutoringSession:
    """Rule 1: a family books → UPCOMING at once, and the hours are debited now."""
    _check_family_actor(actor, student)
    ts = _new_session(
        session,
        tenant,
        actor,
        student=student,
        staff=staff,
        service=service,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        status=SessionStatus.UPCOMING,
        now=now or utcnow(),
    )
    _debit(session, tenant, actor, ts)
    return ts


def propose_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    student: Student,
    staff: User,
    service: str,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime | None = None,
) -> TutoringSession:
    """Rule 2: staff propose → PENDING; no hours move until the family accepts."""
    if actor.role not in STAFF_ROLES:
        raise NotFound("only staff propose sessions")
    if actor.role != Role.ADMIN and staff.id != actor.id:
        raise DomainError("You can propose sessions for yourself only.", field="staff")
    ts = _new_session(
        session,
        tenant,
        actor,
        student=student,
        staff=staff,
        service=service,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        status=SessionStatus.PENDING,
        now=now or utcnow(),
    )
    session_mail.session_proposed(session, tenant, ts)
    return ts


def accept_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    now: datetime | None = None,
) -> None:
    """Rule 2: the family accepts a proposal → UPCOMING, and the hours are debited."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_family_actor(actor, ts.student)
    check(ts, actor, Action.ACCEPT, now or utcnow())
    _move(session, ts, (SessionStatus.PENDING,), SessionStatus.UPCOMING)
    _debit(session, tenant, actor, ts)  # raising here rolls the status back too


def decline_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    now: datetime | None = None,
) -> None:
    """Rule 2: the family declines a proposal; no hours move."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_family_actor(actor, ts.student)
    check(ts, actor, Action.DECLINE, now or utcnow())
    _move(session, ts, (SessionStatus.PENDING,), SessionStatus.DECLINED, declined_at=utcnow())


def cancel_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    reason: str = "",
    *,
    notify: bool = True,
    now: datetime | None = None,
) -> None:
    """Rule 3: cancelling refunds any hours the session holds, to the same package; the
    other side is told by e-mail (unless the caller tells them itself). Families cancel
    until the session starts, staff until attendance is recorded (`lifecycle.TABLE`)."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    if actor.role in STAFF_ROLES:
        _check_staff_actor(actor, ts)
    else:
        _check_family_actor(actor, ts.student)
    check(ts, actor, Action.CANCEL, now or utcnow())
    _move(
        session,
        ts,
        OPEN_STATUSES,
        SessionStatus.CANCELLED,
        cancelled_at=utcnow(),
        cancelled_by_id=actor.id,
        cancel_reason=reason.strip() or None,
    )
    if ts.package_id is not None and ts.charged_minutes:
        hours.refund_for_session(
            session, ts.package_id, ts, ts.charged_minutes, actor, note="Session cancelled"
        )
        ts.charged_minutes = 0
        session.flush()
    if notify:
        session_mail.session_cancelled(session, tenant, actor, ts)


def confirm_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    now: datetime | None = None,
) -> None:
    """Rule 9: the staff member confirms a family booking; no hours move."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_staff_actor(actor, ts)
    check(ts, actor, Action.CONFIRM, now or utcnow())
    session.execute(
        update(TutoringSession)
        .where(TutoringSession.id == ts.id, TutoringSession.confirmed_at.is_(None))
        .values(confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(ts)


def reject_booking(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Rule 9: staff who cannot take a family booking decline it with a reason: the
    session is cancelled, its hours refunded, and the family is told."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_staff_actor(actor, ts)
    now = now or utcnow()
    check(ts, actor, Action.DECLINE_BOOKING, now)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Tell the family why you cannot take this session.", field="reason")
    cancel_session(session, tenant, actor, ts, reason, notify=False, now=now)
    session_mail.booking_declined(session, tenant, ts, reason)


def change_duration(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    minutes: int,
    now: datetime | None = None,
) -> None:
    """Rule 6: an upcoming session's new length debits or refunds the difference."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_staff_actor(actor, ts)
    check_duration(minutes)
    check(ts, actor, Action.CHANGE_DURATION, now or utcnow())
    ends_at = ts.starts_at + timedelta(minutes=minutes)
    _check_overlap(
        session,
        tenant,
        staff_id=ts.staff_id,
        student_id=ts.student_id,
        starts_at=ts.starts_at,
        ends_at=ends_at,
        exclude_id=ts.id,
    )
    diff = minutes - ts.duration_minutes
    if ts.status == SessionStatus.UPCOMING and ts.package_id is not None and diff:
        if diff > 0:
            change = hours.debit_for_session(session, ts.package_id, ts, diff, actor)
            if change is None:  # a session stays on the package that paid for it
                package = session.scalar(select(Package).where(Package.id == ts.package_id))
                raise NotEnoughHours(
                    f"{package.name} has {hours.hours_phrase(package.remaining_minutes)} "
                    f"left; {hours.format_hours(diff)} more are needed to lengthen this session.",
                    field="duration",
                )
            hours_mail.after_debit(
                session, tenant, ts.package, change, sells_online=business.sells_online(tenant)
            )
        else:
            hours.refund_for_session(
                session, ts.package_id, ts, -diff, actor, note="Session shortened"
            )
        ts.charged_minutes += diff
    ts.duration_minutes = minutes
    ts.ends_at = ends_at
    session.flush()


def reschedule(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    starts_at: datetime,
    now: datetime | None = None,
) -> None:
    """Rule 6: moving a session in time moves no hours."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_staff_actor(actor, ts)
    now = now or utcnow()
    check(ts, actor, Action.RESCHEDULE, now)
    _check_future(starts_at, now)
    ends_at = starts_at + timedelta(minutes=ts.duration_minutes)
    _check_overlap(
        session,
        tenant,
        staff_id=ts.staff_id,
        student_id=ts.student_id,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=ts.id,
    )
    ts.starts_at = starts_at
    ts.ends_at = ends_at
    ts.reminder_sent_at = None  # a reminder is due again before the new time
    session.flush()


def take_attendance(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    attendance: str,
    now: datetime | None = None,
) -> None:
    """Rule 4: present / late / absent (an absent student still uses the hours)."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_staff_actor(actor, ts)
    check(ts, actor, Action.TAKE_ATTENDANCE, now or utcnow())
    ts.attendance = Attendance(attendance)
    ts.attendance_at = utcnow()
    session.flush()
    _complete_if_ready(session, ts)


def submit_action_plan(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    *,
    topics: str,
    goals: str,
    next_steps: str,
    now: datetime | None = None,
) -> None:
    """Rule 4: the staff member's action plan; with attendance it completes the session."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _check_staff_actor(actor, ts)
    check(ts, actor, Action.SUBMIT_PLAN, now or utcnow())
    if not (topics or "").strip():
        raise DomainError("Write what the session covered.", field="topics")
    ts.plan_topics = topics.strip()
    ts.plan_goals = (goals or "").strip()
    ts.plan_next_steps = (next_steps or "").strip()
    ts.plan_submitted_at = utcnow()
    session.flush()
    _complete_if_ready(session, ts)


def _complete_if_ready(session: Session, ts: TutoringSession) -> None:
    # Completing moves no hours: they were debited when the session was booked/accepted.
    if ts.attendance and ts.plan_submitted_at:
        _move(
            session, ts, (SessionStatus.UPCOMING,), SessionStatus.COMPLETED, completed_at=utcnow()
        )


# --- sessions that already happened, and staff changes ----------------------------------

LOG_PAST_DAYS = 365  # how far back a session may be logged
TOOK_PLACE_OR_OPEN = (*OPEN_STATUSES, SessionStatus.COMPLETED)


def _day(day: date) -> str:
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"


def _check_past(tenant: Tenant, starts_at: datetime, now: datetime) -> None:
    if starts_at > now:
        later_today = local_date(tenant, starts_at) == local_date(tenant, now)
        raise DomainError(
            "Log Past Session is for sessions that took place: choose a start before now "
            f"({format_when(tenant.timezone, now)}). Propose Session plans a future one.",
            field="start_time" if later_today else "date",
        )
    if starts_at < now - timedelta(days=LOG_PAST_DAYS):
        raise DomainError(
            f"Log sessions of the last {LOG_PAST_DAYS} days only; "
            "an admin can correct older hours on the package (Adjust).",
            field="date",
        )


def _not_enough_to_log(
    session: Session, tenant: Tenant, actor: User, ts: TutoringSession
) -> NotEnoughHours:
    on = local_date(tenant, ts.starts_at)
    left = hours_left(session, ts.student_id, ts.service, on)
    student = ts.student
    remedy = (
        f"Add Package on {student.first_name}'s profile (one that started by then), "
        "then log it again"
        if actor.role == Role.ADMIN
        else f"Ask an admin of {tenant.name} to add a package that started by then"
    )
    return NotEnoughHours(
        f"Not enough hours: {student.first_name} had {hours.format_hours(left)} "
        f"{Service(ts.service).label} hours usable on {_day(on)} and this session needs "
        f"{hours.format_hours(ts.duration_minutes)}. {remedy}; nothing was logged."
    )


def log_past_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    student: Student,
    staff: User,
    service: str,
    starts_at: datetime,
    duration_minutes: int,
    attendance: str,
    topics: str,
    goals: str = "",
    next_steps: str = "",
    now: datetime | None = None,
) -> TutoringSession:
    """Design §10: a session that took place but was never entered is logged COMPLETED at
    once, with its attendance and action plan (rule 4), and its hours are debited now
    from the package that would have paid on its day (rule 5: `payable_packages` on that
    day, so a package started since does not pay, one expired since still does). The
    debit's note says who logged it and when: the family reads it in the package history.
    Staff log their own sessions; admins anyone's."""
    if actor.role not in STAFF_ROLES:
        raise NotFound("only staff log sessions")
    if actor.role != Role.ADMIN and staff.id != actor.id:
        raise DomainError("You can log your own sessions only.", field="staff")
    now = now or utcnow()
    service = Service(service)
    check_duration(duration_minutes)
    _check_past(tenant, starts_at, now)
    _check_staff(session, staff, service)
    if attendance not in set(Attendance):
        raise DomainError("Choose present, late or absent.", field="attendance")
    if not (topics or "").strip():
        raise DomainError("Write what the session covered.", field="topics")
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    _lock_for_change(session, staff.id, student.id)
    # Rule 7, for the past too: neither the staff member nor the student was in another
    # session then (one that took place, or one still open).
    _check_overlap(
        session,
        tenant,
        staff_id=staff.id,
        student_id=student.id,
        starts_at=starts_at,
        ends_at=ends_at,
        statuses=TOOK_PLACE_OR_OPEN,
    )
    ts = TutoringSession(
        student=student,
        staff=staff,
        service=service,
        starts_at=starts_at,
        ends_at=ends_at,
        duration_minutes=duration_minutes,
        status=SessionStatus.COMPLETED,
        scheduled_by=actor,
        booked_by_family=False,
        attendance=Attendance(attendance),
        attendance_at=now,
        plan_topics=topics.strip(),
        plan_goals=(goals or "").strip(),
        plan_next_steps=(next_steps or "").strip(),
        plan_submitted_at=now,
        completed_at=now,
    )
    session.add(ts)
    session.flush()
    note = f"Logged on {_day(local_date(tenant, now))} by {actor.name}"
    try:
        _debit(session, tenant, actor, ts, note=note)
    except NotEnoughHours:
        # The caller rolls back: the session row goes with the refusal.
        raise _not_enough_to_log(session, tenant, actor, ts) from None
    return ts


def _check_new_staff(
    session: Session, tenant: Tenant, ts: TutoringSession, new_staff: User, anyway: bool
) -> None:
    if new_staff.id == ts.staff_id:
        raise DomainError(
            f"{new_staff.name} gives this session already; choose someone else.", field="staff"
        )
    session.refresh(new_staff)  # as they are now, under their lock (deactivated since?)
    _check_staff(session, new_staff, ts.service)
    _check_overlap(
        session,
        tenant,
        staff_id=new_staff.id,
        student_id=ts.student_id,
        starts_at=ts.starts_at,
        ends_at=ts.ends_at,
        exclude_id=ts.id,
    )
    if not anyway:
        outside = availability.outside_hours(
            session, tenant, new_staff, ts.starts_at, ts.duration_minutes
        )
        if outside is not None:
            raise DomainError(
                f"{outside} Tick “Assign anyway” to give it to them all the same.",
                field="anyway",
            )


def reassign_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    new_staff: User,
    *,
    anyway: bool = False,
    now: datetime | None = None,
) -> User:
    """Admins give a pending or upcoming session to another staff member (a substitute,
    or before a deactivation); returns the one who had it. The new staff member must be
    active, offer its service and be free then (rule 7); outside their working hours or
    in their time off only with `anyway`. No hours move (the package that paid keeps
    paying); both staff members and the family are told by e-mail."""
    now = now or utcnow()
    _lock_for_change(session, ts.staff_id, ts.student_id, ts, new_staff_id=new_staff.id)
    check(ts, actor, Action.REASSIGN, now)
    _check_new_staff(session, tenant, ts, new_staff, anyway)
    previous = ts.staff
    ts.staff = new_staff
    session.flush()
    session_mail.session_reassigned(session, tenant, actor, ts, previous)
    return previous


def _sessions_to_hand_over(
    session: Session,
    actor: User,
    staff: User,
    action: Action,
    now: datetime,
    new_staff: User | None = None,
) -> list[TutoringSession]:
    """The sessions of `staff` that `action` may move now, with every lock the batch
    needs taken in `_lock_for_change`'s order: the staff members, then the students."""
    if actor.role != Role.ADMIN:
        raise NotFound("only admins hand sessions over")
    _lock_people(session, (staff.id, new_staff.id if new_staff else None), ())
    # Read under the staff member's lock: no session of theirs can be added meanwhile.
    sessions = sessions_to_hand_over(session, staff.id)
    _lock_people(session, (), (ts.student_id for ts in sessions))
    return [ts for ts in sessions if action in allowed_actions(ts, actor, now)]


def reassign_all(
    session: Session,
    tenant: Tenant,
    actor: User,
    staff: User,
    new_staff: User,
    *,
    anyway: bool = False,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """Before a deactivation: every pending or upcoming session of `staff` that may be
    reassigned goes to `new_staff` (as `reassign_session`, each). All or none: the first
    refusal names its session and keeps every session where it was."""
    now = now or utcnow()
    sessions = _sessions_to_hand_over(session, actor, staff, Action.REASSIGN, now, new_staff)
    for ts in sessions:
        try:
            reassign_session(session, tenant, actor, ts, new_staff, anyway=anyway, now=now)
        except NotFound:
            raise
        except DomainError as exc:
            raise DomainError(
                f"{ts.student.full_name}, {format_when(tenant.timezone, ts.starts_at)}: "
                f"{exc.message} Nothing was reassigned.",
                field=exc.field,
            ) from None
    return sessions


def cancel_all(
    session: Session,
    tenant: Tenant,
    actor: User,
    staff: User,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """Before a deactivation: cancel every pending or upcoming session of `staff` that
    may be cancelled (rule 3, each: its hours go back to its package, and its family and
    the staff member are e-mailed)."""
    now = now or utcnow()
    sessions = _sessions_to_hand_over(session, actor, staff, Action.CANCEL, now)
    for ts in sessions:
        cancel_session(session, tenant, actor, ts, reason, now=now)
    return sessions
