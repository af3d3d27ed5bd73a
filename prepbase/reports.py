"""Insights (design §7): where the hours go and which students drift away.

Every figure is one aggregate SQL statement (GROUP BY, and window functions where a
running balance or a total row count is needed), never a Python loop over sessions or
ledger entries. All statements are ORM selects, so the tenant criteria reach every table,
subquery and CTE in them (prepbase.tenancy).

Definitions — the README repeats them for the business:

- Times are the business's: a date range runs from local midnight of `date_from` to local
  midnight after `date_to`; buckets are local weeks (Monday to Sunday) or local months.
  The first and last bucket may be partial (cut by the range).
- A session **took place** when it is completed, or upcoming and its start has passed
  (attendance or the action plan may still be missing). Cancelled, declined and pending
  sessions never took place.
- **Sold**: hours added to packages — grants, renewals and positive adjustments — by the
  time of the ledger entry.
- **Used**: the hours charged for sessions that took place, by the session's start.
  Cancelling refunds a session's hours and changing its length debits or refunds the
  difference, so the charged hours are already net of refunds.
- **Refunded**: hours given back to packages (cancelled sessions, shortened sessions), by
  the time of the ledger entry.
- **Remaining** (chart): the balance of all packages (active or not) at the end of each
  bucket, from the ledger: the sum of Remaining Hrs the business would have seen then.
  Hours held by booked upcoming sessions are already out of it, as in Remaining Hrs.
- **Remaining** (per student): Remaining Hrs of the student's usable packages (active and
  not past their expiry date) now.
- **Sessions completed in the last 30 / 90 days**: completed sessions that started in the
  30 / 90 days before now (not limited by the date range).
- **Attendance rate**: of the sessions in the range whose attendance was taken, the share
  marked present or late. **No-shows**: those marked absent.
- **Days since last session**: business-local days from the last session that took place
  to today (any time, not limited by the date range).
- **Projected run-out date**: today + remaining ÷ recent pace, where the pace is the hours
  used in the last 30 days ÷ 30 per day (rounded down to whole days). None when nothing
  was used in the last 30 days or no hours remain (the page says which).
- **Booked beyond what remains**: hours of future pending (proposed, not yet accepted)
  sessions above the usable hours left of the same service. Upcoming sessions cannot be
  beyond: their hours were taken when they were booked.
- **Late cancellations** (design §12): sessions cancelled late under the business's
  cancellation policy (`TutoringSession.cancelled_late`: the family's inside the window,
  or staff's who applied the policy), counted by the session's start, like no-shows.
  **Per month**: both counted per student and business-local month of the start.
- **At risk**: a student with hours left, no pending or upcoming session ahead and no
  session that took place in the last 14 days ("idle"); or 2+ sessions cancelled in the
  last 30 days; or 2+ late cancellations and no-shows together in the last 30 days; or
  an action plan overdue (an upcoming session that ended more than 48 hours ago with no
  action plan).
- **Used** counts the hours a late cancellation kept (the session still holds them);
  **Refunded** is net of what late cancellations kept and waivers gave back.
- **Per staff member**: hours delivered = hours of their sessions that took place in the
  range; sessions completed = their completed sessions in the range; action plan delay =
  the average time from a session's end to its action plan (0 when the plan came before
  the end), over the range's sessions that have a plan.

Filters: the service filter applies to sessions and packages; the staff filter applies to
session figures (used, refunded, attendance…, and the staff table). Sold and the chart's
remaining belong to packages, not to a staff member, so the staff filter leaves them alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Float,
    Row,
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from prepbase.charts import TimeSeries, time_chart
from prepbase.models import (
    OPEN_STATUSES,
    STAFF_ROLES,
    Attendance,
    EntryKind,
    LedgerEntry,
    Package,
    SessionStatus,
    StaffService,
    Student,
    TutoringSession,
    User,
)
from prepbase.models.base import UTCDateTime
from prepbase.paging import PER_PAGE, Page, page_of, paginate

DAY, WEEK, MONTH = "day", "week", "month"
RECENT_DAYS = 30  # the pace of use behind the projection, and "last 30 days"
LONG_DAYS = 90
IDLE_DAYS = 14
REPEATED_CANCELLATIONS = 2
REPEATED_STRIKES = 2  # late cancellations and no-shows together, last 30 days
PLAN_GRACE = timedelta(hours=48)

ATTENDED = (Attendance.PRESENT, Attendance.LATE)
AFTER_RANGE = "9999-12-31"  # bucket label of ledger entries after the range
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")
BY_BUCKET: ColumnElement[str] = literal_column(
    "bucket"
)  # GROUP BY the output column, the same on both databases


# --- the period and the filters ---------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers: business-local dates (inclusive), bucket, service, staff."""

    date_from: date
    date_to: date
    bucket: str = WEEK
    service: str | None = None
    staff_id: int | None = None
    # Design §11: like the staff filter, these narrow the session figures only.
    category_id: int | None = None
    subject_id: int | None = None


@dataclass(frozen=True)
class Window:
    """The filters' dates as UTC instants, and "now" for the rolling figures."""

    timezone: str
    start: datetime  # local midnight of date_from
    end: datetime  # local midnight after date_to (exclusive)
    now: datetime
    today: date  # the business's date now

    @classmethod
    def of(cls, timezone: str, filters: ReportFilters, now: datetime) -> Window:
        return cls(
            timezone=timezone,
            start=local_midnight(timezone, filters.date_from),
            end=local_midnight(timezone, filters.date_to + timedelta(days=1)),
            now=now,
            today=now.astimezone(ZoneInfo(timezone)).date(),
        )


def local_midnight(timezone: str, day: date) -> datetime:
    """The start of `day` in the business's zone, as UTC."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def bucket_starts(date_from: date, date_to: date, unit: str) -> list[date]:
    """The first day of every local week (Monday) or month that the range touches."""
    if unit == WEEK:
        day = date_from - timedelta(days=date_from.weekday())
        starts = []
        while day <= date_to:
            starts.append(day)
            day += timedelta(days=7)
        return starts
    day = date_from.replace(day=1)
    starts = []
    while day <= date_to:
        starts.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


# --- dialect-aware SQL pieces -----------------------------------------------------------


def _utc_offsets(timezone: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (minutes) over [start, end): [(valid_from, minutes), …].

    Offsets change only at DST transitions; each is found by a daily walk and then a
    bisection to the second, so a three-year range costs ~1,100 cheap look-ups."""
    zone = ZoneInfo(timezone)

    def offset(moment: datetime) -> int:
        # An aware time always has an offset (`utcoffset()` is typed for naive ones too).
        return int(moment.astimezone(zone).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]

    moment = start - timedelta(days=1)
    segments = [(moment, offset(moment))]
    step = timedelta(days=1)
    while moment < end + step:
        later = moment + step
        if offset(later) != segments[-1][1]:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high.replace(microsecond=0), offset(later)))
        moment = later
    return segments


def local_bucket(
    column: SQLColumnExpression[datetime], unit: str, timezone: str, dialect: str, window: Window
) -> ColumnElement[str]:
    """The local day, week (its Monday) or month (its 1st) of a UTC timestamp, as
    'YYYY-MM-DD'.

    PostgreSQL converts with the zone itself; SQLite knows no zones, so the timestamp is
    shifted by the offset in force at that instant (a CASE over the DST transitions of the
    window, found in Python) and truncated with SQLite's date modifiers. Exact on both
    within the window the transitions were computed for."""
    return _bucket(column, unit, timezone, dialect, _offsets_for(dialect, timezone, window))


def _offsets_for(dialect: str, timezone: str, window: Window) -> tuple[tuple[datetime, int], ...]:
    """What a bucket expression depends on besides its zone: SQLite's UTC offsets over the
    window (none on PostgreSQL, which converts with the zone itself)."""
    if dialect == "postgresql":
        return ()
    (_, first), *changes = _utc_offsets(timezone, window.start, window.end)
    # The first offset's start is never compared: a fixed one keeps equal windows equal.
    return ((datetime.min.replace(tzinfo=UTC), first), *changes)


def _bucket(
    column: SQLColumnExpression[datetime],
    unit: str,
    timezone: str,
    dialect: str,
    segments: tuple[tuple[datetime, int], ...],
) -> ColumnElement[str]:
    if dialect == "postgresql":
        # Literals, not parameters: the statement groups by this expression, and
        # PostgreSQL matches GROUP BY expressions textually.
        if unit not in (DAY, WEEK, MONTH) or not _ZONE_NAME.match(timezone):
            raise ValueError(f"bad bucket {unit!r} or zone {timezone!r}")
        local = func.timezone(literal_column(f"'{timezone}'"), column)
        return func.to_char(
            func.date_trunc(literal_column(f"'{unit}'"), local), literal_column("'YYYY-MM-DD'")
        )
    shift: ColumnElement[str]
    if len(segments) == 1:
        shift = literal(f"{segments[0][1]:+d} minutes")
    else:
        shift = case(
            *(
                (column < valid_from, f"{minutes:+d} minutes")
                for (_, minutes), (valid_from, _) in pairwise(segments)
            ),
            else_=f"{segments[-1][1]:+d} minutes",
        )
    local = func.datetime(column, shift)
    if unit == DAY:
        return func.date(local)
    if unit == WEEK:
        return func.date(local, "-6 days", "weekday 1")
    return func.strftime("%Y-%m-01", local)


def seconds_between(
    earlier: SQLColumnExpression[datetime],
    later: SQLColumnExpression[datetime | None],
    dialect: str,
) -> ColumnElement[float]:
    """`later - earlier` in seconds, on PostgreSQL and SQLite."""
    if dialect == "postgresql":
        return type_coerce(func.extract("epoch", later - earlier), Float())
    return type_coerce((func.julianday(later) - func.julianday(earlier)) * 86400.0, Float())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --- shared conditions --------------------------------------------------------------------

TS = TutoringSession


def took_place(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Completed, or upcoming and already started (see the module's definitions)."""
    return or_(
        TS.status == SessionStatus.COMPLETED,
        and_(TS.status == SessionStatus.UPCOMING, TS.starts_at <= now),
    )


def uses_hours(now: datetime) -> ColumnElement[bool]:
    """A session whose hours count as used: it took place, or a late cancellation kept
    some of them (a cancelled session holds minutes only then)."""
    return or_(took_place(now), and_(TS.status == SessionStatus.CANCELLED, TS.charged_minutes > 0))


# Aggregates with FILTER (PostgreSQL, SQLite ≥ 3.30) rather than SUM(CASE …): the
# database skips the rows a figure does not count instead of adding zeros (the
# per-student facts, a dozen figures over every session, run about 5 % faster).
def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(condition)


def _minutes_if(
    condition: ColumnExpressionArgument[bool], minutes: ColumnExpressionArgument[int]
) -> ColumnElement[int]:
    return func.coalesce(func.sum(minutes).filter(condition), 0)


def _session_filters(filters: ReportFilters) -> list[ColumnElement[bool]]:
    where = []
    if filters.service:
        where.append(TS.service == filters.service)
    if filters.staff_id is not None:
        where.append(TS.staff_id == filters.staff_id)
    if filters.category_id is not None:
        where.append(TS.category_id == filters.category_id)
    if filters.subject_id is not None:
        where.append(TS.subject_id == filters.subject_id)
    return where


def projected_runout(remaining: int, used_recent: int, today: date) -> date | None:
    """Today + remaining ÷ (minutes used in the last 30 days ÷ 30), whole days rounded down;
    None when nothing remains or nothing was used recently."""
    if remaining <= 0 or used_recent <= 0:
        return None
    return today + timedelta(days=remaining * RECENT_DAYS // used_recent)


# --- hours over time ----------------------------------------------------------------------


@dataclass(frozen=True)
class HoursBucket:
    """One week or month of the chart, in minutes."""

    start: date
    sold: int
    used: int
    refunded: int
    remaining: int  # at the end of the bucket (or of the range)


def hours_over_time(session: Session, filters: ReportFilters, window: Window) -> list[HoursBucket]:
    """Sold, used, refunded and remaining per bucket: two statements."""
    dialect = _dialect(session)
    le_bucket = case(
        (LedgerEntry.created_at >= window.end, AFTER_RANGE),
        else_=local_bucket(
            LedgerEntry.created_at, filters.bucket, window.timezone, dialect, window
        ),
    )
    added = or_(
        LedgerEntry.kind.in_((EntryKind.GRANT, EntryKind.RENEWAL)),
        and_(LedgerEntry.kind == EntryKind.ADJUSTMENT, LedgerEntry.minutes > 0),
    )
    refund: ColumnElement[bool] = LedgerEntry.kind.in_(
        (EntryKind.REFUND, EntryKind.LATE_CANCELLATION, EntryKind.WAIVER)
    )
    ledger = (
        select(LedgerEntry)
        .join(Package, Package.id == LedgerEntry.package_id)
        .where(LedgerEntry.created_at >= window.start)
    )
    balance = select(func.coalesce(func.sum(Package.remaining_minutes), 0).label("total"))
    if filters.service:
        ledger = ledger.where(Package.service == filters.service)
        balance = balance.where(Package.service == filters.service)
    if any(v is not None for v in (filters.staff_id, filters.category_id, filters.subject_id)):
        ledger = ledger.outerjoin(TS, TS.id == LedgerEntry.session_id)
        refund = and_(refund, *_session_filters(replace(filters, service=None)))
    by_bucket = (
        ledger.with_only_columns(
            le_bucket.label("bucket"),
            _minutes_if(added, LedgerEntry.minutes).label("sold"),
            _minutes_if(refund, LedgerEntry.minutes).label("refunded"),
            func.sum(LedgerEntry.minutes).label("net"),
        )
        .group_by(BY_BUCKET)
        .subquery()
    )
    now_total = balance.subquery()
    # Balance at the end of a bucket = today's balance − every later entry's minutes.
    later = func.sum(by_bucket.c.net).over(order_by=by_bucket.c.bucket, rows=(1, None))
    rows = session.execute(
        select(
            by_bucket.c.bucket,
            by_bucket.c.sold,
            by_bucket.c.refunded,
            by_bucket.c.net,
            (now_total.c.total - func.coalesce(later, 0)).label("remaining"),
            now_total.c.total,
        )
        .select_from(now_total)
        .outerjoin(by_bucket, true())
        .order_by(by_bucket.c.bucket)
    ).all()

    ts_bucket = local_bucket(TS.starts_at, filters.bucket, window.timezone, dialect, window)
    used = dict(
        session.execute(
            select(ts_bucket.label("bucket"), func.sum(TS.charged_minutes))
            .where(
                uses_hours(window.now),
                TS.starts_at >= window.start,
                TS.starts_at < window.end,
                *_session_filters(filters),
            )
            .group_by(BY_BUCKET)
        ).all()
    )

    found = {row.bucket: row for row in rows if row.bucket is not None}
    in_range = [r for r in rows if r.bucket is not None and r.bucket != AFTER_RANGE]
    if in_range:
        first = in_range[0]
        carried = int(first.remaining) - int(first.net)
    elif found:
        carried = int(found[AFTER_RANGE].remaining) - int(found[AFTER_RANGE].net)
    else:
        carried = int(rows[0].total)
    result = []
    for start in bucket_starts(filters.date_from, filters.date_to, filters.bucket):
        label = start.isoformat()
        row = found.get(label)
        if row is not None:
            carried = int(row.remaining)
        result.append(
            HoursBucket(
                start=start,
                sold=int(row.sold) if row else 0,
                used=int(used.get(label) or 0),
                refunded=int(row.refunded) if row else 0,
                remaining=carried,
            )
        )
    return result


# --- per student --------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentFigures:
    """One student's row of the report (minutes for hours)."""

    student_id: int
    name: str
    used: int
    completed_30: int
    completed_90: int
    attended: int
    attendance_taken: int
    no_shows: int
    last_session: datetime | None
    days_since_last: int | None
    remaining: int
    used_30: int
    runout: date | None
    beyond: int
    idle: bool
    cancelled_30: int
    plans_overdue: int
    late_cancels: int = 0  # in the range
    late_30: int = 0
    no_shows_30: int = 0

    @property
    def attendance_rate(self) -> float | None:
        """Present or late ÷ sessions whose attendance was taken; None when none was."""
        if not self.attendance_taken:
            return None
        return self.attended / self.attendance_taken

    @property
    def risks(self) -> list[str]:
        """Why the student is at risk, in words; empty when they are not."""
        return risk_reasons(self)


class RiskFacts(Protocol):
    """The figures the at-risk rule reads (a StudentFigures, or a row of the facts)."""

    @property
    def idle(self) -> Any: ...
    @property
    def cancelled_30(self) -> int: ...
    @property
    def late_30(self) -> int: ...
    @property
    def no_shows_30(self) -> int: ...
    @property
    def plans_overdue(self) -> int: ...


def risk_reasons(facts: RiskFacts) -> list[str]:
    """Why a student is at risk, in words (the module's definition); empty when not."""
    reasons = []
    if facts.idle:
        reasons.append(f"Hours left, nothing booked, no session for {IDLE_DAYS}+ days")
    if facts.cancelled_30 >= REPEATED_CANCELLATIONS:
        reasons.append(f"{facts.cancelled_30} cancellations in the last {RECENT_DAYS} days")
    if facts.late_30 + facts.no_shows_30 >= REPEATED_STRIKES:
        reasons.append(
            f"{facts.late_30} late cancellation{'' if facts.late_30 == 1 else 's'} and "
            f"{facts.no_shows_30} no-show{'' if facts.no_shows_30 == 1 else 's'} in the last "
            f"{RECENT_DAYS} days"
        )
    if facts.plans_overdue:
        plural = "s" if facts.plans_overdue > 1 else ""
        reasons.append(f"{facts.plans_overdue} action plan{plural} overdue")
    return reasons


def _student_facts(filters: ReportFilters, window: Window) -> Select[*tuple[Any, ...]]:
    """One row per student with every figure and the at-risk flags (a subquery's body)."""
    now = window.now
    in_range = and_(TS.starts_at >= window.start, TS.starts_at < window.end)
    took = took_place(now)
    recent = now - timedelta(days=RECENT_DAYS)
    late = and_(TS.status == SessionStatus.CANCELLED, TS.cancelled_late.is_(True))
    sessions = (
        select(
            TS.student_id.label("student_id"),
            _minutes_if(and_(uses_hours(now), in_range), TS.charged_minutes).label("used"),
            _minutes_if(and_(took, TS.starts_at >= recent), TS.charged_minutes).label("used_30"),
            _count_if(and_(TS.status == SessionStatus.COMPLETED, TS.starts_at >= recent)).label(
                "completed_30"
            ),
            _count_if(
                and_(
                    TS.status == SessionStatus.COMPLETED,
                    TS.starts_at >= now - timedelta(days=LONG_DAYS),
                )
            ).label("completed_90"),
            _count_if(and_(in_range, TS.attendance.in_(ATTENDED))).label("attended"),
            _count_if(and_(in_range, TS.attendance.is_not(None))).label("attendance_taken"),
            _count_if(and_(in_range, TS.attendance == Attendance.ABSENT)).label("no_shows"),
            _count_if(and_(in_range, late)).label("late_cancels"),
            _count_if(and_(late, TS.starts_at >= recent, TS.starts_at <= now)).label("late_30"),
            _count_if(
                and_(
                    TS.attendance == Attendance.ABSENT, TS.starts_at >= recent, TS.starts_at <= now
                )
            ).label("no_shows_30"),
            type_coerce(func.max(case((took, TS.starts_at))), UTCDateTime()).label("last_session"),
            _count_if(and_(TS.status.in_(OPEN_STATUSES), TS.starts_at > now)).label("ahead"),
            _count_if(and_(TS.status == SessionStatus.CANCELLED, TS.cancelled_at >= recent)).label(
                "cancelled_30"
            ),
            _count_if(
                and_(
                    TS.status == SessionStatus.UPCOMING,
                    TS.plan_submitted_at.is_(None),
                    TS.ends_at <= now - PLAN_GRACE,
                )
            ).label("plans_overdue"),
        )
        .where(*_session_filters(filters))
        .group_by(TS.student_id)
        .subquery("s")
    )
    service_packages = [Package.service == filters.service] if filters.service else []
    held = (
        select(
            Package.student_id.label("student_id"),
            _minutes_if(Package.active_on(window.today), Package.remaining_minutes).label(
                "remaining"
            ),
        )
        .where(*service_packages)
        .group_by(Package.student_id)
        .subquery("p")
    )
    # Pending proposals against the usable hours of the same service.
    pending = (
        select(
            TS.student_id.label("student_id"),
            TS.service.label("service"),
            func.sum(TS.duration_minutes).label("minutes"),
        )
        .where(TS.status == SessionStatus.PENDING, TS.starts_at > now, *_session_filters(filters))
        .group_by(TS.student_id, TS.service)
        .subquery("pending")
    )
    usable = (
        select(
            Package.student_id.label("student_id"),
            Package.service.label("service"),
            func.sum(Package.remaining_minutes).label("minutes"),
        )
        .where(Package.active_on(window.today), *service_packages)
        .group_by(Package.student_id, Package.service)
        .subquery("usable")
    )
    left = func.coalesce(usable.c.minutes, 0)
    beyond = (
        select(
            pending.c.student_id.label("student_id"),
            func.sum(case((pending.c.minutes > left, pending.c.minutes - left), else_=0)).label(
                "beyond"
            ),
        )
        .select_from(pending)
        .outerjoin(
            usable,
            and_(
                usable.c.student_id == pending.c.student_id,
                usable.c.service == pending.c.service,
            ),
        )
        .group_by(pending.c.student_id)
        .subquery("o")
    )
    remaining = func.coalesce(held.c.remaining, 0)
    idle = and_(
        remaining > 0,
        func.coalesce(sessions.c.ahead, 0) == 0,
        or_(
            sessions.c.last_session.is_(None),
            sessions.c.last_session <= now - timedelta(days=IDLE_DAYS),
        ),
    )
    shown = (
        sessions.c.student_id.is_not(None)
        if filters.staff_id is not None
        else or_(sessions.c.student_id.is_not(None), held.c.student_id.is_not(None))
    )
    return (
        select(
            Student.id.label("student_id"),
            Student.first_name,
            Student.last_name,
            func.coalesce(sessions.c.used, 0).label("used"),
            func.coalesce(sessions.c.used_30, 0).label("used_30"),
            func.coalesce(sessions.c.completed_30, 0).label("completed_30"),
            func.coalesce(sessions.c.completed_90, 0).label("completed_90"),
            func.coalesce(sessions.c.attended, 0).label("attended"),
            func.coalesce(sessions.c.attendance_taken, 0).label("attendance_taken"),
            func.coalesce(sessions.c.no_shows, 0).label("no_shows"),
            sessions.c.last_session,
            remaining.label("remaining"),
            func.coalesce(beyond.c.beyond, 0).label("beyond"),
            case((idle, 1), else_=0).label("idle"),
            func.coalesce(sessions.c.cancelled_30, 0).label("cancelled_30"),
            func.coalesce(sessions.c.plans_overdue, 0).label("plans_overdue"),
            func.coalesce(sessions.c.late_cancels, 0).label("late_cancels"),
            func.coalesce(sessions.c.late_30, 0).label("late_30"),
            func.coalesce(sessions.c.no_shows_30, 0).label("no_shows_30"),
        )
        .outerjoin(sessions, sessions.c.student_id == Student.id)
        .outerjoin(held, held.c.student_id == Student.id)
        .outerjoin(beyond, beyond.c.student_id == Student.id)
        .where(shown)
    )


def _figures(row: Any, window: Window) -> StudentFigures:
    last = row.last_session
    days = None
    if last is not None:
        days = (window.today - last.astimezone(ZoneInfo(window.timezone)).date()).days
    return StudentFigures(
        student_id=row.student_id,
        name=f"{row.first_name} {row.last_name}",
        used=int(row.used),
        completed_30=int(row.completed_30),
        completed_90=int(row.completed_90),
        attended=int(row.attended),
        attendance_taken=int(row.attendance_taken),
        no_shows=int(row.no_shows),
        last_session=last,
        days_since_last=days,
        remaining=int(row.remaining),
        used_30=int(row.used_30),
        runout=projected_runout(int(row.remaining), int(row.used_30), window.today),
        beyond=int(row.beyond),
        idle=bool(row.idle),
        cancelled_30=int(row.cancelled_30),
        plans_overdue=int(row.plans_overdue),
        late_cancels=int(row.late_cancels),
        late_30=int(row.late_30),
        no_shows_30=int(row.no_shows_30),
    )


@dataclass(frozen=True)
class StudentReport:
    """The Reports' two student tables: per student (a page) and at risk (the first page)."""

    students: Page[StudentFigures]
    at_risk: Page[StudentFigures]


def student_report(
    session: Session,
    filters: ReportFilters,
    window: Window,
    *,
    page: int = 1,
    per_page: int | None = PER_PAGE,
    risky_per_page: int | None = PER_PAGE,
) -> StudentReport:
    """Both student tables from one statement: the facts aggregate (a pass over every
    session of the business, the report's dearest part) runs once, not once per table.

    The rows come most hours used first, each with its place in the at-risk order
    (longest without a session first); the at-risk rows are those with reasons
    (`risk_reasons`, the rule's one home). `per_page=None`: every row (the CSVs)."""
    facts = _student_facts(filters, window).subquery("facts")
    risk_order = func.row_number().over(
        order_by=(
            facts.c.last_session.asc().nulls_first(),
            facts.c.last_name,
            facts.c.first_name,
            facts.c.student_id,
        )
    )
    rows = session.execute(
        select(facts, risk_order.label("risk_order")).order_by(
            facts.c.used.desc(), facts.c.last_name, facts.c.first_name, facts.c.student_id
        )
    ).all()
    risky = sorted((r for r in rows if risk_reasons(r)), key=lambda r: int(r.risk_order))

    def figures(row: Row[Any]) -> StudentFigures:
        return _figures(row, window)

    return StudentReport(
        page_of(rows, page, per_page=per_page, item=figures),
        page_of(risky, 1, per_page=risky_per_page, item=figures),
    )


def student_figures(
    session: Session,
    filters: ReportFilters,
    window: Window,
    *,
    page: int = 1,
    per_page: int | None = PER_PAGE,
) -> Page[StudentFigures]:
    """Per student, most hours used first (`per_page=None`: every row)."""
    return student_report(session, filters, window, page=page, per_page=per_page).students


def at_risk(
    session: Session,
    filters: ReportFilters,
    window: Window,
    *,
    per_page: int | None = PER_PAGE,
) -> Page[StudentFigures]:
    """Students at risk, longest without a session first (the first page, or with
    `per_page=None` every row)."""
    return student_report(session, filters, window, risky_per_page=per_page).at_risk


@dataclass(frozen=True)
class MonthlyStrikes:
    """One student's late cancellations and no-shows in one business-local month."""

    student_id: int
    name: str
    month: date
    late_cancels: int
    no_shows: int


def strikes_by_month(
    session: Session,
    filters: ReportFilters,
    window: Window,
    *,
    per_page: int | None = PER_PAGE,
) -> Page[MonthlyStrikes]:
    """Late cancellations and no-shows per student and month of the range (by the
    session's start), students with none left out: one statement, the first page (a
    large business has thousands of rows; the page shows the first, the CSV them all)
    or with `per_page=None` every row."""
    month = local_bucket(TS.starts_at, MONTH, window.timezone, _dialect(session), window)
    late = and_(TS.status == SessionStatus.CANCELLED, TS.cancelled_late.is_(True))
    absent = TS.attendance == Attendance.ABSENT
    counts = (
        select(
            TS.student_id.label("student_id"),
            month.label("bucket"),
            _count_if(late).label("late"),
            _count_if(absent).label("absent"),
        )
        .where(
            TS.starts_at >= window.start,
            TS.starts_at < window.end,
            or_(late, absent),
            *_session_filters(filters),
        )
        .group_by(TS.student_id, BY_BUCKET)
        .subquery("strikes")
    )
    stmt = (
        select(counts, Student.first_name, Student.last_name)
        .join(Student, Student.id == counts.c.student_id)
        .order_by(counts.c.bucket, Student.last_name, Student.first_name, Student.id)
    )

    def strikes(row: Row[Any]) -> MonthlyStrikes:
        return MonthlyStrikes(
            student_id=row.student_id,
            name=f"{row.first_name} {row.last_name}",
            month=date.fromisoformat(row.bucket),
            late_cancels=int(row.late),
            no_shows=int(row.absent),
        )

    return paginate(session, stmt, 1, per_page=per_page, item=strikes)


# --- per staff member ---------------------------------------------------------------------


@dataclass(frozen=True)
class StaffFigures:
    """One staff member's row: minutes delivered, sessions completed, plan delay."""

    user_id: int
    name: str
    active: bool
    delivered: int
    completed: int
    plans: int
    plan_delay_seconds: float | None


def staff_figures(session: Session, filters: ReportFilters, window: Window) -> list[StaffFigures]:
    """Per staff member, most hours delivered first: one statement."""
    dialect = _dialect(session)
    delay = seconds_between(TS.ends_at, TS.plan_submitted_at, dialect)
    has_plan = TS.plan_submitted_at.is_not(None)
    sessions = (
        select(
            TS.staff_id.label("staff_id"),
            _minutes_if(took_place(window.now), TS.charged_minutes).label("delivered"),
            _count_if(TS.status == SessionStatus.COMPLETED).label("completed"),
            _count_if(has_plan).label("plans"),
            func.avg(
                case((and_(has_plan, TS.plan_submitted_at > TS.ends_at), delay), (has_plan, 0.0))
            ).label("plan_delay"),
        )
        .where(TS.starts_at >= window.start, TS.starts_at < window.end, *_session_filters(filters))
        .group_by(TS.staff_id)
        .subquery("s")
    )
    listed = [or_(User.active.is_(True), sessions.c.staff_id.is_not(None))]
    if filters.staff_id is not None:
        listed.append(User.id == filters.staff_id)
    if filters.service:
        listed.append(
            or_(
                User.service_rows.any(StaffService.service == filters.service),
                sessions.c.staff_id.is_not(None),
            )
        )
    delivered = func.coalesce(sessions.c.delivered, 0)
    rows = session.execute(
        select(
            User.id,
            User.name,
            User.active,
            delivered.label("delivered"),
            func.coalesce(sessions.c.completed, 0).label("completed"),
            func.coalesce(sessions.c.plans, 0).label("plans"),
            sessions.c.plan_delay,
        )
        .outerjoin(sessions, sessions.c.staff_id == User.id)
        .where(User.role.in_(STAFF_ROLES), *listed)
        .order_by(delivered.desc(), User.name, User.id)
    ).all()
    return [
        StaffFigures(
            user_id=r.id,
            name=r.name,
            active=r.active,
            delivered=int(r.delivered),
            completed=int(r.completed),
            plans=int(r.plans),
            plan_delay_seconds=float(r.plan_delay) if r.plan_delay is not None else None,
        )
        for r in rows
    ]


def staff_hours_by_week(
    session: Session, timezone: str, staff_id: int, now: datetime, weeks: int = 12
) -> list[tuple[date, int]]:
    """Minutes a staff member delivered (sessions that took place) in each of the last
    `weeks` local weeks, this week included: one statement."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    filters = ReportFilters(
        date_from=today - timedelta(days=today.weekday() + 7 * (weeks - 1)),
        date_to=today,
        staff_id=staff_id,
    )
    window = Window.of(timezone, filters, now)
    bucket = local_bucket(TS.starts_at, WEEK, timezone, _dialect(session), window)
    minutes = dict(
        session.execute(
            select(bucket.label("bucket"), func.sum(TS.charged_minutes))
            .where(
                TS.staff_id == staff_id,
                took_place(now),
                TS.starts_at >= window.start,
                TS.starts_at < window.end,
            )
            .group_by(BY_BUCKET)
        ).all()
    )
    return [
        (start, int(minutes.get(start.isoformat()) or 0))
        for start in bucket_starts(filters.date_from, filters.date_to, WEEK)
    ]


CHART_DAYS = RECENT_DAYS  # the balance charts' window: the days the run-out pace reads


@dataclass(frozen=True)
class PackageTrend:
    """A package's balance over the chart's window, and its recent pace of use.

    `history` holds, oldest first, the balance carried in at the window's start (when the
    package is older than the window) and then one point per business-local day with a
    change: the balance after that day's last entry, at that entry's moment."""

    history: list[tuple[datetime, int]]
    used_recently: int  # minutes of sessions that took place in the last 30 days


def package_trends(
    session: Session, package_ids: list[int], now: datetime, timezone: str
) -> dict[int, PackageTrend]:
    """Each package's balance over the last CHART_DAYS days and the minutes of its sessions
    that took place in the last 30 days (the pace behind its projected run-out date): one
    statement.

    Why a bounded window of daily points rather than every entry: a weekly student has
    hundreds of entries within a few years, and a page that reads and draws them all costs
    more every week. Here the SQL reads, through the (package_id, created_at, id) index, only
    the window's entries and the one entry before it, and returns at most one row per day,
    so a page costs the same with 10 entries or 2,000. The window is the pace's 30 days, so
    the chart shows exactly the use the run-out date is projected from; a day's points are
    reduced to its closing balance (several changes of one day are one day apart from
    nothing on the chart's time axis anyway), so the line stays true at every day's end."""
    if not package_ids:
        return {}
    since = now - timedelta(days=CHART_DAYS)
    window = Window(timezone, since, now, now, now.astimezone(ZoneInfo(timezone)).date())
    dialect = _dialect(session)
    rows = session.execute(
        _trends_statement(dialect, timezone, _offsets_for(dialect, timezone, window)),
        {
            "trend_ids": package_ids,
            "trend_since": since,
            "trend_now": now,
            "trend_recent": now - timedelta(days=RECENT_DAYS),
        },
    ).all()
    history: dict[int, list[tuple[datetime, int]]] = {pid: [] for pid in package_ids}
    used: dict[int, int] = {}
    for package_id, carried_in, minutes, created_at, balance in rows:
        if package_id not in used and carried_in is not None:
            history[package_id].append((since, int(carried_in)))
        used[package_id] = int(minutes or 0)
        if created_at is not None:
            history[package_id].append((created_at, int(balance)))
    return {pid: PackageTrend(history[pid], used.get(pid, 0)) for pid in package_ids}


@lru_cache(maxsize=256)
def _trends_statement(
    dialect: str, timezone: str, segments: tuple[tuple[datetime, int], ...]
) -> Select[Any]:
    """`package_trends`' statement, built once per zone (and, on SQLite, per set of DST
    offsets) with its packages and moments as parameters: building a statement of four
    subqueries costs more Python than running it, on a page every family opens."""
    ids: BindParameter[int] = bindparam("trend_ids", expanding=True)
    since = bindparam("trend_since", type_=UTCDateTime)
    now = bindparam("trend_now", type_=UTCDateTime)
    day = _bucket(LedgerEntry.created_at, DAY, timezone, dialect, segments)
    # Each day's last entry, numbered 1 in one pass over the window's entries (a self-join
    # with a per-day aggregate let PostgreSQL's generic plan of this prepared statement
    # loop over the window once per entry: 30 ms for a package with 700 recent entries).
    ranked = (
        select(
            LedgerEntry.id,
            LedgerEntry.package_id,
            LedgerEntry.created_at,
            LedgerEntry.balance_after,
            func.row_number()
            .over(partition_by=(LedgerEntry.package_id, day), order_by=LedgerEntry.id.desc())
            .label("nth"),
        )
        .where(LedgerEntry.package_id.in_(ids), LedgerEntry.created_at >= since)
        .subquery("ranked")
    )
    points = select(ranked).where(ranked.c.nth == 1).subquery("points")
    # The balance the window starts with: the last entry before it, the first row of the
    # (package_id, created_at, id) index read backwards.
    carried = (
        select(LedgerEntry.balance_after)
        .where(LedgerEntry.package_id == Package.id, LedgerEntry.created_at < since)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    pace = (
        select(TS.package_id.label("package_id"), func.sum(TS.charged_minutes).label("minutes"))
        .where(
            TS.package_id.in_(ids),
            took_place(now),
            TS.starts_at >= bindparam("trend_recent", type_=UTCDateTime),
        )
        .group_by(TS.package_id)
        .subquery("pace")
    )
    return (
        select(
            Package.id,
            carried.label("carried"),
            pace.c.minutes,
            points.c.created_at,
            points.c.balance_after,
        )
        .outerjoin(pace, pace.c.package_id == Package.id)
        .outerjoin(points, points.c.package_id == Package.id)
        .where(Package.id.in_(ids))
        .order_by(Package.id, points.c.id)
    )


def balance_chart(
    package_id: int,
    name: str,
    history: list[tuple[datetime, int]],
    timezone: str,
    since: date | None = None,
    until: datetime | None = None,
) -> Markup:
    """A package's Remaining Hrs over the chart's window (`package_trends`: each day's
    closing balance), on a real time axis up to `until` (now), headed by the package's
    name and start date, so a student's two packages of one name read apart."""
    heading = name if since is None else f"{name} · started {since.day} {since.strftime('%b %Y')}"
    return time_chart(
        f"chart-package-{package_id}",
        f"{name}: remaining hours at the end of each day, last {CHART_DAYS} days",
        heading,
        [TimeSeries("Remaining Hrs", [(moment, balance / 60) for moment, balance in history])],
        ZoneInfo(timezone),
        until=until,
    )
