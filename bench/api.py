"""Throughput of the REST API's main list endpoints (issue 19) under gunicorn, on loopback.

Seeds the demo business (`flask prepbase seed-demo`) and a read key of its admin, starts
gunicorn and loads, with the same keep-alive clients, a bare Flask hello world (the
yardstick) and each list at 50 rows a page (`limit=50`, the default), the sessions' second
page through its cursor, one package's ledger, and /healthz of PrepBase for comparison.
Every request authenticates its Bearer key (one statement with the business and the
admin) and passes the per-key rate limit (Flask-Limiter in each worker's memory, the
limits raised so the load does not trip them), as in production.

    .venv/bin/python bench/api.py --seconds 3 --concurrency 8 --workers 2 --rounds 2

Set DATABASE_URL to an empty PostgreSQL database to measure on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json

from harness import Client, Get, demo_env, gunicorn, load_options, load_pages, run_python

SEED_KEY = """
import json
from sqlalchemy import select
from prepbase import api_keys, create_app
from prepbase.extensions import db
from prepbase.models import Package, Tenant, User
from prepbase.tenancy import as_tenant

app = create_app()
with app.app_context():
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo"))
    with as_tenant(tenant.id):
        admin = db.session.scalar(select(User).where(User.email == "owner@brightpath.example.com"))
        made = api_keys.create_api_key(db.session, admin, name="Bench", scope="read")
        package = db.session.scalar(select(Package.id).order_by(Package.id).limit(1))
        db.session.commit()
        print(json.dumps({"token": made.token, "package": package}))
"""

LISTS = ("students", "families", "staff", "packages", "sessions", "offerings", "purchases")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    load_options(parser, seconds=3, workers=2, rounds=2)
    args = parser.parse_args()

    with demo_env("prepbase-bench-api-") as env:
        seeded = json.loads(run_python(env, SEED_KEY, capture=True).strip().splitlines()[-1])
        # The per-key limits stay on (their cost is part of every request), high enough.
        env.pop("RATELIMIT_DISABLED", None)
        env.update(API_READ_RATE_LIMIT="100000000 per minute")
        auth = {"Authorization": f"Bearer {seeded['token']}"}

        with gunicorn(env, args.workers) as server:
            port = server.port
            client = Client(port)
            _, first = client.request("GET", "/api/v1/sessions?limit=50", headers=auth)
            cursor = json.loads(first)["next_cursor"]
            counts = {}
            for name in LISTS:
                _, body = client.request("GET", f"/api/v1/{name}?limit=50", headers=auth)
                counts[name] = len(json.loads(body)["items"])
            pages = {"PrepBase /healthz": Get(port, "/healthz")}
            for name in LISTS:
                pages[f"GET {name} ({counts[name]} rows)"] = Get(
                    port, f"/api/v1/{name}?limit=50", headers=auth
                )
            if cursor:
                pages["GET sessions, 2nd page (cursor)"] = Get(
                    port, f"/api/v1/sessions?limit=50&cursor={cursor}", headers=auth
                )
            pages["GET a package's ledger"] = Get(
                port, f"/api/v1/packages/{seeded['package']}/ledger", headers=auth
            )
            load_pages(server, env, "; demo business", pages, args, rounds=args.rounds)


if __name__ == "__main__":
    main()
