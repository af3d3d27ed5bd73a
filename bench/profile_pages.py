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
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed as seeder  # noqa: E402 - bench/seed.py

TOKEN = re.compile(r"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="postgresql://… of a database seeded by bench/hours.py")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--top", type=int, default=0, help="cProfile: functions shown")
    args = parser.parse_args()
    instance_dir = tempfile.mkdtemp(prefix="prepbase-profile-")
    os.environ.update(
        PREPBASE_ENV="development",
        PREPBASE_INSTANCE_DIR=instance_dir,
        DATABASE_URL=args.url,
        MAIL_BACKEND="console",
        RATELIMIT_DISABLED="1",
    )
    import hours as bench  # bench/hours.py
    from sqlalchemy import event

    from prepbase import create_app
    from prepbase.extensions import db

    app = create_app()
    target = bench.describe_target(args.url, 1)
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

    def signed_in(email: str):
        client = app.test_client()
        page = client.get(f"/{slug}/login").get_data(as_text=True)
        token = TOKEN.search(page).group(1)
        response = client.post(
            f"/{slug}/login",
            data={"csrf_token": token, "email": email, "password": seeder.PASSWORD},
        )
        assert response.status_code in (302, 303), response.status_code
        return client

    parent = signed_in(target.personas[0].email)
    admin = signed_in(target.admin_email)
    student_id = target.personas[0].student_id
    pages = [
        ("hello world", app.test_client(), "/healthz", 200),
        ("signed-in redirect (floor)", parent, f"/{slug}/", 302),
        ("family dashboard", parent, f"/{slug}/family/", 200),
        ("Packages tab", admin, f"/{slug}/admin/students/{student_id}/packages", 200),
    ]
    try:
        for label, client, path, status in pages:
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
                pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    finally:
        shutil.rmtree(instance_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
