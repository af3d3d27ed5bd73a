"""Throughput of Admin → Reports on a large business, relative to hello world.

Seeds a database (temporary SQLite unless DATABASE_URL is set) with the demo business plus
`--students` students, each with a 40-hour package and `--sessions` sessions over the
last six months and the next weeks (completed, cancelled with their refunds, upcoming,
pending), with a ledger that matches (the audit passes). Then serves it with gunicorn and
hammers the reports page like bench/run.py does, twice: as configured (results kept for
REPORTS_CACHE_SECONDS, 60 in development) and from a second gunicorn that keeps nothing
(REPORTS_CACHE_SECONDS=0), so every request computes the report. With `--concurrency 1`
the p50 is one request's time; with more clients it includes the wait for a worker.

    .venv/bin/python bench/reports.py --students 2000 --sessions 12 --seconds 10
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import date, timedelta

from harness import (
    Client,
    Get,
    analyze,
    demo_env,
    gunicorn,
    load_options,
    load_pages,
    run_python,
    sign_in_demo,
)

SEED = r"""
import random, sys
from datetime import UTC, date, datetime, timedelta
from sqlalchemy import insert, select
from prepbase import categories, create_app
from prepbase.extensions import db
from prepbase.models import (Family, LedgerEntry, Package, Role, Student, Tenant, TutoringSession,
                             User)
from prepbase.tenancy import as_tenant

students, per_student = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(7)
app = create_app()
now = datetime.now(UTC).replace(microsecond=0)
with app.app_context():
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo"))
    tid = tenant.id
    with as_tenant(tid):
        staff = db.session.scalars(select(User.id).where(User.role.in_(("tutor", "admin")))).all()
        category_id = categories.default_category(db.session).id
        families = [{"tenant_id": tid, "name": f"Bench family {i}", "created_at": now}
                    for i in range(0, students, 3)]
        db.session.execute(insert(Family), families)
        family_ids = db.session.scalars(
            select(Family.id).where(Family.name.like("Bench family %")).order_by(Family.id)).all()
        db.session.execute(insert(Student), [
            {"tenant_id": tid, "family_id": family_ids[i // 3], "first_name": f"Student{i}",
             "last_name": f"Bench{i % 97}", "grade": str(6 + i % 7), "school": f"School {i % 13}",
             "notes": ""} for i in range(students)])
        student_ids = db.session.scalars(
            select(Student.id).where(Student.first_name.like("Student%")).order_by(Student.id)).all()
        granted = now - timedelta(days=200)
        db.session.execute(insert(Package), [
            {"tenant_id": tid, "student_id": sid, "name": "Bench Package", "service": "tutoring",
             "package_type": "one_time", "period": None, "period_minutes": 2400,
             "rollover": False, "start_date": date(2020, 1, 1), "active": True,
             "total_minutes": 2400, "remaining_minutes": 2400, "renewals_stopped": False,
             "created_at": granted} for sid in student_ids])
        package_of = dict(db.session.execute(
            select(Package.student_id, Package.id).where(Package.name == "Bench Package")).all())
        sessions, plans = [], []
        for sid in student_ids:
            for k in range(per_student):
                starts = now - timedelta(days=rng.randint(-20, 180), hours=rng.randint(0, 8))
                starts = starts.replace(minute=0, second=0)
                minutes = rng.choice((30, 60, 60, 90, 120))
                past = starts < now
                roll = rng.random()
                if past:
                    status = ("cancelled" if roll < 0.1
                              else "completed" if roll < 0.95 else "upcoming")
                else:
                    status = "pending" if roll < 0.3 else "cancelled" if roll < 0.4 else "upcoming"
                held = status in ("completed", "upcoming")
                row = {
                    "tenant_id": tid, "student_id": sid, "staff_id": staff[k % len(staff)],
                    "category_id": category_id,
                    "service": "tutoring", "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=minutes), "duration_minutes": minutes,
                    "status": status, "booked_by_family": True, "confirmed_at": None,
                    "package_id": package_of[sid] if status != "pending" else None,
                    "charged_minutes": minutes if held else 0,
                    "attendance": None, "attendance_at": None, "plan_topics": None,
                    "plan_submitted_at": None, "completed_at": None, "cancelled_at": None,
                    "created_at": starts - timedelta(days=7),
                }
                if status == "completed":
                    done = starts + timedelta(minutes=minutes, hours=rng.randint(0, 72))
                    row.update(attendance=rng.choice(("present", "present", "late", "absent")),
                               attendance_at=done, plan_topics="Bench", plan_submitted_at=done,
                               completed_at=done)
                if status == "cancelled":
                    row["cancelled_at"] = starts - timedelta(days=1)
                sessions.append(row)
        for i in range(0, len(sessions), 5000):
            db.session.execute(insert(TutoringSession), sessions[i:i + 5000])
        rows = db.session.execute(select(
            TutoringSession.id, TutoringSession.package_id, TutoringSession.status,
            TutoringSession.duration_minutes, TutoringSession.created_at,
            TutoringSession.cancelled_at).where(TutoringSession.package_id.in_(
                list(package_of.values()))).order_by(TutoringSession.created_at)).all()
        balance = {pid: 2400 for pid in package_of.values()}
        entries = [{"tenant_id": tid, "package_id": pid, "minutes": 2400, "kind": "grant",
                    "session_id": None, "actor_id": None, "balance_after": 2400,
                    "note": "Package assigned", "created_at": granted}
                   for pid in package_of.values()]
        events = []
        for r in rows:
            events.append((r.created_at, r.package_id, -r.duration_minutes, "debit", r.id))
            if r.status == "cancelled":
                events.append((r.cancelled_at, r.package_id, r.duration_minutes, "refund", r.id))
        events.sort(key=lambda e: e[0])
        for at, pid, minutes, kind, session_id in events:
            balance[pid] += minutes
            entries.append({"tenant_id": tid, "package_id": pid, "minutes": minutes, "kind": kind,
                            "session_id": session_id, "actor_id": None,
                            "balance_after": balance[pid], "note": "", "created_at": at})
        for i in range(0, len(entries), 5000):
            db.session.execute(insert(LedgerEntry), entries[i:i + 5000])
        for pid, left in balance.items():
            db.session.execute(
                Package.__table__.update().where(Package.__table__.c.id == pid)
                .values(remaining_minutes=left))
        db.session.commit()
        from prepbase.hours import audit
        assert audit(db.session) == []
        print(f"seeded {len(student_ids)} students, {len(sessions)} sessions, "
              f"{len(entries)} ledger entries")
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    load_options(parser, seconds=5, workers=2)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=12, help="per student")
    args = parser.parse_args()

    with demo_env("prepbase-bench-reports-") as env:
        began = time.perf_counter()
        run_python(env, SEED, str(args.students), str(args.sessions))
        print(f"seeding took {time.perf_counter() - began:.0f} s")
        analyze(env)

        uncached_env = {**env, "REPORTS_CACHE_SECONDS": "0"}
        with (
            gunicorn(env, args.workers) as server,
            gunicorn(uncached_env, args.workers) as uncached,
        ):
            cookies = sign_in_demo(server.port, "owner@brightpath.example.com")
            uncached_cookies = sign_in_demo(uncached.port, "owner@brightpath.example.com")
            year_ago = (date.today() - timedelta(days=365)).isoformat()
            staff_id = _staff_id(server.port, cookies)
            port = server.port
            pages = {
                "PrepBase /healthz": Get(port, "/healthz"),
                "reports (last 12 weeks)": Get(port, "/demo/admin/reports", cookies),
                "reports, uncached": Get(uncached.port, "/demo/admin/reports", uncached_cookies),
                "reports (1 year, by month)": Get(
                    port, f"/demo/admin/reports?date_from={year_ago}&bucket=month", cookies
                ),
                "… uncached": Get(
                    uncached.port,
                    f"/demo/admin/reports?date_from={year_ago}&bucket=month",
                    uncached_cookies,
                ),
                "reports, htmx: one tutor": Get(
                    port, f"/demo/admin/reports?staff={staff_id}", cookies
                ),
                "students CSV (all rows)": Get(port, "/demo/admin/reports/students.csv", cookies),
            }
            load_pages(
                server, env, f", {args.students} students × {args.sessions} sessions", pages, args
            )


def _staff_id(port: int, cookies: dict[str, str]) -> str:
    """The first staff member offered by the report's filter (a tutor of the demo)."""
    _, body = Client(port, cookies).request("GET", "/demo/admin/reports")
    found = re.search(rb'<option value="(\d+)">', body)
    return found.group(1).decode() if found else ""


if __name__ == "__main__":
    main()
