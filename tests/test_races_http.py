"""Two gunicorn servers on one database: families racing over HTTP for the last hours."""

from __future__ import annotations

import os
import random
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from prepbase import scheduling
from prepbase.models import Student, Tenant, TutoringSession, User, utcnow
from prepbase.tenancy import as_tenant
from tests.clock import gunicorn_command
from tests.conftest import free_port
from tests.factories import business_today
from tests.test_lock_order import check_hours
from tests.test_races import check_books, give_package, load, run_threads

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_servers(database_url, tmp_path) -> Iterator[list[str]]:
    """Two gunicorn masters with two workers each, sharing the secret and the database."""
    env = dict(os.environ)
    env.update(
        PREPBASE_ENV="testing",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=database_url,
        MAIL_BACKEND="console",
        RATELIMIT_DISABLED="1",
        PREPBASE_INSTANCE_DIR=str(tmp_path),
    )
    servers, urls = [], []
    for _ in range(2):
        port = free_port()
        servers.append(
            subprocess.Popen(
                gunicorn_command(
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--no-control-socket",
                    "--log-level",
                    "warning",
                    "wsgi:app",
                ),
                cwd=ROOT,
                env=env,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            for _ in range(200):
                try:
                    requests.get(f"{url}/healthz", timeout=5)
                    break
                except requests.RequestException:
                    time.sleep(0.05)
            else:
                pytest.fail(f"gunicorn at {url} did not start")
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)


def signed_in(url: str, slug: str, email: str, password: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{url}/{slug}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = browser.post(
        f"{url}/{slug}/login",
        data={"csrf_token": token, "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303, response.text
    return browser


def csrf_of(browser: requests.Session, url: str) -> str:
    return re.search(r'"X-CSRFToken": "([^"]+)"', browser.get(url, timeout=10).text).group(1)


def test_two_servers_race_for_the_last_hours(app, engine, committed, two_servers):
    slug = committed.tenant.slug
    package_id = give_package(app, engine, committed, 5 * 60)
    base = utcnow() + timedelta(days=30)
    tz_day = base.date()
    browsers = []
    for url in two_servers:
        browser = signed_in(url, slug, committed.parent.email, committed.password)
        browsers.append((url, browser, csrf_of(browser, f"{url}/{slug}/family/sessions/new")))

    def book(i: int) -> str:
        url, browser, token = browsers[i % 2]
        response = browser.post(
            f"{url}/{slug}/family/sessions/new",
            data={
                "csrf_token": token,
                "student": str(committed.students[0].id),
                "service": "tutoring",
                "staff": str(committed.tutor.id),
                "date": (tz_day + timedelta(days=i)).isoformat(),
                "start_time": "15:00",
                "duration": "1",
            },
            allow_redirects=False,
            timeout=60,
        )
        if response.status_code == 303:
            return "booked"
        if response.status_code == 422 and "Not enough hours" in response.text:
            return "not enough hours"
        return f"unexpected {response.status_code}: {response.text[:300]}"

    results = run_threads(20, book)
    assert results.count("booked") == 5, results
    assert results.count("not enough hours") == 15, results
    assert check_books(engine, committed, package_id).remaining_minutes == 0


def test_two_servers_race_to_accept(app, engine, committed, two_servers):
    """Accepts queue on the people locks; the conditional UPDATE refuses the late ones."""
    slug = committed.tenant.slug
    package_id = give_package(app, engine, committed, 3 * 60)
    ids = []
    with as_tenant(committed.tenant.id), Session(engine) as session:
        tenant = load(session, Tenant, committed.tenant.id)
        tutor = load(session, User, committed.tutor.id)
        student = load(session, Student, committed.students[0].id)
        for i in range(10):
            ts = scheduling.propose_session(
                session,
                tenant,
                tutor,
                student=student,
                staff=tutor,
                service="tutoring",
                starts_at=utcnow() + timedelta(days=30, hours=2 * i),
                duration_minutes=60,
            )
            ids.append(ts.id)
        session.commit()
    browsers = []
    for url in two_servers:
        browser = signed_in(url, slug, committed.parent.email, committed.password)
        browsers.append((url, browser, csrf_of(browser, f"{url}/{slug}/family/")))

    def accept(i: int) -> str:
        url, browser, token = browsers[i % 2]
        response = browser.post(
            f"{url}/{slug}/family/sessions/{ids[i]}/accept",
            data={"csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        return str(response.status_code)

    results = run_threads(10, accept)
    with as_tenant(committed.tenant.id), Session(engine) as session:
        statuses = session.scalars(
            sa.select(TutoringSession.status).where(TutoringSession.id.in_(ids))
        ).all()
    assert sorted(statuses).count("upcoming") == 3, (results, statuses)
    assert statuses.count("pending") == 7
    assert check_books(engine, committed, package_id).remaining_minutes == 0


def test_two_servers_mixed_book_cancel_accept_give_no_5xx(app, engine, committed, two_servers):
    """Issue 11: bookings, accepts and cancels (by the family and by the tutor) for one
    student and staff member, 8 at a time across two servers: no 5xx, hours add up."""
    slug = committed.tenant.slug
    initial = 200 * 60
    package_id = give_package(app, engine, committed, initial)
    later = utcnow() + timedelta(days=40)  # days the bookings below do not use
    with as_tenant(committed.tenant.id), Session(engine) as session:
        tenant = load(session, Tenant, committed.tenant.id)
        tutor = load(session, User, committed.tutor.id)
        parent = load(session, User, committed.parent.id)
        student = load(session, Student, committed.students[0].id)
        plan = dict(student=student, staff=tutor, service="tutoring", duration_minutes=60)
        proposals = [
            scheduling.propose_session(
                session, tenant, tutor, starts_at=later + timedelta(hours=2 * i), **plan
            ).id
            for i in range(30)
        ]
        booked = [
            scheduling.book_session(
                session, tenant, parent, starts_at=later + timedelta(days=5, hours=2 * i), **plan
            ).id
            for i in range(20)
        ]
        session.commit()
    servers = []
    for url in two_servers:
        family = signed_in(url, slug, committed.parent.email, committed.password)
        staff = signed_in(url, slug, committed.tutor.email, committed.password)
        servers.append(
            {
                "url": f"{url}/{slug}",
                "family": (family, csrf_of(family, f"{url}/{slug}/family/")),
                "tutor": (staff, csrf_of(staff, f"{url}/{slug}/tutor/")),
            }
        )
    lock = threading.Lock()
    statuses: list[tuple[str, int]] = []

    def post(server: dict, who: str, path: str, **data: str) -> int:
        browser, token = server[who]
        response = browser.post(
            f"{server['url']}{path}",
            data={"csrf_token": token, **data},
            allow_redirects=False,
            timeout=60,
        )
        return response.status_code

    def thread(i: int) -> str:
        rng = random.Random(i)
        for k in range(12):
            server = servers[(i + k) % 2]
            number = i * 12 + k
            verb = rng.choice(("book", "accept", "cancel"))
            if verb == "book":
                status = post(
                    server,
                    "family",
                    "/family/sessions/new",
                    student=str(committed.students[0].id),
                    service="tutoring",
                    staff=str(committed.tutor.id),
                    date=business_today(2 + number // 6).isoformat(),
                    start_time=f"{8 + 2 * (number % 6):02d}:00",
                    duration="1",
                )
            elif verb == "accept":
                with lock:
                    session_id = proposals.pop() if proposals else booked[0]
                status = post(server, "family", f"/family/sessions/{session_id}/accept")
                if status == 303:
                    with lock:
                        booked.append(session_id)
            else:
                with lock:
                    session_id = rng.choice(booked)
                who = rng.choice(("family", "tutor"))  # also the portal's URL prefix
                status = post(server, who, f"/{who}/sessions/{session_id}/cancel")
            with lock:
                statuses.append((verb, status))
        return "done"

    assert run_threads(8, thread) == ["done"] * 8
    assert [s for s in statuses if s[1] >= 500] == []
    assert {status for _, status in statuses} <= {303, 409, 422}, statuses
    assert ("book", 303) in statuses and ("cancel", 303) in statuses
    check_hours(engine, committed, package_id, initial)
