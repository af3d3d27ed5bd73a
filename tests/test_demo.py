"""The demo business has a past (issue 16), and the one way the ledger is dated in it.

`flask prepbase seed-demo` writes months of history: packages bought weeks and months
ago, lessons completed with attendance and action plans, cancellations, renewals, all
with ledger entries dated when they happened, in time order, and a clean audit. These
tests run on SQLite and on PostgreSQL (PREPBASE_TEST_DB).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from prepbase import hours, packages
from prepbase.demo import DEMO_PASSWORD
from prepbase.hours import audit
from prepbase.localtime import business_today, local_date
from prepbase.models import (
    Attendance,
    EntryKind,
    LedgerEntry,
    Package,
    SessionStatus,
    Tenant,
    TutoringSession,
    utcnow,
)
from prepbase.tenancy import as_tenant
from tests.factories import business_today as factory_today

ROOT = Path(__file__).resolve().parent.parent


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def demo(app, db_session):
    """The demo business, seeded by the CLI command into the test's transaction."""
    result = app.test_cli_runner().invoke(args=["prepbase", "seed-demo"])
    assert result.exit_code == 0, result.output
    tenant = db_session.scalar(select(Tenant).where(Tenant.slug == "demo"))
    with app.app_context(), as_tenant(tenant.id):
        yield tenant


def entries(db_session) -> list[LedgerEntry]:
    return list(db_session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))


# --- the ledger of the past ----------------------------------------------------------------


def test_demo_audit_is_clean(demo, db_session, app):
    assert audit(db_session) == []
    result = app.test_cli_runner().invoke(args=["prepbase", "audit"])
    assert result.exit_code == 0 and "every balance matches its ledger" in result.output


def test_demo_ledger_is_spread_over_months_never_in_the_future(demo, db_session):
    rows = entries(db_session)
    now = utcnow()
    assert all(e.created_at <= now for e in rows)
    weeks = {local_date(demo, e.created_at).isocalendar()[:2] for e in rows}
    assert len(weeks) >= 12, weeks  # not "everything happened a minute ago"
    oldest = min(e.created_at for e in rows)
    assert now - oldest > timedelta(days=90)
    # Most of the history is older than a day: only today's own actions are recent.
    recent = [e for e in rows if now - e.created_at < timedelta(days=1)]
    assert len(recent) < len(rows) / 4


def test_demo_ledger_reads_in_time_order_with_running_balances(demo, db_session):
    by_package: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in entries(db_session):
        by_package[entry.package_id].append(entry)
    for package_id, rows in by_package.items():
        assert [e.created_at for e in rows] == sorted(e.created_at for e in rows), package_id
        balance = 0
        for entry in rows:
            balance += entry.minutes
            assert entry.balance_after == balance, (package_id, entry.id)


def test_demo_packages_were_bought_weeks_and_months_ago(demo, db_session):
    today = business_today(demo)
    rows = db_session.scalars(select(Package).order_by(Package.id)).all()
    ages = sorted((today - p.start_date).days for p in rows)
    assert ages[-1] > 100 and ages[0] >= 14, ages
    for package in rows:
        grant = db_session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.package_id == package.id, LedgerEntry.kind == EntryKind.GRANT
            )
        )
        assert local_date(demo, grant.created_at) == package.start_date
        assert package.created_at == grant.created_at


def test_demo_renewals_are_dated_at_their_periods_and_the_job_has_nothing_left(demo, db_session):
    recurring = db_session.scalar(select(Package).where(Package.package_type == "recurring"))
    renewals = db_session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.package_id == recurring.id, LedgerEntry.kind == EntryKind.RENEWAL
        )
    ).all()
    assert len(renewals) >= 2
    for entry in renewals:
        assert local_date(demo, entry.created_at) == entry.renewal_period
    # Unused hours of a period do not roll over: an adjustment at the renewal.
    kinds = {e.kind for e in recurring.entries}
    assert EntryKind.ADJUSTMENT in kinds
    before = db_session.scalar(select(func.count(LedgerEntry.id)))
    report = packages.renew_due(db_session, business_today(demo))
    assert report.renewed == 0
    assert db_session.scalar(select(func.count(LedgerEntry.id))) == before


def test_demo_sessions_were_completed_in_the_past(demo, db_session):
    now = utcnow()
    sessions = db_session.scalars(select(TutoringSession)).all()
    completed = [s for s in sessions if s.status == SessionStatus.COMPLETED]
    assert len(completed) >= 30
    for ts in completed:
        assert ts.ends_at < now and ts.attendance and ts.plan_topics
        assert ts.created_at < ts.starts_at < ts.attendance_at <= ts.plan_submitted_at < now
        assert ts.charged_minutes == ts.duration_minutes and ts.package_id is not None
    assert {Attendance.PRESENT, Attendance.LATE, Attendance.ABSENT} <= {
        ts.attendance for ts in completed
    }
    spread = {local_date(demo, ts.starts_at).isocalendar()[:2] for ts in completed}
    assert len(spread) >= 12
    cancelled = [s for s in sessions if s.status == SessionStatus.CANCELLED]
    assert cancelled and all(
        s.charged_minutes == 0 and s.cancelled_at < s.starts_at < now for s in cancelled
    )
    # Each cancellation refunded the session's hours to the package that paid.
    for ts in cancelled:
        kinds = [e.kind for e in ts.package.entries if e.session_id == ts.id]
        assert kinds == [EntryKind.DEBIT, EntryKind.REFUND]
    statuses = {s.status for s in sessions}
    assert {SessionStatus.PENDING, SessionStatus.UPCOMING, SessionStatus.DECLINED} <= statuses
    # Every session holding hours took them from its package's ledger.
    for ts in sessions:
        held = (
            sum(e.minutes for e in ts.package.entries if e.session_id == ts.id) if ts.package else 0
        )
        assert -held == ts.charged_minutes, ts.id


def test_demo_has_one_student_running_low_and_one_drifting_away(demo, db_session):
    today = business_today(demo)
    low = db_session.scalars(
        select(Package).where(
            Package.active_on(today), Package.remaining_minutes <= demo.low_balance_minutes
        )
    ).all()
    assert [p.student.first_name for p in low] == ["Mia"]
    expired = db_session.scalars(select(Package).where(~Package.active_on(today))).all()
    assert [(p.student.first_name, p.remaining_minutes) for p in expired] == [("Leo", 0)]


def test_demo_pages_look_like_a_running_business(demo, db_session, client):
    def sign_in(email: str) -> None:
        client.post("/demo/logout")
        response = client.post("/demo/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code in (302, 303)

    sign_in("owner@brightpath.example.com")
    dashboard = text(client.get("/demo/admin/"))
    assert "Running low" in dashboard and "SAT Intensive" in dashboard
    assert "every step is done" in dashboard  # the Get going checklist, folded away
    reports = client.get("/demo/admin/reports")
    assert reports.status_code == 200
    body = text(reports)
    for name in ("Leo Garcia", "Ethan Johnson", "Zoe Smith", "Mia Garcia", "Noah Patel"):
        assert name in body
    assert "Hours left, nothing booked, no session for 14+ days" in body  # Noah, at risk
    csv = text(client.get("/demo/admin/reports/hours.csv"))
    weeks_with_use = [line for line in csv.splitlines()[1:] if line.split(",")[2] not in ("0", "")]
    assert len(weeks_with_use) >= 10, csv
    leo = db_session.scalar(select(Package).where(Package.expires_on.is_not(None))).student
    packages_tab = text(client.get(f"/demo/admin/students/{leo.id}/packages"))
    assert "Expired" in packages_tab and "<svg" in packages_tab

    sign_in("sam@brightpath.example.com")
    tutor = text(client.get("/demo/tutor/"))
    assert "No new family bookings to confirm" not in tutor  # Beth's booking of today
    assert "Set your working hours" not in tutor
    sign_in("ana.garcia@example.com")
    family = text(client.get("/demo/family/"))
    assert "Quadratic equations" in family and "Accept" in family
    assert "running low" in family.lower() and "(projected run-out date)" in family
    sign_in("raj.patel@example.com")
    assert client.get("/demo/family/").status_code == 200


# --- `at=`: the one way to date a ledger entry ----------------------------------------------


def test_dated_entries_keep_their_date_and_pass_the_audit(app, business, db_session):
    with app.app_context(), as_tenant(business.tenant.id):
        then = utcnow() - timedelta(days=30)
        package = packages.assign_package(
            db_session,
            business.admin,
            business.students[0],
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=600,
            start_date=factory_today(-30),
            at=then,
        )
        hours.adjust(db_session, package, -60, business.admin, "Imported", at=then + timedelta(1))
        hours.adjust(db_session, package, 30, business.admin, "Correction")  # now
        rows = hours.package_ledger(db_session, package)
        assert [e.created_at for e in rows[:2]] == [then, then + timedelta(days=1)]
        assert utcnow() - rows[2].created_at < timedelta(minutes=1)
        assert package.created_at == then and audit(db_session) == []


def test_a_dated_entry_cannot_be_in_the_future_or_before_the_latest(app, business, db_session):
    with app.app_context(), as_tenant(business.tenant.id):
        package = packages.assign_package(
            db_session,
            business.admin,
            business.students[0],
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=600,
            start_date=date(2020, 1, 1),
        )
        count = len(hours.package_ledger(db_session, package))
        with pytest.raises(ValueError, match="future"):
            hours.grant(db_session, package, 60, None, at=utcnow() + timedelta(hours=1))
        with pytest.raises(ValueError, match="after"):
            hours.grant(db_session, package, 60, None, at=utcnow() - timedelta(days=1))
        assert len(hours.package_ledger(db_session, package)) == count


DATED_VERBS = {
    "grant",
    "renew",
    "debit_for_session",
    "refund_for_session",
    "adjust",
    "expire_leftover",
    "assign_package",
    "renew_package",
}


def test_only_the_demo_seeder_dates_ledger_entries():
    # Pages, jobs and webhooks stamp entries now; `at=` is for writing down a past
    # (prepbase/demo.py) and is passed on only by the packages verbs that wrap hours'.
    callers = set()
    for path in (ROOT / "prepbase").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in DATED_VERBS and any(k.arg == "at" for k in node.keywords):
                callers.add(str(path.relative_to(ROOT)))
    assert callers == {"prepbase/demo.py", "prepbase/packages.py"}
