"""What every benchmark under bench/ shares: the app's environment and databases, gunicorn
on a free loopback port, the load generator, the workers' memory and CPU, and the table
of results.

Every figure the scripts print is a multiple of a hello-world endpoint loaded by the same
clients, on the same gunicorn settings, in the same run: a machine shared with other
work gives steadier ratios than absolute requests per second.

The scripts (run.py, slots.py, reports.py, calendar_week.py, hours.py, floor.py,
profile_pages.py) import this module; seed.py (the generator of the large databases) and
floor_app.py (the bare Flask app floor.py measures) stand alone, so this module builds on
seed.py and not the other way round.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPResponse
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import psycopg
import seed as seeder  # bench/seed.py
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
DEMO_SLUG = "demo"
DEMO_PASSWORD = "prepbase-demo"  # the demo logins' password (prepbase/demo.py)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTMX = {**FORM, "HX-Request": "true"}
# Every page carries its CSRF token in <body hx-headers=…>, the sign-in page included.
TOKEN = re.compile(rb"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""")
SEED_VERSION = 1  # bump when bench/seed.py changes what it generates
START_SECONDS = 30  # how long gunicorn may take to answer /healthz
WARM_UP = (0.5, 2)  # seconds and clients of the warm-up before an endpoint's first round


# --- the app's environment and databases ------------------------------------------------


def app_env(database_url: str, instance_dir: str) -> dict[str, str]:
    """The environment the app runs in: development settings, mail to the log, no rate
    limits (the load would trip them), this database and instance folder."""
    env = dict(os.environ)
    env.update(
        PREPBASE_ENV="development",
        PREPBASE_INSTANCE_DIR=instance_dir,
        DATABASE_URL=database_url,
        MAIL_BACKEND="console",
        RATELIMIT_DISABLED="1",
    )
    return env


def _run(
    what: str, argv: list[str], env: dict[str, str], capture: bool
) -> subprocess.CompletedProcess:
    """Run one of the app's commands in its folder; exit with its output if it fails."""
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=capture, text=True)
    if done.returncode:
        output = (done.stdout + done.stderr).strip() if capture else "(its output is above)"
        raise SystemExit(f"{what} failed:\n{output}")
    return done


def flask_cli(env: dict[str, str], *args: str) -> str:
    """Run `flask --app wsgi …` in this environment; what it printed."""
    argv = [str(BIN / "flask"), "--app", "wsgi", *args]
    done = _run(f"flask {' '.join(args)}", argv, env, capture=True)
    return (done.stdout + done.stderr).strip()


def run_python(env: dict[str, str], code: str, *args: str, capture: bool = False) -> str:
    """Run a seeding snippet (`python -c code args…`) against the app in this environment;
    its standard output when `capture`, else it goes to the terminal."""
    done = _run("a seeding snippet", [str(BIN / "python"), "-c", code, *args], env, capture)
    return done.stdout if capture else ""


# A live database has planner statistics (autovacuum); a bulk load has none until ANALYZE,
# and without them PostgreSQL picks nested loops over whole aggregates and sorts where an
# index would answer.
ANALYZE = """
from prepbase import create_app
from prepbase.extensions import db
app = create_app()
with app.app_context(), db.engine.connect() as c:
    c.exec_driver_sql('ANALYZE'); c.commit()
"""


def analyze(env: dict[str, str]) -> None:
    """Gather the planner's statistics after seeding, as autovacuum would on a live database."""
    run_python(env, ANALYZE)


def audit(env: dict[str, str]) -> str:
    """The last line of `flask prepbase audit`: whether every balance matches its ledger."""
    return flask_cli(env, "prepbase", "audit").splitlines()[-1]


@contextmanager
def demo_env(prefix: str) -> Iterator[dict[str, str]]:
    """An environment on a fresh database (temporary SQLite unless DATABASE_URL is set),
    migrated and holding the demo business; its temporary folder is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        env = app_env(url, tmp)
        flask_cli(env, "db", "upgrade")
        flask_cli(env, "prepbase", "seed-demo")
        yield env


def load_options(
    parser: argparse.ArgumentParser, seconds: float, workers: int, rounds: int | None = None
) -> None:
    """--seconds (per endpoint), --concurrency (clients), --workers (gunicorn's), and
    --rounds when the endpoints take turns over several rounds."""
    parser.add_argument("--seconds", type=float, default=seconds)
    if rounds is not None:
        parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=workers)


def database_options(parser: argparse.ArgumentParser) -> None:
    """--base-url and --db-prefix: where the seeded PostgreSQL databases live."""
    parser.add_argument("--base-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db-prefix", default="prepbase_bench")


def check_database_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a prefix that could name someone else's database: ours are dropped."""
    if "bench" not in args.db_prefix:
        parser.error("--db-prefix must contain 'bench' (its databases are dropped)")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.db_prefix):
        parser.error("--db-prefix: lowercase letters, digits and underscores only")


def _server_url(args: argparse.Namespace, database: str) -> str:
    return f"{args.base_url.rstrip('/')}/{database}"


def prepare_database(
    args: argparse.Namespace, size: str, businesses: int, instance_dir: str
) -> tuple[str, str]:
    """Create (or, with args.reuse, reuse) `<db_prefix>_<size>` and seed it with
    bench/seed.py; returns its URL and a line about seeding."""
    name = f"{args.db_prefix}_{size}"
    url = _server_url(args, name)
    marker = f"prepbase bench seed v{SEED_VERSION}: {businesses} businesses, seed {args.seed}"
    with psycopg.connect(_server_url(args, "postgres"), autocommit=True) as admin:
        comment = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        if args.reuse and comment is not None and comment[0] == marker:
            return url, "reused the database seeded earlier"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    flask_cli(app_env(url, instance_dir), "db", "upgrade")
    print(f"seeding {name}: {businesses:,} businesses …", flush=True)
    result = seeder.seed(
        url, businesses, args.seed, log=lambda m: print(m, flush=True), now=args.now
    )
    with psycopg.connect(_server_url(args, "postgres"), autocommit=True) as admin:
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    return url, f"seeded in {result['seconds']:.0f} s"


def drop_database(args: argparse.Namespace, size: str) -> None:
    """Drop `<db_prefix>_<size>`."""
    with psycopg.connect(_server_url(args, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.db_prefix}_{size}" WITH (FORCE)')


@dataclass
class Persona:
    """A parent of the target business who can book, and what the clients keep of them."""

    email: str
    student_id: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""
    known: set[int] = field(default_factory=set)  # ids of sessions not booked by this run


@dataclass
class Target:
    """The business the benchmarks load (`bench-target`), who signs in and its size."""

    slug: str
    timezone: str
    admin_email: str
    personas: list[Persona]
    staff_ids: list[int]
    counts: dict[str, int]  # rows of the target business per table
    database: dict[str, int]  # rows of the whole database per table


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


# --- gunicorn and its processes ---------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running gunicorn: its port and its master process."""

    port: int
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def workers(self) -> list[int]:
        return children(self.pid)

    def memory_line(self) -> str:
        """The workers' resident memory, as every script prints it."""
        sizes = sorted(worker_rss_mb(self.pid))
        return f"worker memory (RSS): {', '.join(f'{r:.0f} MB' for r in sizes)}"


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int, app: str = "wsgi:app", cwd: Path = ROOT
) -> Iterator[Server]:
    """gunicorn's sync workers serving `app` on a free loopback port, once it answers
    /healthz; stopped (and killed if it lingers) afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "bench" / "gunicorn_bench.conf.py"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--log-level",
            "warning",
            app,
        ],
        cwd=cwd,
        env=env,
        start_new_session=True,  # its own process group, so a stuck worker can be killed
    )
    server = Server(port, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        _stop(process)


def _wait_until_up(server: Server) -> None:
    for _ in range(START_SECONDS * 10):
        if server.process.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            Client(server.port).request("GET", "/healthz")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn did not answer /healthz within {START_SECONDS} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def children(parent_pid: int) -> list[int]:
    """The processes whose parent is `parent_pid` (gunicorn's workers)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"PPid:\t{parent_pid}\n" in status.read_text():
                pids.append(int(status.parent.name))
        except OSError:
            continue
    return pids


def worker_rss_mb(master_pid: int) -> list[float]:
    """Resident memory of each gunicorn worker, in MB."""
    sizes = []
    for pid in children(master_pid):
        try:
            rss = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        except OSError:
            continue
        if rss:
            sizes.append(int(rss.group(1)) / 1024)
    return sizes


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


# --- clients ----------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection with its own cookie jar."""

    def __init__(self, port: int, cookies: Mapping[str, str] | None = None) -> None:
        self.port = port
        self.cookies = dict(cookies or {})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self,
        method: str,
        path: str,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[HTTPResponse, bytes]:
        """Send one request (reconnecting once if gunicorn closed the connection); the
        response and its body. Cookies the answer sets are kept for the next request."""
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


def csrf_token(page: bytes) -> str:
    """The CSRF token a page carries for its forms and htmx requests."""
    found = TOKEN.search(page)
    if found is None:
        raise SystemExit("the page carries no CSRF token")
    return found.group(1).decode()


def signed_in_client(app: Flask, slug: str, email: str, password: str) -> FlaskClient:
    """A Flask test client signed in at /<slug>/login, as `sign_in` does over HTTP (for
    in-process measurements: statements per request, profiles)."""
    client = app.test_client()
    token = csrf_token(client.get(f"/{slug}/login").get_data())
    response = client.post(
        f"/{slug}/login", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code in (302, 303), response.status_code
    return client


def user_email(url: str, user_id: int) -> str:
    """The e-mail of a user of the seeded database at `url` (a staff member to sign in as)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT email FROM user_account WHERE id = %s", (user_id,)).fetchone()
    return str(row[0])


def sign_in(port: int, slug: str, email: str, password: str) -> dict[str, str]:
    """Sign in at /<slug>/login as a browser would; the signed-in cookies."""
    client = Client(port)
    _, page = client.request("GET", f"/{slug}/login")
    form = {"csrf_token": csrf_token(page), "email": email, "password": password, "next": ""}
    response, _ = client.request("POST", f"/{slug}/login", urlencode(form), FORM)
    if response.status not in (302, 303):
        raise SystemExit(f"sign-in of {email} answered {response.status}")
    return client.cookies


def sign_in_demo(port: int, email: str) -> dict[str, str]:
    """Sign in to the demo business (`flask prepbase seed-demo`) as one of its logins."""
    return sign_in(port, DEMO_SLUG, email, DEMO_PASSWORD)


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


# One iteration of a client: whether it went right, each request's seconds, what went wrong.
Step = Callable[[], tuple[bool, list[float], str]]
# Makes client number i's step (each client has its own connection and, maybe, user).
StepFactory = Callable[[int], Step]
# CPU seconds so far of (the app's processes, the database's), read before and after a load.
Meter = Callable[[], tuple[float, float]]
Key = TypeVar("Key")


def hammer(make_step: StepFactory, seconds: float, concurrency: int) -> Result:
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
    port: int,
    path: str,
    cookies: Mapping[str, str],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Step:
    """A client that GETs `path` and expects `status`."""
    client = Client(port, cookies)

    def step() -> tuple[bool, list[float], str]:
        start = time.perf_counter()
        response, _ = client.request("GET", path, headers=headers)
        ok = response.status == status
        return ok, [time.perf_counter() - start], "" if ok else f"{path}: {response.status}"

    return step


@dataclass(frozen=True)
class Get:
    """An endpoint every client GETs alike: a StepFactory."""

    port: int
    path: str
    cookies: Mapping[str, str] = field(default_factory=dict)
    status: int = 200
    headers: Mapping[str, str] | None = None

    def __call__(self, _client: int) -> Step:
        return get_step(self.port, self.path, self.cookies, self.status, self.headers)


def take_turns(
    endpoints: Mapping[Key, StepFactory],
    rounds: int,
    seconds: float,
    concurrency: int,
    meter: Callable[[Key], Meter] | None = None,
) -> dict[Key, Result]:
    """Load each endpoint in turn, round by round, so a busy moment of a shared machine
    hits them alike; the first round warms each up first. With `meter`, each result also
    holds the CPU time the app and the database spent on it."""
    results: dict[Key, Result] = {}
    for round_ in range(rounds):
        for key, make_step in endpoints.items():
            if round_ == 0:
                hammer(make_step, *WARM_UP)
            read = meter(key) if meter else None
            before = read() if read else (0.0, 0.0)
            result = hammer(make_step, seconds, concurrency)
            if read:
                after = read()
                result.app_cpu, result.db_cpu = after[0] - before[0], after[1] - before[1]
            results.setdefault(key, Result()).merge(result)
    return results


# --- the table of results ---------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """Endpoint, req/s, × hello world, p50, p95 (ms), [more columns,] errors[, target]."""

    label_width: int = 30
    rps_width: int = 9
    extra: tuple[tuple[str, int], ...] = ()  # (heading, width) of columns before errors
    verdicts: bool = False  # a last "target" column

    def header(self) -> str:
        line = (
            f"{'endpoint':<{self.label_width}}{'req/s':>{self.rps_width}}{'× hello':>9}"
            f"{'p50 ms':>9}{'p95 ms':>9}"
        )
        line += "".join(f"{heading:>{width}}" for heading, width in self.extra)
        line += f"{'errors':>8}"
        return f"{line}  target" if self.verdicts else line

    def row(
        self,
        label: str,
        result: Result,
        hello_rps: float,
        extra: tuple[float, ...] = (),
        verdict: str = "",
    ) -> str:
        line = (
            f"{label:<{self.label_width}}{result.rps:>{self.rps_width}.0f}"
            f"{result.rps / hello_rps:>9.3f}{result.p50:>9.1f}{result.p95:>9.1f}"
        )
        line += "".join(
            f"{value:>{width}.2f}" for value, (_, width) in zip(extra, self.extra, strict=True)
        )
        line += f"{len(result.errors):>8}"
        return f"{line}  {verdict}" if self.verdicts else line

    def print(self, results: Mapping[str, Result]) -> None:
        """Header and a row per endpoint; the first endpoint is the hello world."""
        print(self.header())
        hello = next(iter(results.values())).rps
        for label, result in results.items():
            print(self.row(label, result, hello))


def load_pages(
    server: Server,
    env: dict[str, str],
    about: str,
    pages: Mapping[str, StepFactory],
    args: argparse.Namespace,
    rounds: int = 1,
) -> dict[str, Result]:
    """What run.py, slots.py, reports.py and calendar_week.py print: a line about the database
    (its kind, then `about`) and the load, `rounds` rounds over a bare Flask hello world (the
    yardstick, bench/hello_app.py on the same gunicorn settings) and `pages` taking turns,
    as a table, and the workers' memory. Returns the results by label."""
    kind = env["DATABASE_URL"].split(":", 1)[0]
    print(
        f"database: {kind}{about}; gunicorn workers: {args.workers}; "
        f"clients: {args.concurrency}; {args.seconds:g} s per endpoint; CPUs: {os.cpu_count()}"
    )
    with gunicorn(env, args.workers, app="hello_app:app", cwd=BENCH) as bare:
        endpoints = {"bare Flask hello world": Get(bare.port, "/healthz"), **pages}
        results = take_turns(endpoints, rounds, args.seconds, args.concurrency)
        Table(label_width=36).print(results)
    print(server.memory_line())
    return results
