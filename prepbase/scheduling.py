"""The session lifecycle (design §3) and the hours each step moves.

Every function takes the database session and the acting user, checks that the actor
may make the move, changes rows and ledger entries, flushes, and raises `DomainError`
with a message for a person when the move is not allowed. Status changes are
conditional UPDATEs (`… WHERE status IN (…)`), so of two concurrent requests only one
moves a session; hour changes go through `prepbase.hours`, which cannot overdraw.

Weekly series (design §10, the last sections): many ordinary sessions decided at once,
shown first as a plan, and the sessions that wait for hours (`fill_waiting`, called
wherever hours arrive).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any, cast

from sqlalchemy import CursorResult, Select, bindparam, inspect, or_, select, update
from sqlalchemy.orm import Session, contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from prepbase import availability, business, cancellation, categories, hours
from prepbase.errors import DomainError, NotFound
from prepbase.family_scope import guards
from prepbase.groups import SEAT_STATUSES, may_join, participations
from prepbase.lifecycle import (
    STILL_TO_COME,
    Action,
    actions_by_session,
    allowed_actions,
    check,
    wrong_status,
)
from prepbase.localtime import format_when, local_date, local_to_utc, to_local
from prepbase.mail import hours as hours_mail
from prepbase.mail import series as series_mail
from prepbase.mail import sessions as session_mail
from prepbase.models import (
    OPEN_STATUSES,
    STAFF_ROLES,
    SYNCHRONIZED_BY_CALLER,
    Attendance,
    Package,
    Role,
    Service,
    SessionCategory,
    SessionGroup,
    SessionSeries,
    SessionStatus,
    StaffService,
    Student,
    Subject,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.models import EventType as Event
from prepbase.models.categories import MAX_BUFFER_MINUTES, NO_BUFFERS, buffers_clash
from prepbase.models.series import weekday_mask, weekdays_of
from prepbase.series import (
    NewSeries,
    Occurrence,
    Outcome,
    PlanChanged,
    SeriesPlan,
    occurrence_days,
)
from prepbase.session_lists import sessions_to_hand_over
from prepbase.webhooks.events import emit, emit_in_scope

log = logging.getLogger(__name__)

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
    if "service_rows" in inspect(staff).unloaded:
        offers = session.scalar(
            select(StaffService.id).where(
                StaffService.user_id == staff.id, StaffService.service == service
            )
        )
    else:  # loaded with the form's choices (`slots.bookable_staff`) in this transaction
        offers = next((r.id for r in staff.service_rows if r.service == service), None)
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
    refunds: bool = False,
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

    `refunds`: the change may give hours back, and hours that come back go to the
    student's occurrences waiting for hours (`fill_waiting`), whose staff members are then
    locked too — here, in the order, not after the student.

    A reassignment names two staff members (`new_staff_id`): both are locked, lower id
    first, before the student. In the order "session's staff member, then the new one",
    A→B and B→A at once (or A→B against a booking with B) would each hold one and wait
    for the other; in id order they queue. A batch (`reassign_all`, `cancel_all`) locks
    all its staff members, then all its students, each in id order, before the first
    session, so its per-session locks are held already and the order stays the same.
    A session reassigned while this request waited for the locks has another staff
    member now, whose lock it does not hold: the move is refused.
    """
    staff_ids: set[int | None] = {staff_id, new_staff_id}
    if refunds:
        staff_ids |= _waiting_staff(session, student_id)
    _lock_people(session, staff_ids, (student_id,))
    if ts is not None:
        # The row lock and the session read again, in one statement of its own: not
        # `refresh(with_for_update=…)`, which replays how the session was loaded, and a
        # session loaded with its people (`session_lists`) would lock outer joins, which
        # PostgreSQL refuses.
        # Its student, staff member and category (never missing) come in the same
        # statement, by inner joins whose rows are not locked: what the verb and its
        # e-mails read next.
        # The rows are read (and `ts` brought up to date) as they are fetched.
        session.scalars(_locked_read(), {"locked_id": ts.id}).one()
        if ts.staff_id != staff_id:
            raise DomainError("This session was just given to another staff member; open it again.")


@cache
def _locked_read() -> Select[TutoringSession]:
    """`_lock_for_change`'s read of the session under its row lock, built once."""
    return (
        select(TutoringSession)
        .where(TutoringSession.id == bindparam("locked_id"))
        .options(
            joinedload(TutoringSession.student, innerjoin=True),
            joinedload(TutoringSession.staff, innerjoin=True),
            joinedload(TutoringSession.category, innerjoin=True),
        )
        .with_for_update(key_share=True, of=TutoringSession)
        .execution_options(populate_existing=True)
    )


@lru_cache(maxsize=64)
def _near_statement(
    statuses: tuple[str, ...], excludes_one: bool, excludes_some: bool, in_group: bool
) -> Select[TutoringSession]:
    """`_check_overlap`'s candidates, built once per shape (every booking, proposal and
    move asks it) with the times and people as parameters."""
    near = (
        select(TutoringSession)
        .join(TutoringSession.category)
        .where(
            TutoringSession.status.in_(statuses),
            TutoringSession.starts_at < bindparam("near_before"),
            TutoringSession.ends_at > bindparam("near_after"),
            # No session lasts longer than MAX_DURATION: this bound lets the index on
            # (staff_id, starts_at) skip everyone's past sessions.
            TutoringSession.starts_at > bindparam("near_since"),
            or_(
                TutoringSession.staff_id == bindparam("near_staff"),
                TutoringSession.student_id == bindparam("near_student"),
            ),
        )
        .options(contains_eager(TutoringSession.category))
        .order_by(TutoringSession.starts_at)
    )
    if excludes_one:
        near = near.where(TutoringSession.id != bindparam("near_exclude"))
    if excludes_some:  # sessions that move together (a series' following occurrences)
        near = near.where(TutoringSession.id.not_in(bindparam("near_excluded", expanding=True)))
    if in_group:
        near = near.where(
            or_(
                TutoringSession.group_id.is_(None),
                TutoringSession.group_id != bindparam("near_group"),
            )
        )
    return near


def _check_overlap(
    session: Session,
    tenant: Tenant,
    *,
    staff_id: int,
    student_id: int,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
    exclude_ids: Collection[int] = (),
    statuses: Sequence[str] = OPEN_STATUSES,
    category: SessionCategory | None = None,
    group_id: int | None = None,
) -> None:
    # Rule 7, and the buffers of design §11 for the staff member: the candidates are the
    # sessions within the longest buffer either side; `buffers_clash` decides. The other
    # participations of the same group session (`group_id`) are the same time of the
    # staff member, not a clash.
    reach = timedelta(minutes=MAX_BUFFER_MINUTES)
    near = _near_statement(
        tuple(statuses), exclude_id is not None, bool(exclude_ids), group_id is not None
    )
    params: dict[str, object] = {
        "near_before": ends_at + reach,
        "near_after": starts_at - reach,
        "near_since": starts_at - timedelta(minutes=MAX_DURATION) - reach,
        "near_staff": staff_id,
        "near_student": student_id,
        "near_exclude": exclude_id,
        "near_excluded": list(exclude_ids),
        "near_group": group_id,
    }
    buffers = category.buffers if category is not None else NO_BUFFERS
    other = next(
        (
            row
            for row in session.scalars(near, params)
            if (
                row.staff_id == staff_id
                and buffers_clash(
                    starts_at, ends_at, buffers, row.starts_at, row.ends_at, row.category.buffers
                )
            )
            or (row.starts_at < ends_at and row.ends_at > starts_at)
        ),
        None,
    )
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
        f"Not enough hours: {student.first_name} has {hours.hours_phrase(left)} of "
        f"{Service(ts.service).label} left and this session needs "
        f"{hours.hours_phrase(minutes)}. {renewal}; nothing was booked."
    )


def _debit(
    session: Session, tenant: Tenant, actor: User | None, ts: TutoringSession, note: str = ""
) -> None:
    on = local_date(tenant, ts.starts_at)
    for package in payable_packages(session, ts.student_id, ts.service, on, ts.duration_minutes):
        change = hours.debit_for_session(
            session, package.id, ts, ts.duration_minutes, actor, note=note
        )
        if change is not None:  # another request may have drained it a moment ago
            ts.package = package  # the relationship too: the page names it next
            ts.charged_minutes = ts.duration_minutes
            session.flush()
            hours_mail.after_debit(
                session, tenant, package, change, sells_online=business.sells_online(tenant)
            )
            return
    raise _not_enough(session, tenant, ts, ts.duration_minutes)


def pick_package(
    packages: list[Package],
    ts: TutoringSession,
    on: date,
    spent: Mapping[int, int] | None = None,
) -> tuple[Package | None, int]:
    """Rule 5 over packages already loaded (oldest first): the one that would pay for
    `ts`, and the minutes its student could use that day. The same rule as
    `payable_packages` (`Package.usable_on`), so a page can preview many sessions
    without a query each. `spent`: minutes of each package (by id) already promised to
    sessions earlier in the same preview (a series, occurrence by occurrence)."""
    spent = spent or {}
    usable = [
        p
        for p in packages
        if p.student_id == ts.student_id and p.service == ts.service and p.usable_on(on)
    ]
    left = {p.id: p.remaining_minutes - spent.get(p.id, 0) for p in usable}
    payer = next((p for p in usable if left[p.id] >= ts.duration_minutes), None)
    return payer, sum(left.values())


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
    """Change the status only if it is still one of `allowed` (one winner under races).

    `ts` takes the new values from the UPDATE's RETURNING (no second read); what it had
    loaded of its people and category stays, except a relationship whose key changed."""
    # Every change is a new version of the session's calendar invitation (RFC 5545).
    changes = {"status": to, "ical_sequence": TutoringSession.ical_sequence + 1, **values}
    row = session.execute(
        update(TutoringSession)
        .where(TutoringSession.id == ts.id, TutoringSession.status.in_(allowed))
        .values(changes)
        .returning(*(getattr(TutoringSession, key) for key in changes))
        .execution_options(synchronize_session=False, **SYNCHRONIZED_BY_CALLER)
    ).one_or_none()
    if row is None:
        session.refresh(ts)
        raise DomainError(_refusal(ts.status, to))
    for key, value in zip(changes, row, strict=True):
        set_committed_value(ts, key, value)
    stale = [
        rel.key
        for rel in inspect(TutoringSession).relationships
        if any(column.key in changes for column in rel.local_columns)
    ]
    if stale:
        session.expire(ts, stale)


def _refusal(current: str, wanted: str) -> str:
    # A request that lost the race: the session moved on since `lifecycle.check` passed.
    verbs: dict[str, str] = {
        SessionStatus.UPCOMING: "accepted",
        SessionStatus.CANCELLED: "cancelled",
        SessionStatus.DECLINED: "declined",
        SessionStatus.COMPLETED: "completed",
    }
    return wrong_status(current, verbs.get(wanted, "changed"))


def _first_link(category: SessionCategory | None, staff: User) -> str | None:
    # Design §11: a Virtual Meeting session starts with its staff member's default link.
    return staff.default_meeting_link if category is not None and category.is_virtual else None


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
    category: SessionCategory | None,
    subject: Subject | None,
    group: SessionGroup | None = None,
    by_family: bool = True,
) -> TutoringSession:
    """A new session (booked, proposed or joined) after the checks every way of making
    one shares. `by_family=False`: an upcoming session the business books for a family
    (`book_for_family`), held to the staff member's hours rather than the open slots."""
    service = Service(service)
    check_duration(duration_minutes)
    _check_future(starts_at, now)
    _check_staff(session, staff, service)
    choice = categories.check_choice(session, category, subject, staff)
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    _lock_for_change(session, staff.id, student.id)
    if status == SessionStatus.UPCOMING and group is None and not by_family:
        # The business books for a family: the staff member's hours and time off, not
        # the open slots it offers families (notice, horizon, step).
        availability.check_business_booking(
            session,
            tenant,
            staff=staff,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
        )
    elif status == SessionStatus.UPCOMING and group is None:
        # A family books an open slot only (a seat in a group session: `join_group`).
        # Checked after the locks, in the transaction that debits: a slot taken a moment
        # ago by another family is seen here. (So is the business's check above.)
        availability.check_family_booking(
            session,
            tenant,
            staff=staff,
            student=student,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            now=now,
            buffers=choice.category.buffers,
        )
    _check_overlap(
        session,
        tenant,
        staff_id=staff.id,
        student_id=student.id,
        starts_at=starts_at,
        ends_at=ends_at,
        category=choice.category,
        group_id=group.id if group is not None else None,
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
        booked_by_family=status == SessionStatus.UPCOMING and by_family,
        category=choice.category,
        subject=choice.subject,
        meeting_link=_first_link(choice.category, staff),
        group=group,
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
    category: SessionCategory | None = None,
    subject: Subject | None = None,
    now: datetime | None = None,
) -> TutoringSession:
    """Rule 1: a family books → UPCOMING at once, and the hours are debited now."""
    _check_family_actor(actor, student)
    return _book(
        session,
        tenant,
        actor,
        student=student,
        staff=staff,
        service=service,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        category=category,
        subject=subject,
        now=now or utcnow(),
        by_family=True,
    )


def book_for_family(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    student: Student,
    staff: User,
    service: str,
    starts_at: datetime,
    duration_minutes: int,
    category: SessionCategory | None = None,
    subject: Subject | None = None,
    now: datetime | None = None,
) -> TutoringSession:
    """Rule 1 made by the business: an admin books for a family (a booking taken on the
    phone) → UPCOMING at once, the hours debited now with the admin as the actor.

    The checks of a family booking, except what the business asks of families: it may
    book inside the minimum notice, past the horizon and off the step of the open
    times, but not outside the staff member's working hours or in their time off
    (`availability.check_business_booking`), nor over another session. It needs no
    confirming (rule 9 is for the family's own bookings)."""
    if actor.role != Role.ADMIN:
        raise NotFound("only admins book for a family")
    return _book(
        session,
        tenant,
        actor,
        student=student,
        staff=staff,
        service=service,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        category=category,
        subject=subject,
        now=now or utcnow(),
        by_family=False,
    )


def _book(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    student: Student,
    staff: User,
    service: str,
    starts_at: datetime,
    duration_minutes: int,
    category: SessionCategory | None,
    subject: Subject | None,
    now: datetime,
    by_family: bool,
) -> TutoringSession:
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
        now=now,
        category=category,
        subject=subject,
        by_family=by_family,
    )
    _debit(session, tenant, actor, ts)
    session_mail.session_booked(session, tenant, ts, by_business=not by_family)
    emit(session, tenant, Event.SESSION_BOOKED, ts)
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
    category: SessionCategory | None = None,
    subject: Subject | None = None,
    now: datetime | None = None,
) -> TutoringSession:
    """Rule 2: staff propose → PENDING; no hours move until the family accepts."""
    _check_proposer(actor, staff)
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
        category=category,
        subject=subject,
    )
    session_mail.session_proposed(session, tenant, ts)
    emit(session, tenant, Event.SESSION_PROPOSED, ts)
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
    _accept(session, tenant, actor, ts, Action.ACCEPT, now or utcnow())


def accept_for_family(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    now: datetime | None = None,
) -> None:
    """Rule 2 answered by the business: an admin accepts a proposal for the family (who
    said yes on the phone) → UPCOMING, the hours debited now with the admin as the
    actor. Who may is the lifecycle's ACCEPT_FOR_FAMILY row."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    _accept(session, tenant, actor, ts, Action.ACCEPT_FOR_FAMILY, now or utcnow())


def _accept(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    action: Action,
    now: datetime,
) -> None:
    """The accept path after the locks: the table's row for `action`, the status, the
    debit, the e-mails."""
    check(ts, actor, action, now)
    _move(session, ts, (SessionStatus.PENDING,), SessionStatus.UPCOMING)
    _debit(session, tenant, actor, ts)  # raising here rolls the status back too
    session_mail.session_accepted(
        session, tenant, ts, by_business=action == Action.ACCEPT_FOR_FAMILY
    )
    emit(session, tenant, Event.SESSION_ACCEPTED, ts)


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


class CostChanged(DomainError):
    """The cost of a late cancellation is not the one the family confirmed (the window
    or the month's free cancellations changed since the page was shown)."""


def cancel_session(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    reason: str = "",
    *,
    notify: bool = True,
    now: datetime | None = None,
    apply_policy: bool = False,
    expected_kept: int | None = None,
) -> cancellation.Cost | None:
    """Rule 3: cancelling refunds any hours the session holds, to the same package; the
    other side is told by e-mail (unless the caller tells them itself). Families cancel
    until the session starts, staff until attendance is recorded (`lifecycle.TABLE`).
    Hours that come back go to the student's occurrences waiting for them (§10).

    Design §12: a family's cancellation always goes by the business's cancellation
    policy (`prepbase.cancellation`), which may keep part of the hours of a late one;
    staff and admins refund all unless they choose `apply_policy`. `expected_kept`: the
    minutes the family was shown and confirmed; any other cost now is refused
    (`CostChanged`) so that nobody pays what they did not see. Returns the cost applied,
    or None when the policy did not apply."""
    now = now or utcnow()
    _lock_for_change(session, ts.staff_id, ts.student_id, ts, refunds=True)
    _check_actor(actor, ts)
    check(ts, actor, Action.CANCEL, now)
    cost = None
    if apply_policy or actor.role not in STAFF_ROLES:
        cost = cancellation.cost_of(session, tenant, ts, now)
        if expected_kept is not None and cost.kept != expected_kept:
            raise CostChanged(
                f"The cost of cancelling has changed since the page was shown: "
                f"{cost.sentence(ts.student.first_name)} Nothing was cancelled."
            )
    refunded = _cancel_locked(session, actor, ts, reason, cost)
    if notify:
        session_mail.session_cancelled(session, tenant, actor, ts)
    if refunded:
        fill_waiting(session, tenant, ts.student_id, ts.service, actor, now, locks_held=True)
    return cost


def _check_actor(actor: User, ts: TutoringSession) -> None:
    if actor.role in STAFF_ROLES:
        _check_staff_actor(actor, ts)
    else:
        _check_family_actor(actor, ts.student)


def _cancel_locked(
    session: Session,
    actor: User,
    ts: TutoringSession,
    reason: str,
    cost: cancellation.Cost | None = None,
) -> int:
    """Rule 3 on a session its caller has locked and checked: CANCELLED, and the hours it
    holds back to the package that paid. Returns the minutes refunded.

    Under a late-cancellation cost (§12) the session first gets all its hours back (one
    Refund entry, as rule 3 says), then a Late cancellation entry takes the kept share
    again, linked to the session, which goes on holding those minutes."""
    late = cost is not None and cost.late
    _move(
        session,
        ts,
        STILL_TO_COME,
        SessionStatus.CANCELLED,
        cancelled_at=utcnow(),
        cancelled_by_id=actor.id,
        cancel_reason=reason.strip() or None,
        cancelled_late=late,
    )
    refunded = 0
    if ts.package_id is not None and ts.charged_minutes:
        refunded = ts.charged_minutes
        hours.refund_for_session(
            session, ts.package_id, ts, ts.charged_minutes, actor, note="Session cancelled"
        )
        ts.charged_minutes = 0
        kept = cost.kept if cost is not None else 0
        if kept:
            hours.keep_for_late_cancellation(
                session, ts.package_id, ts, kept, actor, note=_kept_note(cost)
            )
            ts.charged_minutes = kept
            refunded -= kept
        session.flush()
    emit_in_scope(session, Event.SESSION_CANCELLED, ts)
    return refunded


def _kept_note(cost: cancellation.Cost | None) -> str:
    assert cost is not None
    policy = cost.policy
    return (
        f"Cancelled less than {policy.window_hours} hours before the start: "
        f"{policy.keep_percent}% of {hours.hours_phrase(cost.charged)} kept"
    )


def waive_late_cancellation(
    session: Session, tenant: Tenant, actor: User, ts: TutoringSession, note: str
) -> int:
    """Design §12: an admin gives back what a late cancellation kept, with a note (a
    Waiver entry on the same package; the Late cancellation entry stays, so the history
    shows both). Returns the minutes given back."""
    if actor.role != Role.ADMIN:
        raise DomainError("Only admins can waive a late-cancellation charge.")
    note = (note or "").strip()
    if not note:
        raise DomainError("Say why the charge is waived: the note is required.", field="note")
    _lock_for_change(session, ts.staff_id, ts.student_id, ts, refunds=True)
    kept = hours.late_cancellation_kept(session, ts)
    if ts.status != SessionStatus.CANCELLED or not kept or ts.package_id is None:
        raise DomainError("This session has no late-cancellation charge to waive.")
    hours.waive_for_session(session, ts.package_id, ts, kept, actor, note=note)
    ts.charged_minutes = 0
    session.flush()
    fill_waiting(session, tenant, ts.student_id, ts.service, actor, utcnow(), locks_held=True)
    return kept


# --- proposals that expire (design §12) ---------------------------------------------------
#
# A proposal the family leaves unanswered expires: DECLINED with the reason "expired", no
# hours moved (a proposal holds none), its time free again. It expires when the business's
# `proposal_expiry_hours` have passed since it was proposed (0: never by age), or at once
# when its start passes. The family is reminded once, halfway to that moment. Expiry is
# nobody's move (like `fill_waiting`), so it has no row in `lifecycle.TABLE`; it runs
# from `flask prepbase expire` and takes the same locks, in the same order, as a family's
# Accept, so of the two exactly one wins.

EXPIRED = "expired"


def proposal_deadline(tenant: Tenant, ts: TutoringSession) -> datetime:
    """When a pending proposal expires: its start, or earlier by the business's setting."""
    if not tenant.proposal_expiry_hours:
        return ts.starts_at
    return min(ts.starts_at, ts.created_at + timedelta(hours=tenant.proposal_expiry_hours))


def proposal_halfway(tenant: Tenant, ts: TutoringSession) -> datetime | None:
    """When the family is reminded of an unanswered proposal (None: never, the setting
    is 0 and only its start would end it)."""
    if not tenant.proposal_expiry_hours:
        return None
    return ts.created_at + (proposal_deadline(tenant, ts) - ts.created_at) / 2


@dataclass
class ExpiryReport:
    """What one run of the expiry job did for one business."""

    reminded: int = 0
    expired: int = 0


def expire_proposal(session: Session, tenant: Tenant, ts: TutoringSession, now: datetime) -> bool:
    """Expire one pending proposal whose deadline passed; False when it was answered (or
    expired by another host) in the meantime. The staff member is told."""
    _lock_for_change(session, ts.staff_id, ts.student_id, ts)
    if ts.status != SessionStatus.PENDING or proposal_deadline(tenant, ts) > now:
        return False
    _move(
        session,
        ts,
        (SessionStatus.PENDING,),
        SessionStatus.DECLINED,
        declined_at=now,
        declined_reason=EXPIRED,
    )
    session_mail.proposal_expired(session, tenant, ts)
    return True


def _claim_proposal_reminder(session: Session, ts_id: int, now: datetime) -> bool:
    """One host, once: the conditional UPDATE decides (PostgreSQL's row lock makes a
    second host wait, then match nothing)."""
    updated = session.execute(
        update(TutoringSession)
        .where(
            TutoringSession.id == ts_id,
            TutoringSession.status == SessionStatus.PENDING,
            TutoringSession.proposal_reminder_sent_at.is_(None),
        )
        .values(proposal_reminder_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], updated).rowcount)


def expire_proposals(session: Session, tenant: Tenant, now: datetime | None = None) -> ExpiryReport:
    """The business's unanswered proposals: expire those past their deadline, remind the
    family of those past halfway. Commits once per proposal (its change and its e-mail
    together), so the job can stop anywhere and run on several hosts at once."""
    now = now or utcnow()
    pending = list(
        session.scalars(
            select(TutoringSession)
            .where(TutoringSession.status == SessionStatus.PENDING)
            .order_by(TutoringSession.starts_at, TutoringSession.id)
        )
    )
    session.commit()
    report = ExpiryReport()
    for ts in pending:
        if proposal_deadline(tenant, ts) <= now:
            try:
                expired = expire_proposal(session, tenant, ts, now)
            except DomainError:  # reassigned meanwhile: the next run sees it as it is
                session.rollback()
                continue
            report.expired += expired
        else:
            halfway = proposal_halfway(tenant, ts)
            if (
                halfway is not None
                and halfway <= now
                and ts.proposal_reminder_sent_at is None
                and _claim_proposal_reminder(session, ts.id, now)
            ):
                session.refresh(ts)
                session_mail.proposal_expiring(session, tenant, ts, proposal_deadline(tenant, ts))
                report.reminded += 1
        session.commit()
    if report.expired or report.reminded:
        log.info(
            "business %s: %s proposal(s) expired, %s reminded",
            tenant.slug,
            report.expired,
            report.reminded,
        )
    return report


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
    _lock_for_change(session, ts.staff_id, ts.student_id, ts, refunds=True)
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
    """Rule 6: an upcoming session's new length debits or refunds the difference (hours
    that come back go to occurrences waiting for them, §10)."""
    now = now or utcnow()
    _lock_for_change(session, ts.staff_id, ts.student_id, ts, refunds=True)
    _check_staff_actor(actor, ts)
    check_duration(minutes)
    check(ts, actor, Action.CHANGE_DURATION, now)
    ends_at = ts.starts_at + timedelta(minutes=minutes)
    _check_overlap(
        session,
        tenant,
        staff_id=ts.staff_id,
        student_id=ts.student_id,
        starts_at=ts.starts_at,
        ends_at=ends_at,
        exclude_id=ts.id,
        category=ts.category,
    )
    diff = minutes - ts.duration_minutes
    if ts.status == SessionStatus.UPCOMING and ts.package_id is not None and diff:
        if diff > 0:
            change = hours.debit_for_session(session, ts.package_id, ts, diff, actor)
            if change is None:  # a session stays on the package that paid for it
                package = session.scalars(select(Package).where(Package.id == ts.package_id)).one()
                raise NotEnoughHours(
                    f"{package.name} has {hours.hours_phrase(package.remaining_minutes)} "
                    f"left; {hours.hours_phrase(diff)} more are needed to lengthen this session.",
                    field="duration",
                )
            assert ts.package is not None  # its package_id is set
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
    ts.ical_sequence += 1
    session.flush()
    if diff < 0 and ts.status == SessionStatus.UPCOMING and ts.package_id is not None:
        fill_waiting(session, tenant, ts.student_id, ts.service, actor, now, locks_held=True)


def reschedule(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    starts_at: datetime,
    now: datetime | None = None,
) -> None:
    """Rule 6: moving a session in time moves no hours. A participation moves with its
    whole group (`reschedule_group`)."""
    if ts.group is not None:
        reschedule_group(session, tenant, actor, ts.group, starts_at, now)
        return
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
        category=ts.category,
    )
    ts.starts_at = starts_at
    ts.ends_at = ends_at
    ts.reminder_sent_at = None  # a reminder is due again before the new time
    ts.ical_sequence += 1
    session.flush()
    session_mail.session_moved(session, tenant, actor, ts)


def take_attendance(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    attendance: str,
    now: datetime | None = None,
) -> None:
    """Rule 4: present / late / absent. An absent student still uses the hours, unless
    the business's cancellation policy says a no-show does not (§12): then they go back
    to the package that paid, with the attendance."""
    absent = attendance == Attendance.ABSENT
    _lock_for_change(session, ts.staff_id, ts.student_id, ts, refunds=absent)
    _check_staff_actor(actor, ts)
    now = now or utcnow()
    check(ts, actor, Action.TAKE_ATTENDANCE, now)
    ts.attendance = Attendance(attendance)
    ts.attendance_at = utcnow()
    session.flush()
    refunded = 0
    if (
        absent
        and not cancellation.policy_for(tenant, ts).no_show_uses_hours
        and ts.package_id is not None
        and ts.charged_minutes
    ):
        refunded = ts.charged_minutes
        hours.refund_for_session(
            session, ts.package_id, ts, refunded, actor, note="No-show: the policy uses no hours"
        )
        ts.charged_minutes = 0
        session.flush()
    _complete_if_ready(session, ts)
    if refunded:
        fill_waiting(session, tenant, ts.student_id, ts.service, actor, now, locks_held=True)


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
    """Rule 4: the staff member's action plan; with attendance it completes the session.
    A participation's plan is its group's (one plan per session, `submit_group_plan`)."""
    if ts.group is not None:
        submit_group_plan(
            session,
            tenant,
            actor,
            ts.group,
            topics=topics,
            goals=goals,
            next_steps=next_steps,
            now=now,
        )
        return
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
    if ts.group_id is not None:
        _complete_group_if_ready(session, ts.group_id)
        return
    if ts.attendance and ts.plan_submitted_at:
        _move(
            session, ts, (SessionStatus.UPCOMING,), SessionStatus.COMPLETED, completed_at=utcnow()
        )
        emit_in_scope(session, Event.SESSION_COMPLETED, ts)


# --- weekly series (design §10) ------------------------------------------------------------
#
# A series is a rule (`prepbase.series`) that makes ordinary sessions, one per occurrence:
# every rule above applies to each on its own. What is new: many sessions are decided at
# once (one lock of the people, one load of the schedule and the packages), a person sees
# what would happen before it does (a `SeriesPlan`, confirmed by its fingerprint), and an
# occurrence no package can pay for waits for hours instead of being refused
# (`SessionStatus.WAITING`: it holds no hours and reserves no time) until `fill_waiting`
# pays it when hours arrive.


def _waiting_staff(session: Session, student_id: int) -> set[int]:
    """The staff members of the student's occurrences waiting for hours."""
    return set(
        session.scalars(
            select(TutoringSession.staff_id)
            .where(
                TutoringSession.student_id == student_id,
                TutoringSession.status == SessionStatus.WAITING,
            )
            .distinct()
        )
    )


def _series_packages(session: Session, student_id: int, service: str) -> list[Package]:
    """The student's packages of the service, oldest first, for `pick_package`."""
    return list(
        session.scalars(
            select(Package)
            .where(Package.student_id == student_id, Package.service == service)
            .order_by(Package.start_date, Package.id)
        )
    )


def _occurrence_start(tenant: Tenant, day: date, at: time) -> tuple[datetime | None, str | None]:
    """The instant of a wall-clock time on `day`, or why there is none (DST skips it)."""
    try:
        return local_to_utc(tenant, day, at), None
    except DomainError:
        return None, "That time does not exist that day (the clocks change); it is left out."


def _paying(
    packages: list[Package],
    spent: dict[int, int],
    student_id: int,
    service: str,
    minutes: int,
    day: date,
) -> Package | None:
    """Rule 5 for the next occurrence of a plan (`pick_package`), minding the minutes
    the earlier ones were promised; the payer's promise is added to `spent`."""
    probe = TutoringSession(student_id=student_id, service=service, duration_minutes=minutes)
    payer, _left = pick_package(packages, probe, day, spent)
    if payer is not None:
        spent[payer.id] = spent.get(payer.id, 0) + minutes
    return payer


def _plan_new(
    session: Session, tenant: Tenant, new: NewSeries, *, by_family: bool, now: datetime
) -> SeriesPlan:
    """Each occurrence of the rule checked like a single session: a family's like a
    booking (working hours, time off, overlaps, notice, horizon: `Schedule.family_refusal`)
    and paid by rule 5 or left waiting; staff's like a proposal (ahead, no overlap;
    outside working hours only noted). Two queries for the schedule, however many
    occurrences, and one for the packages."""
    days = occurrence_days(new.rule)
    schedule = availability.load_schedule(
        session,
        tenant,
        new.staff.id,
        first_day=days[0],
        last_day=days[-1],
        student=new.student,
        service=new.service,
        buffers=new.category.buffers if new.category is not None else NO_BUFFERS,
    )
    if schedule is None:
        raise DomainError(
            f"{new.staff.name} does not offer {Service(new.service).label}.", field="staff"
        )
    packages = _series_packages(session, new.student.id, new.service) if by_family else []
    spent: dict[int, int] = {}
    length = timedelta(minutes=new.duration_minutes)
    made: list[Occurrence] = []
    last_end: datetime | None = None
    for day in days:
        starts_at, refusal = _occurrence_start(tenant, day, new.rule.start)
        note = None
        if starts_at is not None:
            if by_family:
                refusal = schedule.family_refusal(starts_at, new.duration_minutes, now)
            elif starts_at <= now:
                refusal = "That time has passed."
            else:
                refusal = schedule.clash(starts_at, starts_at + length)
                note = schedule.outside_hours_note(starts_at, starts_at + length)
            if refusal is None and last_end is not None and starts_at < last_end:
                refusal = "It overlaps the series' session before it."
        if refusal is not None or starts_at is None:
            made.append(Occurrence(day, starts_at, Outcome.SKIP, note=refusal))
            continue
        last_end = starts_at + length
        if not by_family:
            made.append(Occurrence(day, starts_at, Outcome.BOOK, note=note))
            continue
        payer = _paying(packages, spent, new.student.id, new.service, new.duration_minutes, day)
        outcome = Outcome.BOOK if payer is not None else Outcome.WAIT
        made.append(Occurrence(day, starts_at, outcome, package=payer))
    return SeriesPlan(new.rule.rhythm, new.duration_minutes, tuple(made))


def _confirmed(plan: SeriesPlan, expected: str | None) -> SeriesPlan:
    """The plan, if it makes any session and is the one the person saw (`expected`)."""
    if expected is not None and expected != plan.fingerprint:
        raise PlanChanged(plan)
    if not plan.kept:
        raise DomainError(
            "None of these times is free: choose another time or other days.", field="start_time"
        )
    return plan


def _checked(session: Session, new: NewSeries) -> NewSeries:
    """The series' staff member offers its service (`_check_staff`), its length is a
    session's; the service as a `Service`."""
    check_duration(new.duration_minutes)
    _check_staff(session, new.staff, Service(new.service))
    choice = categories.check_choice(session, new.category, new.subject, new.staff)
    return replace(
        new, service=Service(new.service), category=choice.category, subject=choice.subject
    )


def plan_booking_series(
    session: Session, tenant: Tenant, actor: User, new: NewSeries, now: datetime | None = None
) -> SeriesPlan:
    """What a family booking this series would get (the preview before confirming): the
    occurrences booked and the package paying each (earliest first, rule 5), those that
    would wait for hours, and those that are not free (and why)."""
    _check_family_actor(actor, new.student)
    return _plan_new(session, tenant, _checked(session, new), by_family=True, now=now or utcnow())


def _make_series(
    session: Session, actor: User, plan: SeriesPlan, new: NewSeries, *, by_family: bool
) -> tuple[SessionSeries, list[TutoringSession]]:
    """The series row and one session per kept occurrence (its status by its outcome)."""
    kept = plan.kept
    series = SessionSeries(
        student=new.student,
        staff=new.staff,
        service=new.service,
        every_weeks=new.rule.every_weeks,
        weekdays=new.rule.mask,
        start_minute=new.rule.start_minute,
        duration_minutes=new.duration_minutes,
        first_day=kept[0].day,
        until=new.rule.until,
        count=new.rule.count,
        occurrences=len(kept),
        booked_by_family=by_family,
        created_by_id=actor.id,
        category=new.category,
        subject=new.subject,
    )
    session.add(series)
    made = []
    for position, occurrence in enumerate(kept, start=1):
        assert occurrence.starts_at is not None  # kept occurrences have a time
        if not by_family:
            status = SessionStatus.PENDING
        elif occurrence.outcome == Outcome.BOOK:
            status = SessionStatus.UPCOMING
        else:
            status = SessionStatus.WAITING
        ts = TutoringSession(
            student=new.student,
            staff=new.staff,
            service=new.service,
            starts_at=occurrence.starts_at,
            ends_at=occurrence.starts_at + timedelta(minutes=new.duration_minutes),
            duration_minutes=new.duration_minutes,
            status=status,
            scheduled_by=actor,
            booked_by_family=by_family,
            series=series,
            series_position=position,
            category=new.category,
            subject=new.subject,
            meeting_link=_first_link(new.category, new.staff),
        )
        session.add(ts)
        made.append(ts)
    session.flush()
    return series, made


def book_series(
    session: Session,
    tenant: Tenant,
    actor: User,
    new: NewSeries,
    expected: str | None = None,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """Design §10 with rule 1 per occurrence: a family books a weekly series. Each free
    occurrence is UPCOMING and debited now, earliest first, from the package rule 5
    picks; one no package can pay is kept Waiting for hours; one that is not free is not
    made. `expected` is the fingerprint of the plan the family confirmed: if the plan
    differs now (`PlanChanged`), nothing is booked."""
    now = now or utcnow()
    _check_family_actor(actor, new.student)
    new = _checked(session, new)
    # Every occurrence is checked after the locks, in the transaction that debits: a
    # time another family took a moment ago is seen here, as for one booking.
    _lock_for_change(session, new.staff.id, new.student.id)
    plan = _confirmed(_plan_new(session, tenant, new, by_family=True, now=now), expected)
    series, made = _make_series(session, actor, plan, new, by_family=True)
    for ts in made:
        if ts.status == SessionStatus.UPCOMING:
            _debit(session, tenant, actor, ts)
            emit(session, tenant, Event.SESSION_BOOKED, ts)
    return made


def plan_proposed_series(
    session: Session, tenant: Tenant, actor: User, new: NewSeries, now: datetime | None = None
) -> SeriesPlan:
    """What proposing this series would do (the staff's preview): the occurrences
    proposed (with a note when outside working hours) and those not free (rule 7)."""
    _check_proposer(actor, new.staff)
    return _plan_new(session, tenant, _checked(session, new), by_family=False, now=now or utcnow())


def _check_proposer(actor: User, staff: User) -> None:
    """Who may propose for whom (one session, a series, a group): staff for themselves,
    admins for anyone."""
    if actor.role not in STAFF_ROLES:
        raise NotFound("only staff propose sessions")
    if actor.role != Role.ADMIN and staff.id != actor.id:
        raise DomainError("You can propose sessions for yourself only.", field="staff")


def propose_series(
    session: Session,
    tenant: Tenant,
    actor: User,
    new: NewSeries,
    expected: str | None = None,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """Design §10 with rule 2 per occurrence: staff propose a weekly series; each free
    occurrence is PENDING (no hours move until the family accepts), and the family is
    e-mailed once for the series."""
    now = now or utcnow()
    _check_proposer(actor, new.staff)
    new = _checked(session, new)
    _lock_for_change(session, new.staff.id, new.student.id)
    plan = _confirmed(_plan_new(session, tenant, new, by_family=False, now=now), expected)
    series, made = _make_series(session, actor, plan, new, by_family=False)
    series_mail.series_proposed(session, tenant, series, made)
    for ts in made:
        emit(session, tenant, Event.SESSION_PROPOSED, ts)
    return made


def _series_sessions(
    session: Session,
    series_id: int,
    statuses: Sequence[str],
    *,
    from_position: int = 1,
) -> list[TutoringSession]:
    """The series' sessions of these statuses from a position on, in series order; read
    afresh (`populate_existing`), for a caller that holds the locks."""
    return list(
        session.scalars(
            select(TutoringSession)
            .where(
                TutoringSession.series_id == series_id,
                TutoringSession.status.in_(statuses),
                TutoringSession.series_position >= from_position,
            )
            .order_by(TutoringSession.series_position, TutoringSession.id)
            .execution_options(populate_existing=True)
        )
    )


def _plan_acceptance(
    session: Session, tenant: Tenant, series: SessionSeries, proposals: list[TutoringSession]
) -> SeriesPlan:
    """Each proposal paid by rule 5, earliest first (`pick_package`), or left waiting."""
    packages = _series_packages(session, series.student_id, series.service)
    spent: dict[int, int] = {}
    made = []
    for ts in proposals:
        day = local_date(tenant, ts.starts_at)
        payer = _paying(packages, spent, ts.student_id, ts.service, ts.duration_minutes, day)
        outcome = Outcome.BOOK if payer is not None else Outcome.WAIT
        made.append(Occurrence(day, ts.starts_at, outcome, package=payer, session=ts))
    return SeriesPlan(series.rhythm, series.duration_minutes, tuple(made))


def _open_proposals(session: Session, ts: TutoringSession, now: datetime) -> list[TutoringSession]:
    # Proposals whose time has passed are not accepted (the lifecycle's ACCEPT row).
    assert ts.series_id is not None
    return [
        p
        for p in _series_sessions(session, ts.series_id, (SessionStatus.PENDING,))
        if p.starts_at > now
    ]


def plan_series_acceptance(
    session: Session, tenant: Tenant, actor: User, ts: TutoringSession, now: datetime | None = None
) -> SeriesPlan:
    """What accepting the series of `ts` would do (the preview before confirming): each
    proposal still to come paid by rule 5, earliest first, or left waiting for hours."""
    now = now or utcnow()
    _check_family_actor(actor, ts.student)
    check(ts, actor, Action.ACCEPT_SERIES, now)
    assert ts.series is not None  # the lifecycle's ACCEPT_SERIES row holds
    return _plan_acceptance(session, tenant, ts.series, _open_proposals(session, ts, now))


def accept_series(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    expected: str | None = None,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """Design §10 with rule 2 per occurrence: the family accepts every proposal of the
    series still to come. Earliest first, each is UPCOMING and debited from the package
    rule 5 picks, or, when none can pay, Waiting for hours (no hours held, its time no
    longer reserved). Refused (`PlanChanged`) when that is not what they confirmed."""
    now = now or utcnow()
    if ts.series_id is None:
        check(ts, actor, Action.ACCEPT_SERIES, now)  # refuses: not in a series
    proposals = _open_proposals(session, ts, now)
    _lock_people(session, {p.staff_id for p in proposals} | {ts.staff_id}, (ts.student_id,))
    session.refresh(ts, with_for_update={"key_share": True})
    _check_family_actor(actor, ts.student)
    check(ts, actor, Action.ACCEPT_SERIES, now)
    assert ts.series is not None
    plan = _confirmed(
        _plan_acceptance(session, tenant, ts.series, _open_proposals(session, ts, now)), expected
    )
    answered = []
    for occurrence in plan.occurrences:
        proposal = occurrence.session
        assert proposal is not None
        if occurrence.outcome == Outcome.BOOK:
            _move(session, proposal, (SessionStatus.PENDING,), SessionStatus.UPCOMING)
            _debit(session, tenant, actor, proposal)
        else:
            _move(session, proposal, (SessionStatus.PENDING,), SessionStatus.WAITING)
        emit(session, tenant, Event.SESSION_ACCEPTED, proposal)
        answered.append(proposal)
    return answered


@dataclass
class SeriesChange:
    """What a "this and following" change did."""

    changed: list[TutoringSession] = field(default_factory=list)
    refunded: int = 0  # minutes that went back to packages
    left: list[TutoringSession] = field(default_factory=list)  # that could not change


def _following(session: Session, ts: TutoringSession) -> list[TutoringSession]:
    assert ts.series_id is not None and ts.series_position is not None
    return _series_sessions(session, ts.series_id, STILL_TO_COME, from_position=ts.series_position)


def cancel_following(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    reason: str = "",
    now: datetime | None = None,
) -> SeriesChange:
    """Design §10 with rule 3 per occurrence: cancel this occurrence and the series'
    following ones. Each gives its hours back to the package that paid it; a waiting one
    just cancels; one the actor may not cancel (it took place) is left as it is, and
    completed ones never change. The other side gets one e-mail; the hours that came
    back go to occurrences still waiting for them."""
    now = now or utcnow()
    if ts.series_id is None:
        check(ts, actor, Action.CANCEL_FOLLOWING, now)  # refuses: not in a series
    targets = _following(session, ts)
    staff_ids = (
        {t.staff_id for t in targets} | {ts.staff_id} | _waiting_staff(session, ts.student_id)
    )
    _lock_people(session, staff_ids, (ts.student_id,))
    session.refresh(ts, with_for_update={"key_share": True})
    _check_actor(actor, ts)
    check(ts, actor, Action.CANCEL_FOLLOWING, now)
    change = SeriesChange()
    following = _following(session, ts)
    if actor.role not in STAFF_ROLES:
        _refuse_costly_following(session, tenant, following, now)
    for target in following:
        if Action.CANCEL not in allowed_actions(target, actor, now):
            change.left.append(target)
            continue
        change.refunded += _cancel_locked(session, actor, target, reason)
        change.changed.append(target)
    if change.changed:
        series_mail.series_cancelled(session, tenant, actor, change.changed, reason)
    if change.refunded:
        fill_waiting(session, tenant, ts.student_id, ts.service, actor, now, locks_held=True)
    return change


def _refuse_costly_following(
    session: Session, tenant: Tenant, following: list[TutoringSession], now: datetime
) -> None:
    """A family's "this and following" shows no costs, so it may not cancel a session
    the cancellation policy would charge (§12): that one is cancelled on its own, after
    the family has seen what it keeps."""
    for target in following:
        policy = cancellation.policy_for(tenant, target)
        if cancellation.may_cost(policy, target, now):
            cost = cancellation.cost_of(session, tenant, target, now)
            if cost.kept:
                raise DomainError(
                    f"The session of {format_when(tenant, target.starts_at)} is inside "
                    f"{tenant.name}'s {policy.window_hours}-hour cancellation policy: cancel "
                    "it on its own first to see what it keeps, then cancel the following ones."
                )


def reschedule_following(
    session: Session,
    tenant: Tenant,
    actor: User,
    ts: TutoringSession,
    starts_at: datetime,
    now: datetime | None = None,
) -> SeriesChange:
    """Design §10 with rule 6: move this occurrence to `starts_at` and the series'
    following ones by as many days, to the same new wall-clock time (DST-exact); no hours
    move. Every one is checked first (its time exists, is ahead, overlaps nothing); if
    any cannot move, none does and the message lists them. The moved occurrences become a
    series of their own with the new rule (the earlier ones keep the old)."""
    now = now or utcnow()
    if ts.series_id is None:
        check(ts, actor, Action.RESCHEDULE_FOLLOWING, now)  # refuses: not in a series
    targets = _following(session, ts)
    _lock_people(session, {t.staff_id for t in targets} | {ts.staff_id}, (ts.student_id,))
    session.refresh(ts, with_for_update={"key_share": True})
    _check_staff_actor(actor, ts)
    check(ts, actor, Action.RESCHEDULE_FOLLOWING, now)
    moving = [t for t in _following(session, ts) if t.attendance is None]
    new_local = to_local(tenant, starts_at)
    shift = new_local.date() - local_date(tenant, ts.starts_at)
    moves: list[tuple[TutoringSession, datetime]] = []
    problems: list[str] = []
    for target in moving:
        day = local_date(tenant, target.starts_at) + shift
        at, missing = _occurrence_start(tenant, day, new_local.time())
        if at is None:
            problems.append(f"{_day_text(day)}: {missing}")
            continue
        moves.append((target, at))
    ids = [target.id for target in moving]
    last_end: datetime | None = None
    for target, at in moves:
        ends = at + timedelta(minutes=target.duration_minutes)
        try:
            _check_future(at, now)
            _check_overlap(
                session,
                tenant,
                staff_id=target.staff_id,
                student_id=target.student_id,
                starts_at=at,
                ends_at=ends,
                exclude_ids=ids,
                category=target.category,
            )
            if last_end is not None and at < last_end:
                raise DomainError("It would overlap the series' session before it.")
        except DomainError as exc:
            problems.append(f"{format_when(tenant.timezone, at)}: {exc.message}")
        last_end = ends
    if problems:
        raise DomainError(
            "Nothing was moved. " + " ".join(problems[:5]) + (" …" if len(problems) > 5 else ""),
            field="start_time",
        )
    _split_series(session, tenant, ts, shift.days, new_local.hour * 60 + new_local.minute)
    change = SeriesChange()
    for target, at in moves:
        target.starts_at = at
        target.ical_sequence += 1
        target.ends_at = at + timedelta(minutes=target.duration_minutes)
        target.reminder_sent_at = None  # a reminder is due again before the new time
        change.changed.append(target)
    session.flush()
    return change


def _day_text(day: date) -> str:
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"


def _split_series(
    session: Session, tenant: Tenant, ts: TutoringSession, shift_days: int, start_minute: int
) -> None:
    """The series from `ts` on follows a new rule (`shift_days` later, at `start_minute`):
    the whole series when `ts` is its first session, else a new series that takes `ts`
    and every later session (renumbered from 1), so each rule says when its sessions are."""
    old = ts.series
    assert old is not None and ts.series_position is not None
    weekdays = weekday_mask({(day + shift_days) % 7 for day in weekdays_of(old.weekdays)})
    first_day = local_date(tenant, ts.starts_at) + timedelta(days=shift_days)
    until = old.until + timedelta(days=shift_days) if old.until is not None else None
    if ts.series_position == 1:
        old.weekdays, old.start_minute, old.first_day, old.until = (
            weekdays,
            start_minute,
            first_day,
            until,
        )
        session.flush()
        return
    start = ts.series_position
    new = SessionSeries(
        student_id=old.student_id,
        staff_id=old.staff_id,
        service=old.service,
        every_weeks=old.every_weeks,
        weekdays=weekdays,
        start_minute=start_minute,
        duration_minutes=old.duration_minutes,
        first_day=first_day,
        until=until,
        count=old.occurrences - start + 1 if old.count is not None else None,
        occurrences=old.occurrences - start + 1,
        booked_by_family=old.booked_by_family,
        created_by_id=old.created_by_id,
        category_id=old.category_id,
        subject_id=old.subject_id,
    )
    session.add(new)
    for later in _series_sessions(session, old.id, tuple(SessionStatus), from_position=start):
        assert later.series_position is not None
        later.series = new
        later.series_position -= start - 1
    old.occurrences = start - 1
    if old.count is not None:
        old.count = start - 1
    session.flush()


# --- waiting for hours ------------------------------------------------------------------


@dataclass
class FillReport:
    """What hours arriving did to the occurrences waiting for them."""

    booked: list[TutoringSession] = field(default_factory=list)  # now upcoming, paid
    taken: list[tuple[TutoringSession, str]] = field(default_factory=list)  # and why
    waiting: list[TutoringSession] = field(default_factory=list)  # still no package pays

    @property
    def summary(self) -> str:
        """What happened, for the person who added the hours ("" when nothing did)."""
        parts = []
        if self.booked:
            count = len(self.booked)
            parts.append(
                f"{count} session{'s' if count > 1 else ''} waiting for hours "
                f"{'are' if count > 1 else 'is'} booked now."
            )
        if self.taken:
            count = len(self.taken)
            parts.append(
                f"{count} waiting session{'s' if count > 1 else ''} could not be booked: "
                "the time was taken meanwhile (the family is told)."
            )
        return " ".join(parts)


def _waiting(
    session: Session, student_id: int, service: str, now: datetime
) -> list[TutoringSession]:
    return list(
        session.scalars(
            select(TutoringSession)
            .where(
                TutoringSession.student_id == student_id,
                TutoringSession.service == service,
                TutoringSession.status == SessionStatus.WAITING,
                TutoringSession.starts_at > now,
            )
            .order_by(TutoringSession.starts_at, TutoringSession.id)
            .execution_options(populate_existing=True)
        )
    )


def lock_for_hours(session: Session, student_id: int) -> None:
    """Before hours are added to an existing package of the student (a renewal, an
    adjustment, a package switched back on): take the locks `fill_waiting` will need
    then, in the order every verb takes them, before the package's row is locked; then
    call `fill_waiting(…, locks_held=True)`."""
    _lock_people(session, _waiting_staff(session, student_id), (student_id,))


def _lock_staff_if_free(session: Session, staff_ids: set[int]) -> set[int]:
    """Lock these staff rows where no other transaction holds them (SKIP LOCKED), and
    say which this transaction holds now. For a caller that holds a student's lock
    already: waiting for a staff row after it would break the lock order."""
    return set(
        session.scalars(
            select(User.id)
            .where(User.id.in_(sorted(staff_ids)))
            .order_by(User.id)
            .with_for_update(key_share=True, skip_locked=True)
        )
    )


def fill_waiting(
    session: Session,
    tenant: Tenant,
    student_id: int,
    service: str,
    actor: User | None,
    now: datetime | None = None,
    *,
    locks_held: bool = False,
) -> FillReport:
    """Design §10: hours arrived for the student's `service` (a package added, renewed or
    bought, hours refunded). Their occurrences waiting for hours that are still ahead are
    paid by rule 5, earliest first, each becoming UPCOMING — if its time is still free (no
    overlapping session of the staff member or the student, the staff member not away and
    still teaching it). One whose time was taken stays waiting. The family and the staff
    members are e-mailed when any was booked or found taken.

    Every place that adds hours calls this; the verbs that refund call it themselves.
    `locks_held`: the caller holds the student's lock already, and the staff members'
    it read before (`_lock_for_change(refunds=True)`, `lock_for_hours`). A staff member
    whose occurrence appeared since (a series booked meanwhile) is then locked only if
    free: waiting for them after the student could deadlock. If not free, their
    occurrence stays waiting until hours next arrive (rare: it needs that race)."""
    now = now or utcnow()
    report = FillReport()
    if not _waiting(session, student_id, service, now):
        return report
    if not locks_held:
        lock_for_hours(session, student_id)
    waiting = _waiting(session, student_id, service, now)  # as they are under the locks
    if not waiting:
        return report
    held = _lock_staff_if_free(session, {ts.staff_id for ts in waiting})
    first = local_date(tenant, waiting[0].starts_at)
    last = local_date(tenant, waiting[-1].starts_at)
    schedules: dict[int, availability.Schedule | None] = {}
    for ts in waiting:
        if ts.staff_id not in held:
            log.info("session %s stays waiting: its staff member is busy in another change", ts.id)
            report.waiting.append(ts)
            continue
        if ts.staff_id not in schedules:
            schedules[ts.staff_id] = availability.load_schedule(
                session, tenant, ts.staff_id, first_day=first, last_day=last, service=service
            )
        taken = _taken(session, tenant, ts, schedules[ts.staff_id])
        if taken is not None:
            report.taken.append((ts, taken))
            continue
        day = local_date(tenant, ts.starts_at)
        if not payable_packages(session, ts.student_id, ts.service, day, ts.duration_minutes):
            report.waiting.append(ts)
            continue
        try:
            with session.begin_nested():  # a package drained by a concurrent adjustment
                _move(session, ts, (SessionStatus.WAITING,), SessionStatus.UPCOMING)
                _debit(session, tenant, actor, ts)
                emit(session, tenant, Event.SESSION_BOOKED, ts)
        except NotEnoughHours:
            session.refresh(ts)
            report.waiting.append(ts)
            continue
        report.booked.append(ts)
    if report.booked or report.taken:
        series_mail.waiting_filled(
            session, tenant, report.booked, report.taken, len(report.waiting)
        )
    return report


def _taken(
    session: Session,
    tenant: Tenant,
    ts: TutoringSession,
    schedule: availability.Schedule | None,
) -> str | None:
    """Why a waiting occurrence's time is no longer free, or None."""
    if schedule is None:
        return f"{ts.staff.name} no longer teaches {Service(ts.service).label} here."
    if schedule.away_during(ts.starts_at, ts.ends_at):
        return f"{ts.staff.name} is away then."
    try:
        _check_overlap(
            session,
            tenant,
            staff_id=ts.staff_id,
            student_id=ts.student_id,
            starts_at=ts.starts_at,
            ends_at=ts.ends_at,
            exclude_id=ts.id,
            category=ts.category,
        )
    except DomainError as exc:
        return exc.message
    return None


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
        f"Not enough hours: {student.first_name} had {hours.hours_phrase(left)} of "
        f"{Service(ts.service).label} usable on {_day(on)} and this session needs "
        f"{hours.hours_phrase(ts.duration_minutes)}. {remedy}; nothing was logged."
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
    category: SessionCategory | None = None,
    subject: Subject | None = None,
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
    choice = categories.check_choice(session, category, subject, staff)
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
        category=choice.category,
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
        category=choice.category,
        subject=choice.subject,
    )
    session.add(ts)
    session.flush()
    note = f"Logged on {_day(local_date(tenant, now))} by {actor.name}"
    try:
        _debit(session, tenant, actor, ts, note=note)
    except NotEnoughHours:
        # The caller rolls back: the session row goes with the refusal.
        raise _not_enough_to_log(session, tenant, actor, ts) from None
    emit(session, tenant, Event.SESSION_COMPLETED, ts)
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
        category=ts.category,
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
    ts.ical_sequence += 1
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


# --- group sessions (design §11) ------------------------------------------------------------
#
# A group session is one time of one staff member for several students. Each student's
# participation is an ordinary session linked to the group (`SessionGroup`): its own
# status, its own hours (that student's package, by rule 5, when that family accepts or
# joins), its own cancellation and attendance, so every verb above applies to it as it
# is. What is decided for the group as a whole lives here: creating it, the seats, the
# one action plan, cancelling or moving all of it. The staff member's row lock (taken
# first on every path) serializes every change to one group: the seats are counted
# under it, so two families cannot take the last seat both.


def _capacity_refusal(category: SessionCategory, wanted: int) -> DomainError:
    if category.capacity == 1:
        return DomainError(
            f"{category.name} sessions take one student. Choose a category with seats for "
            f"{wanted} students (Settings → Session Categories, capacity).",
            field="students",
        )
    return DomainError(
        f"{category.name} sessions take at most {category.capacity} students; "
        f"{wanted} were chosen.",
        field="students",
    )


def propose_group(
    session: Session,
    tenant: Tenant,
    actor: User,
    *,
    students: Sequence[Student],
    staff: User,
    service: str,
    starts_at: datetime,
    duration_minutes: int,
    category: SessionCategory | None = None,
    subject: Subject | None = None,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """Rule 2 for a group: staff propose one session to several students, up to the
    category's capacity. Each family gets its own proposal and answers it on its own;
    each student's hours move when that family accepts."""
    _check_proposer(actor, staff)
    if len({student.id for student in students}) != len(students):
        raise DomainError("Choose each student once.", field="students")
    if len(students) < 2:
        raise DomainError("A group session needs at least two students.", field="students")
    choice = categories.check_choice(session, category, subject, staff)
    if len(students) > choice.category.capacity:
        raise _capacity_refusal(choice.category, len(students))
    # Every lock of the group up front, in the one order: staff, then students by id.
    _lock_people(session, (staff.id,), (student.id for student in students))
    group = SessionGroup(created_by=actor)
    session.add(group)
    session.flush()
    made = [
        _new_session(
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
            category=choice.category,
            subject=choice.subject,
            group=group,
        )
        for student in sorted(students, key=lambda s: s.id)
    ]
    for ts in made:
        session_mail.session_proposed(session, tenant, ts)
        emit(session, tenant, Event.SESSION_PROPOSED, ts)
    return made


def _group_reference(session: Session, group: SessionGroup) -> TutoringSession:
    """A participation still to come, which carries the group's time, staff member,
    service and category; none left means the group is over for everyone."""
    rows = participations(session, group.id, STILL_TO_COME)
    if not rows:
        raise DomainError("This group session has no student still to come.")
    return rows[0]


def join_group(
    session: Session,
    tenant: Tenant,
    actor: User,
    group: SessionGroup,
    student: Student,
    now: datetime | None = None,
) -> TutoringSession:
    """Rule 1 for a seat: a family adds its student to an open group session with a free
    seat → an upcoming participation, its hours debited now from that student's package
    (rule 5). The seats are counted under the staff member's lock."""
    now = now or utcnow()
    _check_family_actor(actor, student)
    reference = _group_reference(session, group)
    _lock_for_change(session, reference.staff_id, student.id)
    rows = participations(session, group.id, SEAT_STATUSES)  # as they are now, locked
    if not rows or not reference.category.families_may_join:
        raise NotFound("no open group session")
    if any(row.student_id == student.id for row in rows):
        raise DomainError(f"{student.first_name} is in this group session already.")
    if not may_join(reference.category, len(rows), reference.starts_at, now):
        if reference.starts_at <= now:
            raise DomainError("This group session has started; it takes no one else now.")
        raise DomainError("This group session is full now; nothing was booked.")
    ts = _new_session(
        session,
        tenant,
        actor,
        student=student,
        staff=reference.staff,
        service=reference.service,
        starts_at=reference.starts_at,
        duration_minutes=reference.duration_minutes,
        status=SessionStatus.UPCOMING,
        now=now,
        category=reference.category,
        subject=reference.subject,
        group=group,
    )
    ts.meeting_link = reference.meeting_link
    ts.custom_address = reference.custom_address
    _debit(session, tenant, actor, ts)
    session_mail.session_booked(session, tenant, ts)
    emit(session, tenant, Event.SESSION_BOOKED, ts)
    return ts


def _lock_group(session: Session, rows: Sequence[TutoringSession], *, refunds: bool) -> None:
    """The locks of a change to every participation of a group, in `_lock_for_change`'s
    order: the staff members (with those of the students' occurrences waiting for hours,
    when hours may come back), then the students."""
    staff_ids: set[int | None] = {row.staff_id for row in rows}
    if refunds:
        for row in rows:
            staff_ids |= _waiting_staff(session, row.student_id)
    _lock_people(session, staff_ids, (row.student_id for row in rows))


def cancel_group(
    session: Session,
    tenant: Tenant,
    actor: User,
    group: SessionGroup,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """The staff member (or an admin) cancels the whole group session: every
    participation still to come is cancelled by rule 3, each refunding its own student's
    hours in full, and each family is told."""
    now = now or utcnow()
    reference = _group_reference(session, group)
    _check_staff_actor(actor, reference)
    _lock_group(session, participations(session, group.id, STILL_TO_COME), refunds=True)
    rows = participations(session, group.id, STILL_TO_COME)  # under the locks
    for ts in rows:
        cancel_session(session, tenant, actor, ts, reason, now=now)
    return rows


def reschedule_group(
    session: Session,
    tenant: Tenant,
    actor: User,
    group: SessionGroup,
    starts_at: datetime,
    now: datetime | None = None,
) -> list[TutoringSession]:
    """Rule 6 for a group: every participation still to come moves together (no hours
    move); the staff member and each student must be free at the new time."""
    now = now or utcnow()
    reference = _group_reference(session, group)
    _check_staff_actor(actor, reference)
    _lock_group(session, participations(session, group.id, STILL_TO_COME), refunds=False)
    rows = participations(session, group.id, STILL_TO_COME)
    _check_future(starts_at, now)
    for ts in rows:
        check(ts, actor, Action.RESCHEDULE, now)
        _check_overlap(
            session,
            tenant,
            staff_id=ts.staff_id,
            student_id=ts.student_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=ts.duration_minutes),
            category=ts.category,
            group_id=group.id,
        )
    for ts in rows:
        ts.starts_at = starts_at
        ts.ends_at = starts_at + timedelta(minutes=ts.duration_minutes)
        ts.reminder_sent_at = None
        ts.ical_sequence += 1
    session.flush()
    for ts in rows:
        session_mail.session_moved(session, tenant, actor, ts)
    return rows


def submit_group_plan(
    session: Session,
    tenant: Tenant,
    actor: User,
    group: SessionGroup,
    *,
    topics: str,
    goals: str,
    next_steps: str,
    notes: Mapping[int, str] | None = None,
    now: datetime | None = None,
) -> None:
    """Rule 4 for a group: one action plan for the session, with an optional note per
    student (`notes`, by participation id). Each upcoming participation gets the plan and
    its own note, so each family reads its own child's note only; the session completes
    when every upcoming participant also has attendance."""
    now = now or utcnow()
    reference = _group_reference(session, group)
    _lock_for_change(session, reference.staff_id, reference.student_id, reference)
    _check_staff_actor(actor, reference)
    session.refresh(group)
    if group.plan_submitted_at is not None:
        raise DomainError("The action plan is submitted already for this session.")
    check(reference, actor, Action.SUBMIT_PLAN, now)
    if not (topics or "").strip():
        raise DomainError("Write what the session covered.", field="topics")
    rows = participations(session, group.id, (SessionStatus.UPCOMING,))
    notes = notes or {}
    group.plan_topics = topics.strip()
    group.plan_goals = (goals or "").strip()
    group.plan_next_steps = (next_steps or "").strip()
    group.plan_submitted_at = utcnow()
    for ts in rows:
        ts.plan_topics = group.plan_topics
        ts.plan_goals = group.plan_goals
        ts.plan_next_steps = group.plan_next_steps
        ts.plan_note = (notes.get(ts.id) or "").strip() or None
        ts.plan_submitted_at = group.plan_submitted_at
    session.flush()
    _complete_group_if_ready(session, group.id)


def _complete_group_if_ready(session: Session, group_id: int) -> None:
    """Design §11: the group completes when its plan is submitted and every upcoming
    participant has attendance; then each upcoming participation completes (no hours
    move)."""
    group = session.scalars(select(SessionGroup).where(SessionGroup.id == group_id)).one()
    rows = participations(session, group_id, (SessionStatus.UPCOMING,))
    if group.plan_submitted_at is None or not rows or any(ts.attendance is None for ts in rows):
        return
    for ts in rows:
        _move(
            session, ts, (SessionStatus.UPCOMING,), SessionStatus.COMPLETED, completed_at=utcnow()
        )
        emit_in_scope(session, Event.SESSION_COMPLETED, ts)
