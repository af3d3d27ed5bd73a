"""Speed of the hours pages on PostgreSQL, small database against large, under gunicorn.

For each size it creates a fresh PostgreSQL database, builds the schema with
`flask --app wsgi db upgrade`, seeds it with `bench/seed.py` (small: 10 businesses,
large: 1,000 businesses and about 1,000,000 sessions; every business consistent; the
`flask prepbase audit` line is printed), starts gunicorn on a free loopback port and loads,
with the same clients (8 threads, each a keep-alive `http.client` connection; gunicorn's
sync workers answer `Connection: close`, so every request, hello world's too, connects
anew):

- hello world: `GET /healthz` of a bare Flask app (bench/hello_app.py, nothing of PrepBase)
  served by gunicorn on the same settings, the yardstick of every figure;
- signed-in redirect (floor): `GET /<slug>/` as a parent (302): loads the business and the
  user and renders nothing, so it is the least any signed-in page costs (no target);
- family dashboard: `GET /<slug>/family/`, each client signed in as a different parent;
- Packages tab: `GET /<slug>/admin/students/<id>/packages`, signed in as the admin;
- tutor dashboard: `GET /<slug>/tutor/`, signed in as the first tutor the clients book;
- week calendar: `GET /<slug>/admin/schedule?view=week`, the admin's (every staff member);
- one day's open slots: the htmx fragment of Book Session for the day after tomorrow;
- Reports, cached (the app's 60 s cache, as configured) and uncached (a second gunicorn of
  the same app with REPORTS_CACHE_SECONDS=0);
- book+cancel: a parent books a one-hour Tutoring session (`POST …/family/sessions/new`
  as htmx sends it: 204 + HX-Redirect), follows the redirect to the dashboard (which
  shows the flash and holds the new session's Cancel Session button, hence its id) and
  cancels it (`POST …/family/sessions/<id>/cancel` as htmx sends it). One iteration =
  these three requests; each iteration takes its own future time slot, so no overlap
  refuses it. Its three requests' p50/p95 are shown under it.

It prints requests (iterations) per second, the multiple of hello world, p50 and p95, the
CPU milliseconds per request of the gunicorn workers ("app CPU") and of their PostgreSQL
backends ("db CPU", both read from /proc: steadier than latencies on a shared machine),
the SQL statements per request ("SQL", counted once per endpoint in this process with
Flask's test client on the same database) and the workers' memory, per endpoint against
the targets of issue 18, × the bare hello world (signed-in
redirect ≥ 0.25, family dashboard ≥ 0.05, Packages tab ≥ 0.08, book+cancel ≥ 0.011; large
p95 ≤ 1.5× small p95). With `--size both` both servers run at once and the sizes take turns
endpoint by endpoint, round by round, so a busy moment of this shared machine hits both
alike. Then the audit runs again (the bookings must keep every ledger right), gunicorn is
stopped and the databases are dropped. The loaded business, `bench-target`, has 50
students and about 1,000 sessions like every other business, and is identical in both
sizes.

    .venv/bin/python bench/hours.py --size both           # about 2 minutes in all
    .venv/bin/python bench/hours.py --size small
    .venv/bin/python bench/hours.py --size large --keep   # keep the seeded database …
    .venv/bin/python bench/hours.py --size large --reuse  # … and measure it again later

Options:
  --size small|large|both   which database(s) (default: both)
  --base-url URL            PostgreSQL server, without a database name
                            (default: postgresql://postgres@127.0.0.1:5432)
  --db-prefix NAME          databases NAME_small and NAME_large (default: prepbase_bench);
                            must contain "bench": they are dropped and created again
  --small-businesses N      businesses in the small database (default: 10)
  --large-businesses N      businesses in the large database (default: 1000)
  --seed N                  random seed of the generated data (default: 1)
  --reuse                   use a database seeded earlier with the same size and seed
                            (it is kept); otherwise seed it afresh
  --keep                    keep the databases at the end (default: drop them)
  --seconds S               seconds per endpoint per round (default: 1.5; the first
                            round adds a 0.5 s warm-up)
  --rounds N                rounds (default: 4); the figures merge all rounds
  --concurrency N           keep-alive client threads (default: 8)
  --workers N               gunicorn sync workers (default: one per core, 2 on the
                            2-core machine where issue 18 measured with 2; more
                            workers than cores only add switching: see the README)

Loopback only; not part of the test suite (pytest collects tests/ only).
`bench/profile_pages.py` shows where one page's time goes (SQL statements, cProfile).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
from flask.testing import FlaskClient
from harness import (
    BENCH,
    HTMX,
    ROOT,
    Client,
    Meter,
    Persona,
    Result,
    Server,
    Step,
    StepFactory,
    Table,
    Target,
    app_env,
    audit,
    check_database_options,
    cpu_seconds,
    csrf_token,
    database_options,
    describe_target,
    drop_database,
    get_step,
    gunicorn,
    load_options,
    prepare_database,
    sign_in,
    signed_in_client,
    take_turns,
    user_email,
)
from seed import PASSWORD
from sqlalchemy import event
from sqlalchemy.engine import Engine

from prepbase import create_app

CANCEL = re.compile(rb"/family/sessions/(\d+)/cancel")
HX = {"HX-Request": "true"}
# × the bare Flask hello world (issue 18); the targets of PrepBase's /healthz were 0.35/0.20.
TARGETS = {"floor": 0.25, "dashboard": 0.05, "packages": 0.08, "book": 0.011}
P95_RATIO = 1.5


# --- book+cancel ------------------------------------------------------------------------


class Slots:
    """Distinct future one-hour slots (business-local date and HH:MM), shared by threads."""

    def __init__(self, timezone: str) -> None:
        today = datetime.now(ZoneInfo(timezone)).date()
        # Far beyond the seeded sessions (≤ 45 days ahead); a random start per run keeps a
        # reused database's leftovers (an interrupted run) out of the way.
        self.first_day = today + timedelta(days=120 + random.randrange(3000))
        self.soon = today + timedelta(days=2)  # the day whose open slots are asked for
        self.counter = itertools.count()
        self.lock = threading.Lock()

    def take(self) -> tuple[date, str]:
        with self.lock:
            n = next(self.counter)
        return self.first_day + timedelta(days=n // 11), f"{8 + n % 11:02d}:00"


def book_cancel_step(port: int, slug: str, persona: Persona, staff_id: int, slots: Slots) -> Step:
    client = Client(port, persona.cookies)
    new_url = f"/{slug}/family/sessions/new"

    def step() -> tuple[bool, list[float], str]:
        day, start_time = slots.take()
        form = {
            "csrf_token": persona.token,
            "student": persona.student_id,
            "service": "tutoring",
            "staff": staff_id,
            "date": day.isoformat(),
            "start_time": start_time,
            "duration": "1",
        }
        t0 = time.perf_counter()
        response, body = client.request("POST", new_url, urlencode(form), HTMX)
        t1 = time.perf_counter()
        location = response.getheader("HX-Redirect")
        if response.status != 204 or not location:
            errors = re.findall(rb'class="field-error"[^>]*>([^<]+)<', body)
            return False, [t1 - t0], f"book {response.status}: {errors[:2]!r}"
        response, page = client.request("GET", location)
        t2 = time.perf_counter()
        new = {int(i) for i in CANCEL.findall(page)} - persona.known
        if response.status != 200 or not new:
            return False, [t1 - t0, t2 - t1], f"dashboard {response.status}, no new session"
        session_id = max(new)  # the newest; older strays (a failed cancel) are left alone
        persona.known |= new - {session_id}
        response, body = client.request(
            "POST",
            f"/{slug}/family/sessions/{session_id}/cancel",
            urlencode({"csrf_token": persona.token}),
            HTMX,
        )
        t3 = time.perf_counter()
        ok = response.status == 200 and b"Cancelled" in body
        if not ok:
            persona.known.add(session_id)
        return ok, [t1 - t0, t2 - t1, t3 - t2], "" if ok else f"cancel {response.status}"

    return step


# --- one size ---------------------------------------------------------------------------

ENDPOINTS = {
    "hello": "bare Flask hello world",
    "floor": "signed-in redirect (floor)",
    "dashboard": "family dashboard",
    "packages": "Packages tab (admin)",
    "tutor": "tutor dashboard",
    "calendar": "week calendar (admin)",
    "slots": "one day's open slots",
    "reports": "Reports (cached)",
    "reports_uncached": "Reports (uncached)",
    "book": "book+cancel (3 requests)",
}
BOOK_STEPS = ("POST book (htmx)", "GET dashboard (redirect)", "POST cancel (htmx)")


@dataclass
class Run:
    """One size: its database, its gunicorn, who signs in, and the figures."""

    size: str
    url: str
    env: dict[str, str]
    seeded: str
    target: Target
    server: Server | None = None
    hello: Server | None = None  # the bare Flask hello world, shared by the sizes
    uncached: Server | None = None  # the same app with REPORTS_CACHE_SECONDS=0
    admin: dict[str, str] = field(default_factory=dict)
    admin_uncached: dict[str, str] = field(default_factory=dict)
    tutor: dict[str, str] = field(default_factory=dict)
    slots: Slots | None = None
    statements: dict[str, float] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)

    def backend_pids(self) -> list[int]:
        """The PostgreSQL backends of this database other than ours (gunicorn's pool)."""
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [row[0] for row in rows]

    def meter(self, key: str) -> Meter:
        """Reads the CPU seconds of gunicorn (master and workers) and of their backends;
        for hello world, of its own gunicorn (no database)."""
        if key == "hello":
            hello_pids = [self.hello.pid, *self.hello.workers()]
            return lambda: (cpu_seconds(hello_pids), 0.0)
        server = self.uncached if key == "reports_uncached" else self.server
        app_pids = [server.pid, *server.workers()]
        db_pids = self.backend_pids()
        return lambda: (cpu_seconds(app_pids), cpu_seconds(db_pids))

    def step_factory(self, key: str) -> StepFactory:
        port, slug, personas = self.server.port, self.target.slug, self.target.personas
        staff = self.target.staff_ids

        def persona(i: int) -> Persona:
            return personas[i % len(personas)]

        if key == "hello":
            hello_port = self.hello.port
            return lambda i: get_step(hello_port, "/healthz", {})
        if key == "floor":  # tenant + user loaded, no template: any signed-in page costs this
            return lambda i: get_step(port, f"/{slug}/", persona(i).cookies, status=302)
        if key == "dashboard":
            return lambda i: get_step(port, f"/{slug}/family/", persona(i).cookies)
        if key == "book":
            return lambda i: book_cancel_step(
                port, slug, persona(i), staff[i % len(staff)], self.slots
            )
        if key == "reports_uncached":
            uncached = self.uncached.port
            return lambda i: get_step(uncached, f"/{slug}/admin/reports", self.admin_uncached)
        return lambda i: get_step(port, *self.page(key, persona(i)))

    def page(self, key: str, persona: Persona) -> tuple[str, dict[str, str], int, dict | None]:
        """What a GET endpoint asks for: path, cookies, status, headers."""
        slug = self.target.slug
        if key == "floor":  # tenant + user loaded, no template: any signed-in page costs this
            return f"/{slug}/", persona.cookies, 302, None
        if key == "dashboard":
            return f"/{slug}/family/", persona.cookies, 200, None
        if key == "packages":
            return f"/{slug}/admin/students/{persona.student_id}/packages", self.admin, 200, None
        if key == "tutor":
            return f"/{slug}/tutor/", self.tutor, 200, None
        if key == "calendar":
            return f"/{slug}/admin/schedule?view=week", self.admin, 200, None
        if key == "slots":
            choices = {
                "student": persona.student_id,
                "service": "tutoring",
                "staff": self.target.staff_ids[0],
                "duration": "1",
                "date": self.slots.soon.isoformat() if self.slots else "",
            }
            return f"/{slug}/family/slots?{urlencode(choices)}", persona.cookies, 200, HX
        if key == "reports":
            return f"/{slug}/admin/reports", self.admin, 200, None
        raise KeyError(key)


def prepare(args, size: str) -> Run:
    businesses = args.small_businesses if size == "small" else args.large_businesses
    instance_dir = tempfile.mkdtemp(prefix="prepbase-bench-")
    url, seeded = prepare_database(args, size, businesses, instance_dir)
    env = app_env(url, instance_dir)
    run = Run(size, url, env, seeded, describe_target(url, args.concurrency))
    db = run.target.database
    c = run.target.counts
    print(
        f"\n== {size}: {db['tenant']:,} businesses, {db['student']:,} students, "
        f"{db['package']:,} packages, {db['tutoring_session']:,} sessions, "
        f"{db['ledger_entry']:,} ledger entries ({seeded})\n"
        f"audit: {audit(env)}\n"
        f"loaded business /{run.target.slug}/: {c['student']} students, {c['family']} families, "
        f"{c['package']} packages, {c['tutoring_session']:,} sessions, "
        f"{c['ledger_entry']:,} ledger entries",
        flush=True,
    )
    return run


def staff_email(run: Run) -> str:
    """The e-mail of the first staff member the clients book with (the tutor dashboard's)."""
    return user_email(run.url, run.target.staff_ids[0])


def sign_in_everyone(run: Run) -> None:
    """The admin, a tutor and every persona signed in; each persona's CSRF token and the
    sessions it already has (so book+cancel finds the one it books)."""
    port, slug = run.server.port, run.target.slug
    run.admin = sign_in(port, slug, run.target.admin_email, PASSWORD)
    run.admin_uncached = sign_in(run.uncached.port, slug, run.target.admin_email, PASSWORD)
    run.tutor = sign_in(port, slug, staff_email(run), PASSWORD)
    for persona in run.target.personas:
        client = Client(port, sign_in(port, slug, persona.email, PASSWORD))
        response, page = client.request("GET", f"/{slug}/family/")
        assert response.status == 200, response.status
        persona.cookies = client.cookies
        persona.token = csrf_token(page)
        persona.known = {int(i) for i in CANCEL.findall(page)}
    run.slots = Slots(run.target.timezone)


def count_statements(run: Run) -> None:
    """SQL statements per request of each endpoint, counted in this process (Flask's test
    client on the same database, signed in as the load's clients are), after a warm-up."""
    saved = dict(os.environ)
    os.environ.update(run.env)
    try:
        app = create_app()
        uncached_app = create_app(REPORTS_CACHE_SECONDS=0)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    counted: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        counted.append(statement)

    event.listen(Engine, "before_cursor_execute", count)  # both apps' engines
    try:
        slug, persona = run.target.slug, run.target.personas[0]
        clients = {
            "persona": signed_in_client(app, slug, persona.email, PASSWORD),
            "admin": signed_in_client(app, slug, run.target.admin_email, PASSWORD),
            "tutor": signed_in_client(app, slug, staff_email(run), PASSWORD),
        }
        who = {id(persona.cookies): "persona", id(run.admin): "admin", id(run.tutor): "tutor"}
        for key in ENDPOINTS:
            if key in ("hello", "book"):
                continue
            if key == "reports_uncached":
                client = signed_in_client(uncached_app, slug, run.target.admin_email, PASSWORD)
                path, status, headers = f"/{slug}/admin/reports", 200, None
            else:
                path, cookies, status, headers = run.page(key, persona)
                client = clients[who[id(cookies)]]
            for _ in range(2):  # warm: a first request fills the caches of a process
                client.get(path, headers=headers)
            counted.clear()
            response = client.get(path, headers=headers)
            assert response.status_code == status, (key, response.status_code)
            run.statements[key] = len(counted)
        run.statements["book"] = book_cancel_statements(run, clients["persona"], counted)
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def book_cancel_statements(run: Run, client: FlaskClient, counted: list[str]) -> float:
    """The statements of one book+cancel iteration (its three requests)."""
    slug = run.target.slug
    page = client.get(f"/{slug}/family/").get_data()
    token, known = csrf_token(page), {int(i) for i in CANCEL.findall(page)}
    day, start_time = run.slots.take()
    form = {
        "csrf_token": token,
        "student": run.target.personas[0].student_id,
        "service": "tutoring",
        "staff": run.target.staff_ids[0],
        "date": day.isoformat(),
        "start_time": start_time,
        "duration": "1",
    }
    counted.clear()
    booked = client.post(f"/{slug}/family/sessions/new", data=form, headers=HX)
    assert booked.status_code == 204, booked.status_code
    page = client.get(booked.headers["HX-Redirect"]).get_data()
    new = max({int(i) for i in CANCEL.findall(page)} - known)
    cancelled = client.post(
        f"/{slug}/family/sessions/{new}/cancel", data={"csrf_token": token}, headers=HX
    )
    assert cancelled.status_code == 200, cancelled.status_code
    return len(counted)


def report(args, run: Run) -> None:
    load = ", ".join(f"{x:.1f}" for x in run.load)
    print(
        f"\n== {run.size}: gunicorn {args.workers} workers, {args.concurrency} keep-alive "
        f"clients, {args.rounds} × {args.seconds:g} s per endpoint, load average {load}"
    )
    table = Table(28, 8, (("app CPU", 9), ("db CPU", 8), ("SQL", 7)), verdicts=True)
    print(table.header())
    hello = run.results["hello"].rps
    for key, label in ENDPOINTS.items():
        result = run.results[key]
        verdict = ""
        if key in TARGETS:
            met = result.rps / hello >= TARGETS[key]
            verdict = f"≥ {TARGETS[key]:g}× {'met' if met else 'MISSED'}"
        n = max(len(result.totals), 1)
        extra = (result.app_cpu / n * 1000, result.db_cpu / n * 1000, run.statements.get(key, 0))
        print(table.row(label, result, hello, extra, verdict))
        for name, (p50, p95) in zip(BOOK_STEPS, result.steps(), strict=False):
            print(f"  {name:<26}{'':>17}{p50:>9.1f}{p95:>9.1f}")
        if result.errors:
            print(f"  first error: {result.errors[0]}")
    print(
        "app CPU / db CPU: CPU milliseconds per request (iteration) of the gunicorn workers /"
        " of their PostgreSQL backends; SQL: statements per request (iteration)"
    )
    print(run.server.memory_line())


def compare(small: Run, large: Run) -> None:
    print(f"\n== large vs small (target: large p95 ≤ {P95_RATIO}× small p95)")
    print(
        f"{'endpoint':<28}{'p50 ms':>14}{'p95 ms':>14}{'p95 ratio':>10}{'CPU ms/req':>14}  target"
    )
    print(f"{'':<28}{'small / large':>14}{'small / large':>14}{'':>10}{'small / large':>14}")
    for key, label in ENDPOINTS.items():
        a, b = small.results[key], large.results[key]
        ratio = b.p95 / a.p95
        verdict = "met" if ratio <= P95_RATIO else "MISSED"
        if key == "hello":
            verdict = "(no database: shows the machine's noise)"
        cpu_a = (a.app_cpu + a.db_cpu) / max(len(a.totals), 1) * 1000
        cpu_b = (b.app_cpu + b.db_cpu) / max(len(b.totals), 1) * 1000
        print(
            f"{label:<28}{a.p50:>7.1f}{b.p50:>7.1f}{a.p95:>7.1f}{b.p95:>7.1f}{ratio:>10.2f}"
            f"{cpu_a:>7.1f}{cpu_b:>7.1f}  {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=("small", "large", "both"), default="both")
    database_options(parser)
    parser.add_argument("--small-businesses", type=int, default=10)
    parser.add_argument("--large-businesses", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    load_options(parser, seconds=1.5, workers=os.cpu_count() or 2, rounds=4)
    args = parser.parse_args()
    args.now = datetime.now(UTC)  # both sizes are seeded as of the same moment
    check_database_options(parser, args)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"PrepBase {commit or '(no git)'}, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs"
    )
    sizes = ("small", "large") if args.size == "both" else (args.size,)
    runs = [prepare(args, size) for size in sizes]
    with ExitStack() as servers:
        # The yardstick: a bare Flask hello world on the same gunicorn settings.
        hello = servers.enter_context(
            gunicorn(runs[0].env, args.workers, app="hello_app:app", cwd=BENCH)
        )
        for run in runs:
            run.server = servers.enter_context(gunicorn(run.env, args.workers))
            run.uncached = servers.enter_context(
                gunicorn({**run.env, "REPORTS_CACHE_SECONDS": "0"}, args.workers)
            )
            run.hello = hello
            sign_in_everyone(run)
            count_statements(run)
        # Sizes take turns endpoint by endpoint, round by round, so a busy moment of the
        # machine hits both alike.
        print(f"\nmeasuring {', '.join(sizes)} in turns …", flush=True)
        for run in runs:
            run.load.append(os.getloadavg()[0])
        endpoints = {
            (key, i): run.step_factory(key) for key in ENDPOINTS for i, run in enumerate(runs)
        }
        results = take_turns(
            endpoints,
            args.rounds,
            args.seconds,
            args.concurrency,
            meter=lambda entry: runs[entry[1]].meter(entry[0]),
        )
        for (key, i), result in results.items():
            runs[i].results[key] = result
        for run in runs:
            run.load.append(os.getloadavg()[0])
            report(args, run)
    for run in runs:
        print(f"{run.size}: audit after the bookings: {audit(run.env)}")
        shutil.rmtree(run.env["PREPBASE_INSTANCE_DIR"], ignore_errors=True)
        if not (args.keep or args.reuse):
            drop_database(args, run.size)
    if len(runs) == 2:
        compare(*runs)


if __name__ == "__main__":
    main()
