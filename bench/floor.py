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
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from harness import (
    Get,
    Result,
    Table,
    app_env,
    check_database_options,
    database_options,
    describe_target,
    gunicorn,
    load_options,
    prepare_database,
    sign_in,
    take_turns,
)
from seed import PASSWORD

HERE = Path(__file__).resolve().parent


def measure(args, target, app_port: int, bare_port: int) -> dict[str, Result]:
    """Every endpoint in turn, round by round, so a busy moment hits them alike."""
    parent = sign_in(app_port, target.slug, target.personas[0].email, PASSWORD)
    endpoints = {
        "PrepBase hello world (/healthz)": Get(app_port, "/healthz"),
        "bare Flask hello world": Get(bare_port, "/hello"),
        "bare Flask + 1 prepared SELECT": Get(bare_port, "/one-select"),
        "bare Flask + 2 Core SELECTs (pool)": Get(bare_port, "/core-two"),
        "PrepBase signed-in redirect": Get(app_port, f"/{target.slug}/", parent, 302),
        "PrepBase family dashboard": Get(app_port, f"/{target.slug}/family/", parent),
    }
    return take_turns(endpoints, args.rounds, args.seconds, args.concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    database_options(parser)
    load_options(parser, seconds=1.5, workers=4, rounds=4)
    args = parser.parse_args()
    check_database_options(parser, args)
    args.reuse, args.seed, args.now = True, 1, datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="prepbase-floor-") as instance_dir:
        url, seeded = prepare_database(args, "small", 10, instance_dir)
        env = app_env(url, instance_dir)
        target = describe_target(url, 1)
        print(f"small bench database ({seeded}); {os.cpu_count()} CPUs; {args.workers} workers")
        bare_env = {**env, "FLOOR_DATABASE_URL": url}
        with (
            gunicorn(env, args.workers) as app,
            gunicorn(bare_env, args.workers, "floor_app:app", HERE) as bare,
        ):
            results = measure(args, target, app.port, bare.port)
        print()
        Table(38, 8).print(results)


if __name__ == "__main__":
    main()
