"""Throughput of the Calendar (issue 13) under gunicorn, on loopback only.

Seeds the demo business, gives tutor Maya Chen working hours every day 8 AM–8 PM and puts
300 sessions in one week (every staff member and student, of every status, overlapping),
then hammers, for a few seconds each: hello world, the admin's week (the whole page and
the htmx fragment that previous / next swap in), the admin's week filtered on Maya (with
her working hours shaded and her free times), Maya's own week, and a parent's week.
Figures are multiples of the hello-world yardstick `harness.load_pages` serves with the
same gunicorn settings in the same run; PrepBase's own /healthz is a row of its own. A
page's statements do not grow with its sessions (tests/test_query_counts.py holds them to
a fixed few): what this measures is the Python that lays 300 sessions out and renders
them.

    .venv/bin/python bench/calendar_week.py --seconds 10 --concurrency 8 --workers 2

Set DATABASE_URL for PostgreSQL. (Not bench/calendar.py: a script's folder comes first on
the import path, and that name would stand in for the standard library's `calendar`,
which `http.client` needs.)
"""

from __future__ import annotations

import argparse
import json
from urllib.parse import urlencode

from harness import Get, demo_env, gunicorn, load_options, load_pages, run_python, sign_in_demo

SESSIONS = 300

SEED_WEEK = """
import json, sys
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo
from sqlalchemy import insert, select
from prepbase import availability, categories, create_app
from prepbase.extensions import db
from prepbase.models import STAFF_ROLES, StaffService, Student, Tenant, TutoringSession, User
from prepbase.tenancy import as_tenant

count = int(sys.argv[1])
app = create_app()
with app.app_context():
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo"))
    with as_tenant(tenant.id):
        admin = db.session.scalar(select(User).where(User.email == "owner@brightpath.example.com"))
        maya = db.session.scalar(select(User).where(User.email == "maya@brightpath.example.com"))
        availability.set_weekly_hours(db.session, tenant, admin, maya,
                                      {d: [(8 * 60, 20 * 60)] for d in range(7)})
        staff = db.session.execute(
            select(User.id, StaffService.service)
            .join(StaffService, StaffService.user_id == User.id)
            .where(User.role.in_(STAFF_ROLES), User.active.is_(True)).order_by(User.id)).all()
        students = db.session.scalars(select(Student.id).order_by(Student.id)).all()
        category_id = categories.default_category(db.session).id
        zone = ZoneInfo(tenant.timezone)
        today = datetime.now(zone).date()
        monday = today + timedelta(days=7 - today.weekday())
        statuses = ("pending", "upcoming", "completed", "cancelled")
        rows = []
        for n in range(count):
            staff_id, service = staff[n % len(staff)]
            day = monday + timedelta(days=n % 7)
            local = datetime.combine(day, time(8 + n % 11, 15 * (n % 4)), tzinfo=zone)
            starts = local.astimezone(ZoneInfo("UTC"))
            rows.append({"tenant_id": tenant.id, "category_id": category_id,
                         "student_id": students[n % len(students)],
                         "staff_id": staff_id, "service": service, "starts_at": starts,
                         "ends_at": starts + timedelta(minutes=60), "duration_minutes": 60,
                         "status": statuses[n % 4]})
        db.session.execute(insert(TutoringSession), rows)
        db.session.commit()
        print(json.dumps({"monday": monday.isoformat(), "maya": maya.id}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    load_options(parser, seconds=5, workers=2)
    args = parser.parse_args()

    with demo_env("prepbase-bench-calendar-") as env:
        seeded = run_python(env, SEED_WEEK, str(SESSIONS), capture=True)
        ids = json.loads(seeded.strip().splitlines()[-1])
        week = {"view": "week", "date": ids["monday"], "status": "all"}

        with gunicorn(env, args.workers) as server:
            port = server.port
            admin = sign_in_demo(port, "owner@brightpath.example.com")
            maya = sign_in_demo(port, "maya@brightpath.example.com")
            parent = sign_in_demo(port, "ana.garcia@example.com")
            every = "/demo/admin/schedule?" + urlencode(week)
            hers = "/demo/admin/schedule?" + urlencode({**week, "staff": ids["maya"]})
            pages = {
                "PrepBase /healthz": Get(port, "/healthz"),
                f"admin week, {SESSIONS} sessions": Get(port, every, admin),
                "the same week (HTMX fragment)": Get(
                    port, every, admin, headers={"HX-Request": "true"}
                ),
                "admin week, one tutor shaded": Get(port, hers, admin),
                "tutor's own week": Get(port, "/demo/tutor/schedule?" + urlencode(week), maya),
                "parent's week": Get(port, "/demo/family/schedule?" + urlencode(week), parent),
            }
            load_pages(
                server,
                env,
                f"; {SESSIONS} sessions in one week, tutor with hours 8 AM-8 PM daily",
                pages,
                args,
            )


if __name__ == "__main__":
    main()
