"""Speed of the hours pages on PostgreSQL, small database against large, under gunicorn.

For each size it creates a fresh PostgreSQL database, builds the schema with
`flask --app wsgi db upgrade`, seeds it with `bench/seed.py` (small: 10 businesses,
large: 1,000 businesses and about 1,000,000 sessions; every business consistent; the
`flask prepbase audit` line is printed), starts gunicorn on a free loopback port and loads,
with the same clients (8 threads, each a keep-alive `http.client` connection; gunicorn's
sync workers answer `Connection: close`, so every request, hello world's too, connects
anew):

- hello world: `GET /healthz`, the yardstick;
- signed-in redirect (floor): `GET /<slug>/` as a parent (302): loads the business and the
  user and renders nothing, so it is the least any signed-in page costs (no target);
- family dashboard: `GET /<slug>/family/`, each client signed in as a different parent;
- Packages tab: `GET /<slug>/admin/students/<id>/packages`, signed in as the admin;
- book+cancel: a parent books a one-hour Tutoring session (`POST …/family/sessions/new`
  as htmx sends it: 204 + HX-Redirect), follows the redirect to the dashboard (which
  shows the flash and holds the new session's Cancel Session button, hence its id) and
  cancels it (`POST …/family/sessions/<id>/cancel` as htmx sends it). One iteration =
  these three requests; each iteration takes its own future time slot, so no overlap
  refuses it. Its three requests' p50/p95 are shown under it.

It prints requests (iterations) per second, the multiple of hello world, p50 and p95, and
the CPU milliseconds per request of the gunicorn workers ("app CPU") and of their
PostgreSQL backends ("db CPU", both read from /proc: steadier than latencies on a shared
machine) per endpoint against the targets (pages ≥ 0.35× hello world, book+cancel ≥ 0.20×, large p95
≤ 1.5× small p95). With `--size both` both servers run at once and the sizes take turns
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
  --workers N               gunicorn sync workers (default: 4)

Loopback only; not part of the test suite (pytest collects tests/ only).
`bench/profile_pages.py` shows where one page's time goes (SQL statements, cProfile).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed as seeder  # bench/seed.py
from run import free_port, worker_rss_mb  # bench/run.py

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTMX = {**FORM, "HX-Request": "true"}
TOKEN = re.compile(rb"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""")
CANCEL = re.compile(rb"/family/sessions/(\d+)/cancel")
TARGETS = {"dashboard": 0.35, "packages": 0.35, "book": 0.20}
P95_RATIO = 1.5
SEED_VERSION = 1  # bump when bench/seed.py changes what it generates


# --- HTTP client ------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection with its own cookie jar."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies = dict(cookies or {})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in header:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response, data


def sign_in(port: int, slug: str, email: str) -> dict[str, str]:
    client = Client(port)
    response, page = client.request("GET", f"/{slug}/login")
    token = TOKEN.search(page).group(1).decode()
    form = {"csrf_token": token, "email": email, "password": seeder.PASSWORD, "next": ""}
    response, _ = client.request("POST", f"/{slug}/login", urlencode(form), FORM)
    if response.status not in (302, 303):
        raise SystemExit(f"sign-in of {email} answered {response.status}")
    return client.cookies


# --- load -------------------------------------------------------------------------------


@dataclass
class Result:
    """Latencies of one endpoint, merged over rounds."""

    elapsed: float = 0.0
    totals: list[float] = field(default_factory=list)  # seconds per iteration
    parts: list[list[float]] = field(default_factory=list)  # seconds per request of it
    errors: list[str] = field(default_factory=list)
    app_cpu: float = 0.0  # CPU seconds of the gunicorn workers
    db_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends serving them

    def merge(self, other: Result) -> None:
        self.app_cpu += other.app_cpu
        self.db_cpu += other.db_cpu
        self.elapsed += other.elapsed
        self.totals += other.totals
        self.parts += other.parts
        self.errors += other.errors

    @property
    def rps(self) -> float:
        return len(self.totals) / self.elapsed if self.elapsed else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.totals, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.totals, 0.95)

    def steps(self) -> list[tuple[float, float]]:
        """p50 and p95 of each request of a multi-request iteration (complete ones only)."""
        width = max((len(p) for p in self.parts), default=0)
        if width < 2:
            return []
        columns = [[p[i] for p in self.parts if len(p) == width] for i in range(width)]
        return [(percentile(c, 0.50), percentile(c, 0.95)) for c in columns]


def percentile(values: list[float], q: float) -> float:
    """Milliseconds; nearest-rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * q) - 1)] * 1000


Step = Callable[[], tuple[bool, list[float], str]]


def hammer(make_step: Callable[[int], Step], seconds: float, concurrency: int) -> Result:
    """Run `concurrency` threads, each repeating its step until the deadline."""
    steps = [make_step(i) for i in range(concurrency)]
    result = Result()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(step: Step) -> None:
        mine = Result()
        while time.perf_counter() < deadline:
            ok, latencies, error = step()
            mine.totals.append(sum(latencies))
            mine.parts.append(latencies)
            if not ok:
                mine.errors.append(error)
        with lock:
            result.merge(mine)

    threads = [threading.Thread(target=worker, args=(s,)) for s in steps]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - began
    return result


def get_step(
    port: int, path: str, cookies: dict[str, str], status: int = 200, headers=None
) -> Step:
    client = Client(port, cookies)

    def step() -> tuple[bool, list[float], str]:
        start = time.perf_counter()
        response, _ = client.request("GET", path, headers=headers)
        ok = response.status == status
        return ok, [time.perf_counter() - start], "" if ok else f"{path}: {response.status}"

    return step


@dataclass
class Persona:
    """A parent of the target business who can book, and the data the clients need."""

    email: str
    student_id: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""
    known: set[int] = field(default_factory=set)


class Slots:
    """Distinct future one-hour slots (business-local date and HH:MM), shared by threads."""

    def __init__(self, timezone: str) -> None:
        today = datetime.now(ZoneInfo(timezone)).date()
        # Far beyond the seeded sessions (≤ 45 days ahead); a random start per run keeps a
        # reused database's leftovers (an interrupted run) out of the way.
        self.first_day = today + timedelta(days=120 + random.randrange(3000))
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


# --- databases, seeding, server ---------------------------------------------------------


def app_env(database_url: str, instance_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PREPBASE_ENV="development",
        PREPBASE_INSTANCE_DIR=instance_dir,
        DATABASE_URL=database_url,
        MAIL_BACKEND="console",
        RATELIMIT_DISABLED="1",
    )
    return env


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    output = (done.stdout + done.stderr).strip()
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{output}")
    return output


def audit(env: dict[str, str]) -> str:
    return flask(env, "prepbase", "audit").splitlines()[-1]


def prepare_database(args, size: str, businesses: int, instance_dir: str) -> tuple[str, str]:
    """Create (or reuse) and seed the database; returns its URL and a line about seeding."""
    name = f"{args.db_prefix}_{size}"
    url = f"{args.base_url.rstrip('/')}/{name}"
    marker = f"prepbase bench seed v{SEED_VERSION}: {businesses} businesses, seed {args.seed}"
    with psycopg.connect(f"{args.base_url.rstrip('/')}/postgres", autocommit=True) as admin:
        comment = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        if args.reuse and comment is not None and comment[0] == marker:
            return url, "reused the database seeded earlier"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = app_env(url, instance_dir)
    flask(env, "db", "upgrade")
    print(f"seeding {name}: {businesses:,} businesses …", flush=True)
    result = seeder.seed(
        url, businesses, args.seed, log=lambda m: print(m, flush=True), now=args.now
    )
    with psycopg.connect(f"{args.base_url.rstrip('/')}/postgres", autocommit=True) as admin:
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    return url, f"seeded in {result['seconds']:.0f} s"


def drop_database(args, size: str) -> None:
    with psycopg.connect(f"{args.base_url.rstrip('/')}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.db_prefix}_{size}" WITH (FORCE)')


CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICK


def children(master_pid: int) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"PPid:\t{master_pid}\n" in status.read_text():
                pids.append(int(status.parent.name))
        except OSError:
            continue
    return pids


@dataclass
class Target:
    slug: str
    timezone: str
    admin_email: str
    personas: list[Persona]
    staff_ids: list[int]
    counts: dict[str, int]
    database: dict[str, int]


def describe_target(url: str, clients: int) -> Target:
    """Who the clients sign in as: parents whose student can book one Tutoring hour."""
    with psycopg.connect(url) as conn:
        tenant_id, timezone = conn.execute(
            "SELECT id, timezone FROM tenant WHERE slug = %s", (seeder.TARGET_SLUG,)
        ).fetchone()
        rows = conn.execute(
            """
            SELECT DISTINCT ON (f.id) u.email, s.id
            FROM family f
            JOIN user_account u ON u.family_id = f.id AND u.role = 'parent' AND u.active
            JOIN student s ON s.family_id = f.id
            JOIN package p ON p.student_id = s.id AND p.service = 'tutoring' AND p.active
                 AND p.expires_on IS NULL AND p.remaining_minutes >= 240
            WHERE f.tenant_id = %s
            ORDER BY f.id, u.id, s.id
            """,
            (tenant_id,),
        ).fetchall()
        staff = conn.execute(
            """
            SELECT u.id FROM user_account u JOIN staff_service x ON x.user_id = u.id
            WHERE u.tenant_id = %s AND u.active AND x.service = 'tutoring' ORDER BY u.id
            """,
            (tenant_id,),
        ).fetchall()
        admin_email = conn.execute(
            "SELECT email FROM user_account WHERE tenant_id = %s AND role = 'admin' "
            "ORDER BY id LIMIT 1",
            (tenant_id,),
        ).fetchone()[0]
        counts = {}
        database = {}
        for table in ("student", "family", "package", "tutoring_session", "ledger_entry"):
            counts[table] = conn.execute(
                f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (tenant_id,)
            ).fetchone()[0]
            database[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        database["tenant"] = conn.execute("SELECT count(*) FROM tenant").fetchone()[0]
    if len(rows) < clients:
        raise SystemExit(f"only {len(rows)} families of the target can book; use fewer clients")
    return Target(
        seeder.TARGET_SLUG,
        timezone,
        admin_email,
        [Persona(email, student_id) for email, student_id in rows[:clients]],
        [row[0] for row in staff],
        counts,
        database,
    )


# --- one size ---------------------------------------------------------------------------

ENDPOINTS = {
    "hello": "hello world (/healthz)",
    "floor": "signed-in redirect (floor)",
    "dashboard": "family dashboard",
    "packages": "Packages tab (admin)",
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
    server: subprocess.Popen | None = None
    port: int = 0
    admin: dict[str, str] = field(default_factory=dict)
    slots: Slots | None = None
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

    def step_factory(self, key: str) -> Callable[[int], Step]:
        port, slug, personas = self.port, self.target.slug, self.target.personas
        staff = self.target.staff_ids

        def persona(i: int) -> Persona:
            return personas[i % len(personas)]

        if key == "hello":
            return lambda i: get_step(port, "/healthz", {})
        if key == "floor":  # tenant + user loaded, no template: any signed-in page costs this
            return lambda i: get_step(port, f"/{slug}/", persona(i).cookies, status=302)
        if key == "dashboard":
            return lambda i: get_step(port, f"/{slug}/family/", persona(i).cookies)
        if key == "packages":
            return lambda i: get_step(
                port, f"/{slug}/admin/students/{persona(i).student_id}/packages", self.admin
            )
        return lambda i: book_cancel_step(port, slug, persona(i), staff[i % len(staff)], self.slots)


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


def start(args, run: Run) -> None:
    run.port = port = free_port()
    run.server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=run.env,
        start_new_session=True,
    )
    for _ in range(300):
        if run.server.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            Client(port).request("GET", "/healthz")
            break
        except OSError:
            time.sleep(0.1)
    slug = run.target.slug
    run.admin = sign_in(port, slug, run.target.admin_email)
    for persona in run.target.personas:
        client = Client(port, sign_in(port, slug, persona.email))
        response, page = client.request("GET", f"/{slug}/family/")
        assert response.status == 200, response.status
        persona.cookies = client.cookies
        persona.token = TOKEN.search(page).group(1).decode()
        persona.known = {int(i) for i in CANCEL.findall(page)}
    run.slots = Slots(run.target.timezone)


def stop(run: Run) -> None:
    if run.server is None or run.server.poll() is not None:
        return
    run.server.send_signal(signal.SIGTERM)
    try:
        run.server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(run.server.pid, signal.SIGKILL)
        run.server.wait()


def report(args, run: Run) -> None:
    load = ", ".join(f"{x:.1f}" for x in run.load)
    print(
        f"\n== {run.size}: gunicorn {args.workers} workers, {args.concurrency} keep-alive "
        f"clients, {args.rounds} × {args.seconds:g} s per endpoint, load average {load}"
    )
    print(
        f"{'endpoint':<28}{'req/s':>8}{'× hello':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'app CPU':>9}{'db CPU':>8}{'errors':>8}  target"
    )
    hello = run.results["hello"].rps
    for key, label in ENDPOINTS.items():
        result = run.results[key]
        ratio = result.rps / hello
        verdict = ""
        if key in TARGETS:
            verdict = f"≥ {TARGETS[key]:.2f}× {'met' if ratio >= TARGETS[key] else 'MISSED'}"
        n = max(len(result.totals), 1)
        print(
            f"{label:<28}{result.rps:>8.0f}{ratio:>9.2f}{result.p50:>9.1f}{result.p95:>9.1f}"
            f"{result.app_cpu / n * 1000:>9.2f}{result.db_cpu / n * 1000:>8.2f}"
            f"{len(result.errors):>8}  {verdict}"
        )
        for name, (p50, p95) in zip(BOOK_STEPS, result.steps(), strict=False):
            print(f"  {name:<26}{'':>17}{p50:>9.1f}{p95:>9.1f}")
        if result.errors:
            print(f"  first error: {result.errors[0]}")
    rss = worker_rss_mb(run.server.pid) if run.server else []
    print(
        "app CPU / db CPU: CPU milliseconds per request (iteration) of the gunicorn workers /"
        " of their PostgreSQL backends"
    )
    print(f"worker memory (RSS): {', '.join(f'{r:.0f} MB' for r in sorted(rss))}")


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
    parser.add_argument("--base-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db-prefix", default="prepbase_bench")
    parser.add_argument("--small-businesses", type=int, default=10)
    parser.add_argument("--large-businesses", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    args.now = datetime.now(UTC)  # both sizes are seeded as of the same moment
    if "bench" not in args.db_prefix:
        parser.error("--db-prefix must contain 'bench' (its databases are dropped)")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.db_prefix):
        parser.error("--db-prefix: lowercase letters, digits and underscores only")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"PrepBase {commit or '(no git)'}, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs"
    )
    sizes = ("small", "large") if args.size == "both" else (args.size,)
    runs = [prepare(args, size) for size in sizes]
    try:
        for run in runs:
            start(args, run)
        # Sizes take turns endpoint by endpoint, round by round, so a busy moment of the
        # machine hits both alike.
        print(f"\nmeasuring {', '.join(sizes)} in turns …", flush=True)
        for run in runs:
            run.load.append(os.getloadavg()[0])
        for round_ in range(args.rounds):
            for key in ENDPOINTS:
                for run in runs:
                    make_step = run.step_factory(key)
                    if round_ == 0:
                        hammer(make_step, 0.5, 2)  # warm up
                    app_pids = [run.server.pid, *children(run.server.pid)]
                    db_pids = run.backend_pids()
                    app_cpu, db_cpu = cpu_seconds(app_pids), cpu_seconds(db_pids)
                    result = hammer(make_step, args.seconds, args.concurrency)
                    result.app_cpu = cpu_seconds(app_pids) - app_cpu
                    result.db_cpu = cpu_seconds(db_pids) - db_cpu
                    run.results.setdefault(key, Result()).merge(result)
        for run in runs:
            run.load.append(os.getloadavg()[0])
            report(args, run)
    finally:
        for run in runs:
            stop(run)
    for run in runs:
        print(f"{run.size}: audit after the bookings: {audit(run.env)}")
        shutil.rmtree(run.env["PREPBASE_INSTANCE_DIR"], ignore_errors=True)
        if not (args.keep or args.reuse):
            drop_database(args, run.size)
    if len(runs) == 2:
        compare(*runs)


if __name__ == "__main__":
    main()
