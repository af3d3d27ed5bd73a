"""Throughput, latency and memory of PrepBase pages under gunicorn, on loopback only.

Seeds a database (temporary SQLite unless DATABASE_URL is set), starts gunicorn, signs
in as the demo admin and hammers each endpoint with N keep-alive clients for a few
seconds. Figures are relative to a hello-world endpoint served by the same processes.

    .venv/bin/python bench/run.py --seconds 10 --concurrency 8 --workers 2 --students 2000
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """One keep-alive HTTP/1.1 connection carrying the admin's cookie."""

    def __init__(self, port: int, cookie: str = "") -> None:
        self.port = port
        self.cookie = cookie
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        return response, data


def sign_in(port: int, email: str, password: str) -> str:
    client = Client(port)
    response, data = client.request("GET", "/demo/login")
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', data)
    if token is None:
        token = re.search(rb'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', data)
    client.cookie = cookie
    form = urlencode({"csrf_token": token.group(1).decode(), "email": email, "password": password})
    response, _ = client.request(
        "POST",
        "/demo/login",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status in (302, 303), response.status
    return response.getheader("Set-Cookie").split(";", 1)[0]


def hammer(
    port: int, path: str, cookie: str, seconds: float, concurrency: int, headers=None
) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors
        client = Client(port, cookie)
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response, _ = client.request("GET", path, headers=headers)
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "errors": errors,
        "n": len(latencies),
    }


def demo_env(prefix: str) -> dict[str, str]:
    """An environment on a fresh database (temporary SQLite unless DATABASE_URL is set),
    migrated and holding the demo business."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    env = dict(os.environ)
    env.update(
        PREPBASE_ENV="development",
        PREPBASE_INSTANCE_DIR=str(tmp),
        MAIL_BACKEND="console",
        RATELIMIT_DISABLED="1",
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "prepbase", "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int, app: str = "wsgi:app", cwd: Path = ROOT
) -> Iterator[tuple[int, subprocess.Popen]]:
    """gunicorn serving `app` on a free loopback port, answering /healthz; stopped
    afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
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
    )
    try:
        for _ in range(100):
            try:
                Client(port).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=10)


def worker_rss_mb(master_pid: int) -> list[float]:
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"PPid:\t{master_pid}\n" in text:
            rss = re.search(r"VmRSS:\s+(\d+) kB", text)
            if rss:
                sizes.append(int(rss.group(1)) / 1024)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()

    env = demo_env("prepbase-bench-")
    subprocess.run(
        [str(BIN / "python"), "-c", SEED_STUDENTS, str(args.students)],
        cwd=ROOT,
        env=env,
        check=True,
    )

    with gunicorn(env, args.workers) as (port, server):
        cookie = sign_in(port, "owner@brightpath.example.com", "prepbase-demo")
        endpoints = [
            ("hello world (/healthz)", "/healthz", ""),
            ("sign-in page", "/demo/login", ""),
            ("admin dashboard", "/demo/admin/", cookie),
            ("Student Profiles (50 a page)", "/demo/admin/students", cookie),
            ("student search", "/demo/admin/students?q=bench1", cookie),
        ]
        db_kind = env["DATABASE_URL"].split(":", 1)[0]
        print(
            f"database: {db_kind}, {args.students} extra students; "
            f"gunicorn workers: {args.workers}; "
            f"clients: {args.concurrency}; {args.seconds:g} s per endpoint; CPUs: {os.cpu_count()}"
        )
        print(f"{'endpoint':<30}{'req/s':>9}{'× hello':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
        hello = None
        for label, path, auth_cookie in endpoints:
            hammer(port, path, auth_cookie, 0.5, 2)  # warm up
            result = hammer(port, path, auth_cookie, args.seconds, args.concurrency)
            hello = hello or result["rps"]
            print(
                f"{label:<30}{result['rps']:>9.0f}{result['rps'] / hello:>9.2f}"
                f"{result['p50']:>9.1f}{result['p95']:>9.1f}{result['errors']:>8}"
            )
        rss = worker_rss_mb(server.pid)
        print(f"worker memory (RSS): {', '.join(f'{r:.0f} MB' for r in rss)}")


if __name__ == "__main__":
    main()
