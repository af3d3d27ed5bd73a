"""The business's cancellation policy (design §12): what a late cancellation costs.

Pure rules over loaded rows and one count, so that the family's confirm page, the cancel
verb (`prepbase.scheduling.cancel_session`) and the tests all ask the same functions:

- A cancellation is *late* when it is made less than the policy's window before the
  session's start (a session that has started is inside every window). Families cannot
  cancel a started session at all (`prepbase.lifecycle`); staff may, and choose whether
  the policy applies ("apply the policy") or not ("refund all", the default).
- A late cancellation keeps `keep_percent` of the hours the session holds, **rounded to
  the nearest whole minute, halves up** (45 min at 50 % keeps 23 min). 0 % keeps nothing
  (the default, as before the policy existed), 100 % keeps them all.
- The first `free_per_month` late cancellations of a student in a calendar month (the
  business's month, `prepbase.localtime`) keep nothing.

Per-category policies (design §11/§12) are not built yet: `policy_for` is the one place
that chooses the policy for a session, so an override by the session's category goes
there and every caller follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase.errors import DomainError
from prepbase.hours import format_hours, hours_phrase
from prepbase.localtime import business_today, day_start_utc
from prepbase.models import SessionCategory, SessionStatus, Tenant, TutoringSession

MAX_WINDOW_HOURS = 168  # a week
MAX_FREE_PER_MONTH = 31


@dataclass(frozen=True)
class Policy:
    """One cancellation policy, as the business set it in Settings → Cancellation Policy."""

    business_name: str
    window_hours: int
    keep_percent: int  # 0 = late cancellations cost nothing, 100 = they keep all the hours
    free_per_month: int | None
    no_show_uses_hours: bool
    text: str  # the business's own words

    @property
    def charges(self) -> bool:
        """A late cancellation may keep hours under this policy."""
        return self.keep_percent > 0

    def summary(self) -> str:
        """The policy in one sentence, for families and for the Settings page."""
        if not self.charges:
            return f"{self.business_name} keeps no hours when a session is cancelled."
        share = "all" if self.keep_percent == 100 else f"{self.keep_percent}%"
        sentence = (
            f"Cancelling less than {self.window_hours} hours before a session keeps {share} "
            "of its hours"
        )
        if self.keep_percent not in (0, 100):
            sentence += " (rounded to the nearest minute)"
        if self.free_per_month:
            times = "time" if self.free_per_month == 1 else "times"
            sentence += (
                f"; the first {self.free_per_month} {times} each month for each student "
                "keep nothing"
            )
        return sentence + "."


def policy_for(tenant: Tenant, ts: TutoringSession | None = None) -> Policy:
    """The policy that applies to `ts`: the business's, with its category's own notice
    window and kept share where the category sets them (Settings → Session Categories)."""
    category = ts.category if ts is not None else None
    window = category.late_cancel_window_hours if category is not None else None
    keep = category.late_cancel_keep_percent if category is not None else None
    return Policy(
        business_name=tenant.name,
        window_hours=tenant.late_cancel_window_hours if window is None else window,
        keep_percent=tenant.late_cancel_keep_percent if keep is None else keep,
        free_per_month=tenant.late_cancel_free_per_month,
        no_show_uses_hours=tenant.no_show_uses_hours,
        text=tenant.cancellation_policy_text or "",
    )


def is_late(policy: Policy, ts: TutoringSession, now: datetime) -> bool:
    """Cancelled now, is this session cancelled inside the policy's window?"""
    return now > ts.starts_at - timedelta(hours=policy.window_hours)


def kept_minutes(charged: int, keep_percent: int) -> int:
    """`keep_percent` of `charged` minutes in whole minutes, halves rounded up."""
    return (charged * keep_percent * 2 + 100) // 200


def may_cost(policy: Policy, ts: TutoringSession, now: datetime) -> bool:
    """Whether cancelling `ts` now could keep hours (before counting the free monthly
    cancellations, which needs a query): the family's page asks them to confirm first."""
    return policy.charges and ts.charged_minutes > 0 and is_late(policy, ts, now)


@dataclass(frozen=True)
class Cost:
    """What cancelling a session now does to its hours under the policy."""

    policy: Policy
    late: bool  # inside the window: counted as a late cancellation
    charged: int  # minutes the session holds
    kept: int  # minutes the cancellation keeps (a Late cancellation entry)
    free_left: int | None  # free late cancellations left this month before this one

    @property
    def refunded(self) -> int:
        return self.charged - self.kept

    @property
    def free(self) -> bool:
        """Late, and one of the month's free late cancellations covers it."""
        return self.late and self.policy.charges and self.charged > 0 and self.kept == 0

    def sentence(self, first_name: str) -> str:
        """What the family reads before confirming."""
        policy = self.policy
        rule = f"per {policy.business_name}'s {policy.window_hours}-hour policy"
        if self.kept == self.charged and self.kept:
            return (
                f"Cancelling now keeps all of this session's {hours_phrase(self.charged)}, {rule}."
            )
        if self.kept:
            return (
                f"Cancelling now keeps {format_hours(self.kept)} of this session's "
                f"{hours_phrase(self.charged)}, {rule}, and returns "
                f"{hours_phrase(self.refunded)} to the package."
            )
        if self.free:
            return (
                f"This is a late cancellation, {rule}, but it costs nothing: it is one of "
                f"{first_name}'s {policy.free_per_month} free late cancellations this month. "
                f"It returns all {hours_phrase(self.charged)} to the package."
            )
        if self.charged:
            return f"Cancelling now returns all {hours_phrase(self.charged)} to the package."
        return "This session holds no hours; cancelling it uses none."


def month_bounds(tenant: Tenant, now: datetime) -> tuple[datetime, datetime]:
    """The business's calendar month around `now`, as UTC instants [start, end)."""
    today = business_today(tenant, now)
    first = today.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return day_start_utc(tenant, first), day_start_utc(tenant, following)


def late_cancellations_this_month(
    session: Session, tenant: Tenant, student_id: int, now: datetime
) -> int:
    """The student's late cancellations so far in the business's month of `now`."""
    start, end = month_bounds(tenant, now)
    return (
        session.scalar(
            select(func.count(TutoringSession.id)).where(
                TutoringSession.student_id == student_id,
                TutoringSession.status == SessionStatus.CANCELLED,
                TutoringSession.cancelled_late.is_(True),
                TutoringSession.cancelled_at >= start,
                TutoringSession.cancelled_at < end,
            )
        )
        or 0
    )


def cost_of(session: Session, tenant: Tenant, ts: TutoringSession, now: datetime) -> Cost:
    """What cancelling `ts` now under the policy costs (one count query when late)."""
    policy = policy_for(tenant, ts)
    charged = ts.charged_minutes if ts.package_id is not None else 0
    # Only a session holding hours is cancelled "late": a proposal or an occurrence
    # waiting for hours is given up, not missed, and counts for nothing.
    late = charged > 0 and is_late(policy, ts, now)
    free_left = None
    kept = 0
    if late and policy.charges:
        kept = kept_minutes(charged, policy.keep_percent)
        if policy.free_per_month:
            used = late_cancellations_this_month(session, tenant, ts.student_id, now)
            free_left = max(policy.free_per_month - used, 0)
            if free_left > 0:
                kept = 0
    return Cost(policy, late, charged, kept, free_left)


MAX_EXPIRY_HOURS = 24 * 30
MAX_POLICY_TEXT = 2000


def _check_window(hours: int, field: str) -> None:
    if not 1 <= hours <= MAX_WINDOW_HOURS:
        raise DomainError(f"Enter a window from 1 to {MAX_WINDOW_HOURS} hours.", field=field)


def _check_percent(percent: int, field: str) -> None:
    if not 0 <= percent <= 100:
        raise DomainError("Enter a percentage from 0 to 100.", field=field)


def set_category_policy(
    category: SessionCategory, *, window_hours: int | None, keep_percent: int | None
) -> None:
    """A session category's own notice window and kept share (None: the business's);
    the rest of the policy (free cancellations, no-shows, its text) is the business's."""
    if window_hours is not None:
        _check_window(window_hours, "late_cancel_window_hours")
    if keep_percent is not None:
        _check_percent(keep_percent, "late_cancel_keep_percent")
    category.late_cancel_window_hours = window_hours
    category.late_cancel_keep_percent = keep_percent


def update_policy(
    session: Session,
    tenant: Tenant,
    *,
    window_hours: int,
    keep_percent: int,
    free_per_month: int | None,
    no_show_uses_hours: bool,
    text: str,
    proposal_expiry_hours: int,
) -> None:
    """Settings → Cancellation Policy: the business's rules for late cancellations,
    no-shows and unanswered proposals."""
    _check_window(window_hours, "window_hours")
    _check_percent(keep_percent, "percent")
    if free_per_month is not None and not 0 <= free_per_month <= MAX_FREE_PER_MONTH:
        raise DomainError(
            f"Enter 0 to {MAX_FREE_PER_MONTH} free late cancellations, or leave it empty.",
            field="free_per_month",
        )
    if not 0 <= proposal_expiry_hours <= MAX_EXPIRY_HOURS:
        raise DomainError(
            f"Enter 0 (never) to {MAX_EXPIRY_HOURS} hours.", field="proposal_expiry_hours"
        )
    text = (text or "").strip()
    if len(text) > MAX_POLICY_TEXT:
        raise DomainError(f"Keep the policy text under {MAX_POLICY_TEXT} characters.", field="text")
    tenant.late_cancel_window_hours = window_hours
    tenant.late_cancel_keep_percent = keep_percent
    tenant.late_cancel_free_per_month = free_per_month or None
    tenant.no_show_uses_hours = no_show_uses_hours
    tenant.cancellation_policy_text = text
    tenant.proposal_expiry_hours = proposal_expiry_hours
    session.flush()
