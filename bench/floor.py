"""Where the ceiling of "× hello world" lies on this stack and machine, in one run.

The targets of bench/hours.py, bench/slots.py and bench/reports.py are multiples of a
hello-world endpoint. This measures, with the same clients and gunicorn settings, what
a request costs before a page renders anything:

- PrepBase's hello world (`/healthz`), the yardstick of every benchmark;
- a bare Flask hello world (bench/floor_app.py), to show the two are alike;
- bare Flask + one prepared SELECT on a kept connection (no pool, no ORM);
- bare Flask + the business and a user by two SQLAlchemy Core SELECTs through the pool;
- PrepBase's signed-in redirect (`GET /<slug>/` as a parent): session cookie, the
  business and the user in one ORM statement, the guards, a 302 — no template;
- PrepBase's family dashboard, for scale.

It needs the small database of bench/hours.py (seeded on first use and kept):

    .venv/bin/python bench/floor.py                 # about 1 minute
    .venv/bin/python bench/floor.py --rounds 6 --seconds 2

Loopback only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hours  # bench/hours.py
from run import gunicorn  # bench/run.py

HERE = Path(__file__).resolve().parent


def measure(args, target, app_port: int, bare_port: int) -> dict[str, hours.Result]:
    """Every endpoint in turn, round by round, so a busy moment hits them alike."""
    parent = hours.sign_in(app_port, target.slug, target.personas[0].email)
    endpoints = {
        "PrepBase hello world (/healthz)": (app_port, "/healthz", {}, 200),
        "bare Flask hello world": (bare_port, "/hello", {}, 200),
        "bare Flask + 1 prepared SELECT": (bare_port, "/one-select", {}, 200),
        "bare Flask + 2 Core SELECTs (pool)": (bare_port, "/core-two", {}, 200),
        "PrepBase signed-in redirect": (app_port, f"/{target.slug}/", parent, 302),
        "PrepBase family dashboard": (app_port, f"/{target.slug}/family/", parent, 200),
    }
    results: dict[str, hours.Result] = {}
    for round_ in range(args.rounds):
        for label, (port, path, cookies, status) in endpoints.items():

            def make(_i, port=port, path=path, cookies=cookies, status=status):
                return hours.get_step(port, path, cookies, status)

            if round_ == 0:
                hours.hammer(make, 0.5, 2)
            result = hours.hammer(make, args.seconds, args.concurrency)
            results.setdefault(label, hours.Result()).merge(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db-prefix", default="prepbase_bench")
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    args.reuse, args.seed, args.now = True, 1, datetime.now(UTC)
    instance_dir = tempfile.mkdtemp(prefix="prepbase-floor-")
    url, seeded = hours.prepare_database(args, "small", 10, instance_dir)
    env = hours.app_env(url, instance_dir)
    target = hours.describe_target(url, 1)
    print(f"small bench database ({seeded}); {os.cpu_count()} CPUs; {args.workers} workers")
    bare_env = {**env, "FLOOR_DATABASE_URL": url}
    with (
        gunicorn(env, args.workers) as (app_port, _),
        gunicorn(bare_env, args.workers, "floor_app:app", HERE) as (bare_port, _),
    ):
        results = measure(args, target, app_port, bare_port)
    hello = results["PrepBase hello world (/healthz)"].rps
    print(f"\n{'endpoint':<38}{'req/s':>8}{'× hello':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    for label, result in results.items():
        print(
            f"{label:<38}{result.rps:>8.0f}{result.rps / hello:>9.2f}"
            f"{result.p50:>9.1f}{result.p95:>9.1f}{len(result.errors):>8}"
        )


if __name__ == "__main__":
    main()
