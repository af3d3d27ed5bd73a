"""Throughput, latency and memory of PrepBase pages under gunicorn, on loopback only.

Seeds a database (temporary SQLite unless DATABASE_URL is set), starts gunicorn, signs
in as the demo admin and hammers each endpoint with N keep-alive clients for a few
seconds. Figures are multiples of a bare Flask hello world (bench/hello_app.py) served
by gunicorn with the same settings in the same run.

It also measures whether a page's cost grows with a package's history (issue 18): two
families of the demo business are alike but for their one package's ledger, 10 entries
or 2,000 (one every 12 hours going back from now: every day of the charts' window has
a change, the case that draws the most points). Their family dashboard, the admin's
Packages tab of their student, the admin's package page and the family's package
history (both list one page of the ledger) take turns with hello world over `--rounds`
rounds, and the last lines compare 2,000 entries with 10 (target: within 1.15×). The two
ledger pages show 50 rows of the 2,000 but only the 10 of the short history, so part of
their gap is the 40 more rows drawn, not the history read.

    .venv/bin/python bench/run.py --seconds 10 --concurrency 8 --workers 2 --students 2000
"""

from __future__ import annotations

import argparse
import json

from harness import (
    Get,
    Result,
    analyze,
    demo_env,
    gunicorn,
    load_options,
    load_pages,
    run_python,
    sign_in_demo,
)

SEED_STUDENTS = """
import sys
from prepbase import create_app, people
from prepbase.extensions import db
from prepbase.models import Tenant
from prepbase.tenancy import as_tenant
from sqlalchemy import select

app = create_app()
with app.app_context():
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo"))
    with as_tenant(tenant.id):
        admin = None
        for i in range(int(sys.argv[1])):
            if i % 3 == 0:
                family = people.create_family(db.session, admin, name=f"Family {i}")
            people.save_student(db.session, admin, None, family=family, first_name=f"Student{i}",
                                  last_name=f"Bench{i % 97}", grade=str(6 + i % 7),
                                  school=f"School {i % 13}", notes="")
            if i % 500 == 0:
                db.session.commit()
        db.session.commit()
"""

# Two families alike but for their package's history: `sys.argv[1:]` entries each. Rows
# are written directly (this is history, not a scenario); balances follow the ledger, so
# `flask prepbase audit` holds. Prints {entries: {"email": …, "student_id": …}}.
SEED_HISTORY = """
import json, sys
from datetime import UTC, date, datetime, timedelta
from sqlalchemy import insert, select
from prepbase import create_app, people
from prepbase.accounts import hash_password
from prepbase.demo import DEMO_PASSWORD
from prepbase.extensions import db
from prepbase.models import LedgerEntry, Package, Role, Tenant, User
from prepbase.tenancy import as_tenant

app = create_app()
now = datetime.now(UTC)
made = {}
with app.app_context():
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo"))
    with as_tenant(tenant.id):
        for count in map(int, sys.argv[1:]):
            family = people.create_family(db.session, None, name=f"History {count}")
            email = f"history{count}@bench.example.com"
            db.session.add(User(name=f"Parent {count}", email=email, role=Role.PARENT,
                                password_hash=hash_password(DEMO_PASSWORD), family=family))
            student = people.save_student(db.session, None, None, family=family,
                                          first_name="History", last_name=str(count), grade="9",
                                          school="Bench", notes="")
            first = now - timedelta(hours=12 * count)
            package = Package(student=student, name="Weekly Package", service="tutoring",
                              package_type="one_time", period=None, period_minutes=6000,
                              start_date=first.date(), total_minutes=6000, remaining_minutes=0,
                              created_at=first)
            db.session.add(package)
            db.session.flush()
            balance, rows = 0, []
            for k in range(count):  # a grant, then -30 and +30 minutes in turn
                minutes = 6000 if k == 0 else (-30 if k % 2 else 30)
                balance += minutes
                rows.append({"tenant_id": tenant.id, "package_id": package.id, "minutes": minutes,
                             "kind": "grant" if k == 0 else "adjustment", "balance_after": balance,
                             "note": "", "created_at": first + timedelta(hours=12 * k)})
            db.session.execute(insert(LedgerEntry), rows)
            package.remaining_minutes = balance
            made[count] = {"email": email, "student_id": student.id, "package_id": package.id}
        db.session.commit()
print(json.dumps(made))
"""
HISTORY = (10, 2000)
HISTORY_TARGET = 1.15


HISTORY_PAGES = ("family dashboard", "Packages tab", "package page", "package history")


def history_pages(port: int, admin: dict[str, str], seeded: dict[str, dict]) -> dict[str, Get]:
    """The pages of HISTORY_PAGES for each family of SEED_HISTORY."""
    pages = {}
    for count in HISTORY:
        family = sign_in_demo(port, seeded[str(count)]["email"])
        student = seeded[str(count)]["student_id"]
        package = seeded[str(count)]["package_id"]
        paths = {
            "family dashboard": ("/demo/family/", family),
            "Packages tab": (f"/demo/admin/students/{student}/packages", admin),
            "package page": (f"/demo/admin/packages/{package}", admin),
            "package history": (f"/demo/family/packages/{package}", family),
        }
        for page in HISTORY_PAGES:
            path, cookies = paths[page]
            pages[f"{page}, {count:,} entries"] = Get(port, path, cookies)
    return pages


def compare_history(results: dict[str, Result]) -> None:
    """2,000 entries against 10: how many times fewer requests per second, per page."""
    few, many = HISTORY
    print(
        f"\nhistory growth ({many:,} vs {few} ledger entries on one package; target ≤ "
        f"{HISTORY_TARGET}×):"
    )
    for page in HISTORY_PAGES:
        a, b = results[f"{page}, {few:,} entries"], results[f"{page}, {many:,} entries"]
        ratio = a.rps / b.rps if b.rps else float("inf")
        verdict = "met" if ratio <= HISTORY_TARGET else "MISSED"
        print(
            f"  {page:<18} {a.rps:7.0f} vs {b.rps:7.0f} req/s = {ratio:.2f}×; "
            f"p50 {a.p50:.1f} vs {b.p50:.1f} ms  {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    load_options(parser, seconds=3, workers=2, rounds=3)
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()

    with demo_env("prepbase-bench-") as env:
        run_python(env, SEED_STUDENTS, str(args.students))
        seeded = json.loads(run_python(env, SEED_HISTORY, *map(str, HISTORY), capture=True))
        analyze(env)

        with gunicorn(env, args.workers) as server:
            cookies = sign_in_demo(server.port, "owner@brightpath.example.com")
            port = server.port
            pages = {
                "PrepBase /healthz": Get(port, "/healthz"),
                "sign-in page": Get(port, "/demo/login"),
                "admin dashboard": Get(port, "/demo/admin/", cookies),
                "Student Profiles (50 a page)": Get(port, "/demo/admin/students", cookies),
                "student search": Get(port, "/demo/admin/students?q=bench1", cookies),
                **history_pages(port, cookies, seeded),
            }
            about = f", {args.students} extra students; {args.rounds} rounds"
            results = load_pages(server, env, about, pages, args, rounds=args.rounds)
            compare_history(results)


if __name__ == "__main__":
    main()
