"""Design §12, the cancellation policy, rule by rule through the domain functions.

The clock is pinned (time-machine) at NOW, 07:00 on 1 December in the factories'
business (America/New_York), so ledger entries and cancellation times are where the
rules expect them whatever the machine's hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from prepbase import cancellation, hours, reports, scheduling
from prepbase.errors import DomainError
from prepbase.models import EntryKind, LedgerEntry, SessionStatus
from prepbase.tenancy import as_tenant
from tests import test_series
from tests.test_hours_rules import book, give, propose

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(app, business, db_session):
    with app.app_context(), as_tenant(business.tenant.id), time_machine.travel(NOW, tick=False):
        yield business


def set_policy(db_session, world, *, keep=50, window=24, free=None, no_show=True, expiry=72):
    cancellation.update_policy(
        db_session,
        world.tenant,
        window_hours=window,
        keep_percent=keep,
        free_per_month=free,
        no_show_uses_hours=no_show,
        text="Please give us a day's notice.",
        proposal_expiry_hours=expiry,
    )


def entries(db_session, ts):
    return [
        (e.kind, e.minutes)
        for e in db_session.scalars(
            select(LedgerEntry).where(LedgerEntry.session_id == ts.id).order_by(LedgerEntry.id)
        )
    ]


def cancel(db_session, world, ts, actor=None, **kw):
    return scheduling.cancel_session(
        db_session, world.tenant, actor or world.parent, ts, now=kw.pop("now", NOW), **kw
    )


# --- the arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charged", "percent", "kept"),
    [(60, 50, 30), (45, 50, 23), (50, 33, 17), (40, 33, 13), (90, 0, 0), (90, 100, 90), (5, 10, 1)],
)
def test_kept_minutes_round_half_up_to_whole_minutes(charged, percent, kept):
    assert cancellation.kept_minutes(charged, percent) == kept


# --- inside and outside the window ---------------------------------------------------------------


def test_cancel_outside_the_window_refunds_everything(world, db_session):
    set_policy(db_session, world)
    package = give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=25))
    cost = cancel(db_session, world, ts)
    assert not cost.late and cost.kept == 0
    assert entries(db_session, ts) == [(EntryKind.DEBIT, -60), (EntryKind.REFUND, 60)]
    db_session.refresh(package)
    assert package.remaining_minutes == 300 and not ts.cancelled_late


def test_late_family_cancel_keeps_the_policy_share_as_its_own_entry(world, db_session):
    set_policy(db_session, world, keep=50)
    package = give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=23))
    cost = cancellation.cost_of(db_session, world.tenant, ts, NOW)
    assert cost.sentence("Mia") == (
        "Cancelling now keeps 0.5 of this session's 1 hour, per Acme Tutoring's "
        "24-hour policy, and returns 0.5 hours to the package."
    )
    cancel(db_session, world, ts, expected_kept=30)
    assert ts.status == SessionStatus.CANCELLED and ts.cancelled_late
    assert ts.charged_minutes == 30  # the session still holds what was kept
    assert entries(db_session, ts) == [
        (EntryKind.DEBIT, -60),
        (EntryKind.REFUND, 60),
        (EntryKind.LATE_CANCELLATION, -30),
    ]
    db_session.refresh(package)
    assert package.remaining_minutes == 270
    assert EntryKind.LATE_CANCELLATION.label == "Late cancellation"
    assert hours.audit(db_session) == []


def test_policy_off_by_default_keeps_nothing(world, db_session):
    assert cancellation.policy_for(world.tenant).keep_percent == 0
    package = give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=2))
    cancel(db_session, world, ts)
    db_session.refresh(package)
    assert package.remaining_minutes == 300 and ts.charged_minutes == 0


def test_all_of_the_hours_and_rounding_in_the_ledger(world, db_session):
    set_policy(db_session, world, keep=33)
    give(db_session, world, "5")
    ts = book(db_session, world, 50, at=NOW + timedelta(hours=3))
    cancel(db_session, world, ts)
    assert entries(db_session, ts)[-1] == (EntryKind.LATE_CANCELLATION, -17)  # 16.5 → 17
    set_policy(db_session, world, keep=100)
    other = book(db_session, world, 45, at=NOW + timedelta(hours=5))
    cost = cancellation.cost_of(db_session, world.tenant, other, NOW)
    assert cost.sentence("Mia").startswith("Cancelling now keeps all of this session's 0.75 hours")
    cancel(db_session, world, other)
    assert entries(db_session, other)[-1] == (EntryKind.LATE_CANCELLATION, -45)


def test_a_cost_other_than_the_one_shown_is_refused(world, db_session):
    set_policy(db_session, world, keep=50)
    give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=23))
    with pytest.raises(scheduling.CostChanged, match=r"keeps 0\.5"):
        cancel(db_session, world, ts, expected_kept=0)  # shown while still outside
    db_session.rollback()


# --- the free monthly allowance ------------------------------------------------------------------


def test_free_late_cancellations_count_in_the_business_calendar_month(world, db_session):
    set_policy(db_session, world, keep=50, free=1)
    give(db_session, world, "20")
    # 03:00 UTC on 1 December is still 30 November in New York: November's free one.
    november = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with time_machine.travel(november, tick=False):
        first = scheduling.book_session(
            db_session,
            world.tenant,
            world.parent,
            student=world.students[0],
            staff=world.tutor,
            service="tutoring",
            starts_at=november + timedelta(hours=5),
            duration_minutes=60,
            now=november,
        )
        cost = cancel(db_session, world, first, now=november)
    assert cost.free and cost.kept == 0 and first.cancelled_late
    assert "one of Mia's 1 free late cancellations" in cost.sentence("Mia")
    # December starts afresh: its first late cancellation is free too, the second is not.
    second = book(db_session, world, 60, at=NOW + timedelta(hours=5))
    assert cancel(db_session, world, second).kept == 0
    third = book(db_session, world, 60, at=NOW + timedelta(hours=7))
    assert cancel(db_session, world, third).kept == 30
    # Another student's allowance is their own.
    give(db_session, world, "5", student=1)
    theirs = book(db_session, world, 60, at=NOW + timedelta(hours=9), student=1)
    assert cancel(db_session, world, theirs).kept == 0
    assert hours.audit(db_session) == []


# --- staff, admins, waivers ----------------------------------------------------------------------


def test_staff_cancel_refunds_all_by_default_or_applies_the_policy(world, db_session):
    set_policy(db_session, world, keep=50)
    give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=2))
    assert cancel(db_session, world, ts, actor=world.tutor) is None
    assert entries(db_session, ts)[-1] == (EntryKind.REFUND, 60) and not ts.cancelled_late
    other = book(db_session, world, 60, at=NOW + timedelta(hours=4))
    cost = cancel(db_session, world, other, actor=world.admin, apply_policy=True)
    assert cost.kept == 30 and other.cancelled_late
    assert entries(db_session, other)[-1] == (EntryKind.LATE_CANCELLATION, -30)


def test_started_session_families_cannot_cancel_staff_can_apply_policy(world, db_session):
    set_policy(db_session, world, keep=100)
    give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=1))
    started = NOW + timedelta(hours=1, minutes=2)
    with pytest.raises(DomainError, match="has started"):
        cancel(db_session, world, ts, now=started)
    cost = cancel(db_session, world, ts, actor=world.tutor, apply_policy=True, now=started)
    assert cost.kept == 60


def test_admin_waives_a_late_cancellation_once_with_a_note(world, db_session):
    set_policy(db_session, world, keep=50)
    package = give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=2))
    cancel(db_session, world, ts)
    with pytest.raises(DomainError, match="note"):
        scheduling.waive_late_cancellation(db_session, world.tenant, world.admin, ts, " ")
    with pytest.raises(DomainError, match="Only admins"):
        scheduling.waive_late_cancellation(db_session, world.tenant, world.tutor, ts, "x")
    given = scheduling.waive_late_cancellation(
        db_session, world.tenant, world.admin, ts, "Family emergency"
    )
    assert given == 30 and ts.charged_minutes == 0
    assert entries(db_session, ts)[-1] == (EntryKind.WAIVER, 30)
    waiver = db_session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == EntryKind.WAIVER)
    ).one()
    assert (waiver.note, waiver.actor_id) == ("Family emergency", world.admin.id)
    db_session.refresh(package)
    assert package.remaining_minutes == 300
    with pytest.raises(DomainError, match="no late-cancellation charge"):
        scheduling.waive_late_cancellation(db_session, world.tenant, world.admin, ts, "again")
    assert hours.audit(db_session) == []


# --- no-shows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("uses", "remaining"), [(True, 240), (False, 300)])
def test_no_show_uses_the_hours_or_not(world, db_session, uses, remaining):
    set_policy(db_session, world, keep=0, no_show=uses)
    package = give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=1))
    later = ts.starts_at + timedelta(minutes=10)
    scheduling.take_attendance(db_session, world.tenant, world.tutor, ts, "absent", now=later)
    db_session.refresh(package)
    assert package.remaining_minutes == remaining
    assert ts.charged_minutes == (60 if uses else 0)
    assert hours.audit(db_session) == []


# --- series and proposals ------------------------------------------------------------------------


def test_pending_proposal_cancel_costs_nothing(world, db_session):
    set_policy(db_session, world, keep=100)
    give(db_session, world, "5")
    ts = propose(db_session, world, 60, at=NOW + timedelta(hours=3))
    cost = cancel(db_session, world, ts)
    assert cost.kept == 0 and entries(db_session, ts) == []
    assert not cost.late and not ts.cancelled_late  # not counted as a late cancellation


def test_settings_refuse_values_out_of_range(world, db_session):
    for kw, field in (
        ({"keep": 101}, "percent"),
        ({"window": 0}, "window_hours"),
        ({"free": 40}, "free_per_month"),
        ({"expiry": -1}, "proposal_expiry_hours"),
    ):
        with pytest.raises(DomainError) as refused:
            set_policy(db_session, world, **kw)
        assert refused.value.field == field


# --- reports ---------------------------------------------------------------------------------


def test_reports_count_late_cancellations_and_no_shows_per_month_and_at_risk(world, db_session):
    set_policy(db_session, world, keep=50)
    package = give(db_session, world, "10")
    late = book(db_session, world, 60, at=NOW + timedelta(hours=3))
    cancel(db_session, world, late)
    absent = book(db_session, world, 60, at=NOW + timedelta(hours=5))
    later = absent.starts_at + timedelta(minutes=10)
    scheduling.take_attendance(db_session, world.tenant, world.tutor, absent, "absent", now=later)
    on_time = book(db_session, world, 60, at=NOW + timedelta(days=3))
    cancel(db_session, world, on_time)  # outside the window: not late
    now = NOW + timedelta(days=1)
    today = date(2026, 12, 2)
    filters = reports.ReportFilters(date_from=date(2026, 11, 1), date_to=today)
    window = reports.Window.of("America/New_York", filters, now)
    strikes = reports.strikes_by_month(db_session, filters, window)
    assert [(s.name, s.month, s.late_cancels, s.no_shows) for s in strikes.items] == [
        (world.students[0].full_name, date(2026, 12, 1), 1, 1)
    ]
    figures = {s.student_id: s for s in reports.student_figures(db_session, filters, window).items}
    mia = figures[world.students[0].id]
    assert (mia.late_cancels, mia.no_shows, mia.late_30, mia.no_shows_30) == (1, 1, 1, 1)
    assert mia.used == 60 + 30  # the no-show's hour and what the late cancellation kept
    risky = reports.at_risk(db_session, filters, window).items
    assert [s.student_id for s in risky] == [world.students[0].id]
    assert "1 late cancellation and 1 no-show in the last 30 days" in risky[0].risks
    db_session.refresh(package)
    assert package.remaining_minutes == 600 - 60 - 30


def test_family_this_and_following_refuses_a_session_the_policy_charges(world, db_session):
    series_now = test_series.NOW  # Mon 4 Jan 2027, 10 AM; the first Tuesday is 30 hours on
    with time_machine.travel(series_now, tick=False):
        set_policy(db_session, world, keep=50, window=48)
        give(db_session, world, "10", start=date(2027, 1, 1))
        made = test_series.book(db_session, world, count=3)
        with pytest.raises(DomainError, match="cancel it on its own first"):
            scheduling.cancel_following(
                db_session, world.tenant, world.parent, made[0], now=series_now
            )
        assert [ts.status for ts in made] == [SessionStatus.UPCOMING] * 3
        # Staff "this and following" refunds all (the business cancels).
        change = scheduling.cancel_following(
            db_session, world.tenant, world.tutor, made[0], now=series_now
        )
        assert len(change.changed) == 3 and change.refunded == 180


# --- a session category's own policy -------------------------------------------------------------


def test_a_category_sets_its_own_window_and_share(world, db_session):
    set_policy(db_session, world, keep=50, window=24)
    give(db_session, world, "5")
    ts = book(db_session, world, 60, at=NOW + timedelta(hours=30))
    assert not cancellation.cost_of(db_session, world.tenant, ts, NOW).late  # the business's
    cancellation.set_category_policy(ts.category, window_hours=48, keep_percent=100)
    cost = cancellation.cost_of(db_session, world.tenant, ts, NOW)
    assert (cost.late, cost.kept, cost.policy.window_hours) == (True, 60, 48)
    assert "48-hour policy" in cost.sentence("Mia")
    # Only what the category sets is its own: the share falls back to the business's 50 %.
    cancellation.set_category_policy(ts.category, window_hours=48, keep_percent=None)
    assert cancellation.cost_of(db_session, world.tenant, ts, NOW).kept == 30
    cancellation.set_category_policy(ts.category, window_hours=None, keep_percent=None)
    assert not cancellation.cost_of(db_session, world.tenant, ts, NOW).late


@pytest.mark.parametrize(
    ("window", "keep", "field"),
    [
        (0, None, "late_cancel_window_hours"),
        (169, None, "late_cancel_window_hours"),
        (None, -1, "late_cancel_keep_percent"),
        (None, 101, "late_cancel_keep_percent"),
    ],
)
def test_a_category_policy_out_of_range_is_refused(world, db_session, window, keep, field):
    give(db_session, world, "5")
    category = book(db_session, world, 60).category
    with pytest.raises(DomainError) as refused:
        cancellation.set_category_policy(category, window_hours=window, keep_percent=keep)
    assert refused.value.field == field
    assert (category.late_cancel_window_hours, category.late_cancel_keep_percent) == (None, None)
