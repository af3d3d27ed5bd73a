"""Throughput of the open-slots endpoint (issue 7) under gunicorn, on loopback only.

Seeds the demo business, gives tutor Maya Chen working hours every day 8 AM–8 PM and a
month of sessions (two a day), signs in as parent Ana Garcia and hammers, for a few
seconds each: hello world, the slots fragment for one day (what picking a day loads)
and the whole Book Session page (which finds the first open day). Figures are relative
to hello world served by the same processes; the target for the fragment is ≥ 0.3×.

    .venv/bin/python bench/slots.py --seconds 10 --concurrency 8 --workers 2

Uses the helpers of bench/run.py (imported, not copied). Set DATABASE_URL for PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, ROOT, demo_env, gunicorn, hammer, sign_in, worker_rss_mb

SEED_SCHEDULE = """
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo
from sqlalchemy import select
from prepbase import create_app, availability, packages, scheduling
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.models import Student, Tenant, User, utcnow
from prepbase.tenancy import as_tenant

app = create_app()
with app.app_context():
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo"))
    with as_tenant(tenant.id):
        admin = db.session.scalar(select(User).where(User.email == "owner@brightpath.example.com"))
        maya = db.session.scalar(select(User).where(User.email == "maya@brightpath.example.com"))
        availability.set_weekly_hours(db.session, tenant, admin, maya,
                                      {d: [(8 * 60, 20 * 60)] for d in range(7)})
        students = db.session.scalars(select(Student).order_by(Student.id)).all()
        for s in students:
            packages.assign_package(db.session, admin, s, name="Bench hours", service="tutoring",
                                    package_type="one_time", period=None, minutes=500 * 60,
                                    start_date=date(2020, 1, 1))
        parents = {s.id: db.session.scalar(select(User).where(User.family_id == s.family_id,
                                                             User.role == "parent"))
                   for s in students}
        zone = ZoneInfo(tenant.timezone)
        today = datetime.now(zone).date()
        for n in range(2, 32):
            for i, hour in enumerate((10, 16)):
                s = students[(2 * n + i) % len(students)]
                at = datetime.combine(today + timedelta(days=n), time(hour), tzinfo=zone)
                try:  # the demo's own sessions already hold some of these times
                    with db.session.begin_nested():
                        scheduling.book_session(db.session, tenant, parents[s.id], student=s,
                                                staff=maya, service="tutoring",
                                                starts_at=at.astimezone(ZoneInfo("UTC")),
                                                duration_minutes=60)
                except DomainError:
                    continue
        db.session.commit()
        leo = next(s for s in students if s.first_name == "Leo")
        print(json.dumps({"student": leo.id, "staff": maya.id,
                          "day": (today + timedelta(days=12)).isoformat()}))
"""


def main() -> None:
    import json

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    env = demo_env("prepbase-bench-slots-")
    seeded = subprocess.run(
        [str(BIN / "python"), "-c", SEED_SCHEDULE],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    ids = json.loads(seeded.stdout.strip().splitlines()[-1])

    with gunicorn(env, args.workers) as (port, server):
        cookie = sign_in(port, "ana.garcia@example.com", "prepbase-demo")
        choices = {
            "student": ids["student"],
            "service": "tutoring",
            "staff": ids["staff"],
            "duration": "1",
        }
        one_day = "/demo/family/slots?" + urlencode({**choices, "date": ids["day"]})
        endpoints = [
            ("hello world (/healthz)", "/healthz", "", None),
            ("slots of one day (HTMX)", one_day, cookie, {"HX-Request": "true"}),
            ("Book Session page", "/demo/family/sessions/new?" + urlencode(choices), cookie, None),
        ]
        db_kind = env["DATABASE_URL"].split(":", 1)[0]
        print(
            f"database: {db_kind}; tutor with hours 8 AM-8 PM daily and 60 sessions over a "
            f"month; gunicorn workers: {args.workers}; clients: {args.concurrency}; "
            f"{args.seconds:g} s per endpoint; CPUs: {os.cpu_count()}"
        )
        print(f"{'endpoint':<30}{'req/s':>9}{'× hello':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
        hello = None
        for label, path, auth_cookie, headers in endpoints:
            hammer(port, path, auth_cookie, 0.5, 2, headers)  # warm up
            result = hammer(port, path, auth_cookie, args.seconds, args.concurrency, headers)
            hello = hello or result["rps"]
            print(
                f"{label:<30}{result['rps']:>9.0f}{result['rps'] / hello:>9.2f}"
                f"{result['p50']:>9.1f}{result['p95']:>9.1f}{result['errors']:>8}"
            )
        rss = worker_rss_mb(server.pid)
        print(f"worker memory (RSS): {', '.join(f'{r:.0f} MB' for r in rss)}")


if __name__ == "__main__":
    main()
