"""Throughput of the open-slots endpoint (issue 7) under gunicorn, on loopback only.

Seeds the demo business, gives tutor Maya Chen working hours every day 8 AM–8 PM and a
month of sessions (two a day), signs in as parent Ana Garcia and hammers, for a few
seconds each: hello world, the slots fragment for one day (what picking a day loads)
and the whole Book Session page (which finds the first open day). Figures are relative
to hello world served by the same processes; the target for the fragment is ≥ 0.3×.

    .venv/bin/python bench/slots.py --seconds 10 --concurrency 8 --workers 2

Set DATABASE_URL for PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
from urllib.parse import urlencode

from harness import Get, demo_env, gunicorn, load_options, load_pages, run_python, sign_in_demo

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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    load_options(parser, seconds=5, workers=2)
    args = parser.parse_args()

    with demo_env("prepbase-bench-slots-") as env:
        seeded = run_python(env, SEED_SCHEDULE, capture=True)
        ids = json.loads(seeded.strip().splitlines()[-1])

        with gunicorn(env, args.workers) as server:
            cookies = sign_in_demo(server.port, "ana.garcia@example.com")
            choices = {
                "student": ids["student"],
                "service": "tutoring",
                "staff": ids["staff"],
                "duration": "1",
            }
            one_day = "/demo/family/slots?" + urlencode({**choices, "date": ids["day"]})
            book = "/demo/family/sessions/new?" + urlencode(choices)
            port = server.port
            pages = {
                "PrepBase /healthz": Get(port, "/healthz"),
                "slots of one day (HTMX)": Get(
                    port, one_day, cookies, headers={"HX-Request": "true"}
                ),
                "Book Session page": Get(port, book, cookies),
            }
            load_pages(
                server,
                env,
                "; tutor with hours 8 AM-8 PM daily and 60 sessions over a month",
                pages,
                args,
            )


if __name__ == "__main__":
    main()
