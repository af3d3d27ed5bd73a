"""Where one page's time goes: SQL statements per request, CPU per request, cProfile.

Runs the app in-process (Flask test client, no gunicorn, no HTTP) on a database seeded
by `bench/hours.py --keep` (or `--reuse`), signs in like the benchmark and requests each
page `--repeat` times. Per page it prints wall and CPU milliseconds per request, the
size of the answer, the SQL statements per request with their time, and (with `--top N`)
the N functions with the most own time under cProfile.

    .venv/bin/python bench/hours.py --size large --keep
    .venv/bin/python bench/profile_pages.py \\
        postgresql://postgres@127.0.0.1:5432/prepbase_bench_large --top 20
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
import time
from collections import Counter

from harness import (  # imports seed: puts prepbase on the path
    app_env,
    describe_target,
    signed_in_client,
    user_email,
)
from seed import PASSWORD
from sqlalchemy import event

from prepbase import create_app
from prepbase.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="postgresql://… of a database seeded by bench/hours.py")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--top", type=int, default=0, help="cProfile: functions shown")
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime, cumtime …")
    parser.add_argument("--only", default="", help="profile the pages whose label has this")
    args = parser.parse_args()
    instance_dir = tempfile.mkdtemp(prefix="prepbase-profile-")
    os.environ.update(app_env(args.url, instance_dir))
    app = create_app()
    target = describe_target(args.url, 1)
    slug = target.slug
    statements: list[tuple[str, float]] = []
    started: dict[int, float] = {}

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        started[id(context)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, time.perf_counter() - started.pop(id(context))))

    parent = signed_in_client(app, slug, target.personas[0].email, PASSWORD)
    admin = signed_in_client(app, slug, target.admin_email, PASSWORD)
    tutor = signed_in_client(app, slug, user_email(args.url, target.staff_ids[0]), PASSWORD)
    student_id = target.personas[0].student_id
    pages = [
        ("hello world", app.test_client(), "/healthz", 200),
        ("signed-in redirect (floor)", parent, f"/{slug}/", 302),
        ("family dashboard", parent, f"/{slug}/family/", 200),
        ("Packages tab", admin, f"/{slug}/admin/students/{student_id}/packages", 200),
        ("tutor dashboard", tutor, f"/{slug}/tutor/", 200),
    ]
    try:
        for label, client, path, status in pages:
            if args.only not in label:
                continue
            for _ in range(20):  # warm up
                assert client.get(path).status_code == status
            statements.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.repeat):
                response = client.get(path)
            wall = (time.perf_counter() - wall) / args.repeat * 1000
            cpu = (time.process_time() - cpu) / args.repeat * 1000
            sql_ms = sum(t for _, t in statements) / args.repeat * 1000
            print(f"\n=== {label}: {path}")
            print(
                f"{wall:.2f} ms per request, {cpu:.2f} ms of it CPU, "
                f"{len(response.get_data()):,} bytes; "
                f"{len(statements) / args.repeat:.1f} SQL statements taking {sql_ms:.2f} ms"
            )
            count: Counter[str] = Counter()
            spent: Counter[str] = Counter()
            for text, seconds in statements:
                key = " ".join(text.split())[:150]
                count[key] += 1
                spent[key] += seconds
            for key, seconds in spent.most_common(10):
                per = seconds / count[key] * 1000
                print(f"  {count[key] / args.repeat:>4.1f}× {per:6.2f} ms  {key}")
            if args.top:
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.repeat):
                    client.get(path)
                profile.disable()
                stats = pstats.Stats(profile)
                stats.sort_stats(args.sort).print_stats(args.top)
                print_own_time_by_library(stats, args.repeat)
                if callers := os.environ.get("PROFILE_CALLERS"):
                    stats.print_callers(callers)
    finally:
        shutil.rmtree(instance_dir, ignore_errors=True)


def print_own_time_by_library(stats: pstats.Stats, repeat: int) -> None:
    """cProfile's own time summed per library (sqlalchemy, jinja2, psycopg, prepbase, the
    templates …): which layer a page's time goes to, profiler overhead included."""
    spent: Counter[str] = Counter()
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        parts = filename.split("/")
        if "site-packages" in parts:
            where = parts[parts.index("site-packages") + 1]
        elif "templates" in parts:
            where = "templates"
        elif "prepbase" in parts:
            where = "prepbase/" + parts[-1]
        else:
            where = "python" if filename.startswith(("/", "<")) else filename
        spent[where] += row[2]
    total = sum(spent.values())
    for where, seconds in spent.most_common(15):
        print(f"  {seconds / repeat * 1000:7.2f} ms  {seconds / total:5.1%}  {where}")


if __name__ == "__main__":
    main()
