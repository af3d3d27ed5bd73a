"""Throughput, latency and memory of PrepBase pages under gunicorn, on loopback only.

Seeds a database (temporary SQLite unless DATABASE_URL is set), starts gunicorn, signs
in as the demo admin and hammers each endpoint with N keep-alive clients for a few
seconds. Figures are multiples of a bare Flask hello world (bench/hello_app.py) served
by gunicorn with the same settings in the same run.

    .venv/bin/python bench/run.py --seconds 10 --concurrency 8 --workers 2 --students 2000
"""

from __future__ import annotations

import argparse

from harness import Get, demo_env, gunicorn, load_options, load_pages, run_python, sign_in_demo

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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    load_options(parser, seconds=5, workers=2)
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()

    with demo_env("prepbase-bench-") as env:
        run_python(env, SEED_STUDENTS, str(args.students))

        with gunicorn(env, args.workers) as server:
            cookies = sign_in_demo(server.port, "owner@brightpath.example.com")
            port = server.port
            pages = {
                "PrepBase /healthz": Get(port, "/healthz"),
                "sign-in page": Get(port, "/demo/login"),
                "admin dashboard": Get(port, "/demo/admin/", cookies),
                "Student Profiles (50 a page)": Get(port, "/demo/admin/students", cookies),
                "student search": Get(port, "/demo/admin/students?q=bench1", cookies),
            }
            load_pages(server, env, f", {args.students} extra students", pages, args)


if __name__ == "__main__":
    main()
