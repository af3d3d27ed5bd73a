"""Fill an empty PrepBase PostgreSQL database with many realistic, consistent businesses, fast.

Every business gets an admin, tutors and counselors (with their StaffService rows), an
offering catalogue, families of one to three students with one or two parents, some
student logins, packages, and a year or so of sessions. Hours are simulated in time order
the way the app moves them:

- a family booking (or a family accepting a staff proposal) debits the package that pays
  under design §3 rule 5 — active, same service, started by the session's day, not
  expired then, covering the whole session, the oldest first; when none can, the admin
  first assigns a new package from the catalogue (its grant is the first ledger entry);
- cancelling a session that holds hours refunds the same package;
- recurring packages renew every period (unused hours expire first unless they roll over);
- packages past their expiry end inactive ("expired"), a few are paused.

So each package's `remaining_minutes` equals the sum of its ledger entries (the audit
passes), `total_minutes` is what was granted, `balance_after` is the running balance, and
no two sessions of one staff member or one student overlap.

Rows are generated from a fixed seed and loaded with COPY. Foreign keys and secondary
indexes are dropped for the load and recreated from their own definitions afterwards
(which validates every reference), sequences are moved past the ids used, and the tables
are VACUUM ANALYZEd.

The business with slug `bench-target` is the one the benchmark loads. It is generated
like every other one (50 students, about 1,000 sessions; other businesses have 35 to 65
students) but from its own seed, so it is identical in a small and a large database.

    .venv/bin/python bench/seed.py postgresql://postgres@127.0.0.1:5432/DB --businesses 10

The schema must exist already (`flask --app wsgi db upgrade`) and hold no business.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from prepbase.packages import next_period_start  # noqa: E402

PASSWORD = "bench-password-1"  # every seeded login's password
TARGET_SLUG = "bench-target"
TARGET_STUDENTS = 50

TABLES = {
    "tenant": "id, name, slug, timezone, low_balance_minutes, created_at",
    "session_category": "id, name, colour, location_type, created_at, tenant_id",
    "family": "id, name, created_at, tenant_id",
    "student": "id, family_id, first_name, last_name, grade, school, notes, created_at, tenant_id",
    "user_account": "id, email, name, role, password_hash, active, session_nonce, family_id, "
    "student_id, created_at, last_login_at, tenant_id",
    "staff_service": "id, user_id, service, tenant_id",
    "offering": "id, name, service, package_type, period, minutes, rollover, archived, "
    "created_at, tenant_id",
    "package": "id, student_id, offering_id, name, service, package_type, period, "
    "period_minutes, rollover, start_date, expires_on, active, inactive_reason, total_minutes, "
    "remaining_minutes, current_period_start, renewals_stopped, created_at, created_by_id, "
    "tenant_id",
    "tutoring_session": "id, student_id, staff_id, service, starts_at, ends_at, "
    "duration_minutes, status, scheduled_by_id, booked_by_family, confirmed_at, package_id, "
    "charged_minutes, attendance, attendance_at, plan_topics, plan_goals, plan_next_steps, "
    "plan_submitted_at, completed_at, cancelled_at, cancelled_by_id, cancel_reason, "
    "declined_at, created_at, category_id, tenant_id",
    "ledger_entry": "id, package_id, minutes, kind, session_id, actor_id, balance_after, "
    "renewal_period, note, created_at, tenant_id",
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "Ava Liam Mia Noah Zoe Ethan Leo Ana Sofia Lucas Emma Mateo Chloe Aiden Maya Jack "
    "Nora Ravi Priya Omar Lena Hugo Ines Yuki Kai Amara Tariq Elena Felix Grace Henry "
    "Isla Jonah Keira Luca Mila Nico Olga Pavel Quinn Rosa Sami Tess Uma Victor Wren "
    "Xavi Yara Zane Dev Ellie Finn Gia Hana Ivan June Kofi Lila Milo"
)
LAST = _words(
    "Garcia Johnson Smith Chen Nair Ortiz Park Kim Patel Nguyen Brown Lopez Wilson "
    "Martin Lee Walker Hall Young King Wright Scott Green Baker Adams Nelson Hill "
    "Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker Collins "
    "Edwards Stewart Morris Murphy Rivera Cook Rogers Morgan Peterson Cooper Reed Bailey "
    "Bell Gomez Kelly Howard Ward Cox Diaz Richardson Wood Watson Brooks"
)
SCHOOLS = (
    "Lincoln High School",
    "Jefferson Middle",
    "Riverside Academy",
    "Oak Park High",
    "St. Mary's",
    "Westview Middle",
    "Central High",
    "Hillside Prep",
)
ZONES = (
    "America/New_York",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
)
TOPICS = (
    "Quadratic equations: factoring and the formula",
    "SAT reading: evidence questions",
    "Essay structure and thesis statements",
    "Chemistry: stoichiometry practice",
    "Geometry proofs with similar triangles",
    "College list: reach, match and safety schools",
    "Personal statement: brainstorm and outline",
    "AP Biology: cell respiration review",
    "Linear functions and slope",
    "Spanish: preterite vs imperfect",
)
GOALS = ("Finish the practice set", "Raise the next test score", "", "Build confidence")
NEXT_STEPS = ("Worksheet 4, problems 1-20", "Read chapter 6", "", "Draft two paragraphs")
STAFF_REASONS = ("Tutor unavailable that day", "Moved at the family's request", "Illness")
DURATIONS = (45, 60, 60, 60, 60, 90, 90, 120)

# (name, service, type, period, minutes, rollover, archived)
CATALOGUE = (
    ("Starter Package", "tutoring", "one_time", None, 600, False, False),
    ("Growth Package", "tutoring", "one_time", None, 1440, False, False),
    ("Intensive Package", "tutoring", "one_time", None, 2400, False, False),
    ("Monthly Tutoring", "tutoring", "recurring", "monthly", 480, False, False),
    ("Weekly Tutoring", "tutoring", "recurring", "weekly", 120, True, False),
    ("College Counseling", "counseling", "one_time", None, 720, False, False),
    ("Application Sprint", "counseling", "one_time", None, 1200, False, False),
    ("Summer Bootcamp 2025", "tutoring", "one_time", None, 1800, False, True),
)


class Ids:
    """The next id of each table (ids are explicit so ledger order can be chosen)."""

    def __init__(self) -> None:
        self.last = dict.fromkeys(TABLES, 0)

    def take(self, table: str) -> int:
        self.last[table] += 1
        return self.last[table]


class Pkg:
    __slots__ = (
        "active",
        "created_at",
        "current_period_start",
        "expires_on",
        "id",
        "inactive_reason",
        "minutes",
        "name",
        "offering_id",
        "period",
        "remaining",
        "rollover",
        "service",
        "start_date",
        "student_id",
        "total",
        "type",
    )


class Sess:
    __slots__ = (
        "booked_by_family",
        "cancel_at",
        "cancel_by",
        "charge_at",
        "charged",
        "created_at",
        "declined_at",
        "duration",
        "ends_at",
        "id",
        "package",
        "row",
        "scheduled_by",
        "service",
        "staff_id",
        "starts_at",
        "status",
        "student_id",
    )


@dataclass
class Out:
    """Rows waiting for COPY, per table."""

    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def count(self) -> dict[str, int]:
        return {t: len(r) for t, r in self.rows.items()}


class Generator:
    def __init__(self, seed: int, now: datetime, password_hash: str) -> None:
        self.seed = seed
        self.now = now
        self.hash = password_hash
        self.ids = Ids()

    # --- one business ---------------------------------------------------------------

    def business(self, index: int, target: bool, out: Out) -> None:
        rng = random.Random(f"{self.seed}:target" if target else f"{self.seed}:{index}")
        self.rng = rng
        self.out = out
        now = self.now
        tid = self.ids.take("tenant")
        self.tid = tid
        zone_name = "America/New_York" if target else rng.choice(ZONES)
        self.zone = ZoneInfo(zone_name)
        self.today = now.astimezone(self.zone).date()
        slug = TARGET_SLUG if target else f"bench-{index:04d}"
        created = now - timedelta(days=rng.randint(400, 1100), minutes=rng.randint(0, 1440))
        name = "Target Academy" if target else f"{rng.choice(LAST)} Learning {index}"
        out.rows["tenant"].append((tid, name, slug, zone_name, 120, created))
        # The one category every business starts with (as sign-up makes it).
        self.category = self.ids.take("session_category")
        out.rows["session_category"].append(
            (self.category, "Session", "#1d4ed8", "center", created, tid)
        )
        self.emails = 0

        # staff
        n_tutors = 4 if target else rng.randint(2, 6)
        n_counselors = 1 if target else rng.randint(0, 2)
        admin_teaches = True if target else rng.random() < 0.5
        self.admin = self._user(f"owner@{slug}.example.com", "admin", created, "Owner")
        staff = {"tutoring": [], "counseling": []}
        if admin_teaches:
            self._service(self.admin, "tutoring")
            staff["tutoring"].append(self.admin)
        for role, service, count in (
            ("tutor", "tutoring", n_tutors),
            ("counselor", "counseling", n_counselors),
        ):
            for _ in range(count):
                user = self._user(None, role, created + timedelta(days=rng.randint(0, 30)))
                self._service(user, service)
                staff[service].append(user)
                if role == "tutor" and rng.random() < 0.15:  # some tutors also counsel
                    self._service(user, "counseling")
                    staff["counseling"].append(user)
        self.staff = staff

        # catalogue
        self.offerings = {}
        for name_, service, kind, period, minutes, rollover, archived in CATALOGUE:
            oid = self.ids.take("offering")
            out.rows["offering"].append(
                (oid, name_, service, kind, period, minutes, rollover, archived, created, tid)
            )
            self.offerings[name_] = (oid, name_, service, kind, period, minutes, rollover)

        # families, students, their packages and sessions
        n_students = TARGET_STUDENTS if target else rng.randint(35, 65)
        self.staff_cells: dict[int, set[int]] = {}
        self.sessions: list[Sess] = []
        self.packages: list[Pkg] = []
        self.ledger: list[list] = []  # [created_at, seq, pkg, minutes, kind, sess, actor, ...]
        self.seq = 0
        made = 0
        while made < n_students:
            size = min(n_students - made, rng.choices((1, 2, 3), (50, 35, 15))[0])
            self._family(size, created)
            made += size
        self._flush_business()

    def _user(
        self,
        email: str | None,
        role: str,
        created: datetime,
        name: str | None = None,
        family_id: int | None = None,
        student_id: int | None = None,
        person: tuple[str, str] | None = None,
    ) -> int:
        rng = self.rng
        first, last = person or (rng.choice(FIRST), rng.choice(LAST))
        self.emails += 1
        email = email or f"{first}.{last}.{self.emails}@example.com".lower()
        uid = self.ids.take("user_account")
        last_login = None
        if rng.random() < 0.7:
            last_login = self.now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
        self.out.rows["user_account"].append(
            (
                uid,
                email,
                f"{name} {last}" if name else f"{first} {last}",
                role,
                self.hash,
                True,
                f"{rng.getrandbits(64):016x}",
                family_id,
                student_id,
                created,
                last_login,
                self.tid,
            )
        )
        return uid

    def _service(self, user_id: int, service: str) -> None:
        self.out.rows["staff_service"].append(
            (self.ids.take("staff_service"), user_id, service, self.tid)
        )

    def _family(self, size: int, business_created: datetime) -> None:
        rng, now = self.rng, self.now
        last = rng.choice(LAST)
        fid = self.ids.take("family")
        joined = max(
            business_created + timedelta(days=31),
            now - timedelta(days=rng.randint(20, 540), minutes=rng.randint(0, 1440)),
        )
        self.out.rows["family"].append((fid, f"{last} family", joined, self.tid))
        parents = [
            self._user(None, "parent", joined, family_id=fid, person=(rng.choice(FIRST), last))
            for _ in range(1 if rng.random() < 0.7 else 2)
        ]
        for _ in range(size):
            first = rng.choice(FIRST)
            sid = self.ids.take("student")
            grade = rng.randint(6, 12)
            self.out.rows["student"].append(
                (sid, fid, first, last, str(grade), rng.choice(SCHOOLS), "", joined, self.tid)
            )
            bookers = list(parents)
            if grade >= 9 and rng.random() < 0.35:
                bookers.append(
                    self._user(
                        None, "student", joined, family_id=fid, student_id=sid, person=(first, last)
                    )
                )
            self._student(sid, grade, joined, parents, bookers)

    # --- a student's sessions and hours ------------------------------------------------

    def _student(
        self, sid: int, grade: int, joined: datetime, parents: list[int], bookers: list[int]
    ) -> None:
        rng, zone = self.rng, self.zone
        services = ["tutoring"]
        if self.staff["counseling"] and grade >= 11 and rng.random() < 0.6:
            services.append("counseling")
        primary = {s: rng.choice(self.staff[s]) for s in services}
        join_day = joined.astimezone(zone).date()
        span = (self.today + timedelta(days=45) - join_day).days
        student_cells: set[int] = set()
        mine: list[Sess] = []
        # Between one session every seven weeks and three every four weeks: about 20 each.
        for _ in range(max(3, round(span / 7 * rng.uniform(0.15, 0.75)))):
            service = "counseling" if len(services) > 1 and rng.random() < 0.3 else "tutoring"
            staff_id = primary[service] if rng.random() < 0.8 else rng.choice(self.staff[service])
            duration = rng.choice(DURATIONS)
            cells = math.ceil(duration / 30)
            staff_cells = self.staff_cells.setdefault(staff_id, set())
            for _attempt in range(8):
                day = join_day + timedelta(days=rng.randint(2, span))
                # Weekdays 15:00 to 19:30, weekends 9:00 to 16:30.
                weekday = day.weekday() < 5
                half_hour = rng.randint(30, 39) if weekday else rng.randint(18, 33)
                first_cell = day.toordinal() * 48 + half_hour
                taken = range(first_cell, first_cell + cells)
                if not any(c in staff_cells or c in student_cells for c in taken):
                    break
            else:
                continue
            staff_cells.update(taken)
            student_cells.update(taken)
            starts = datetime.combine(
                day, clock(half_hour // 2, 30 * (half_hour % 2)), tzinfo=zone
            ).astimezone(UTC)
            mine.append(
                self._session(sid, staff_id, service, starts, duration, joined, parents, bookers)
            )
        self.sessions.extend(mine)
        self._simulate_hours(sid, joined, mine, parents)

    def _session(
        self,
        sid: int,
        staff_id: int,
        service: str,
        starts: datetime,
        duration: int,
        joined: datetime,
        parents: list[int],
        bookers: list[int],
    ) -> Sess:
        rng, now = self.rng, self.now
        s = Sess()
        s.student_id, s.staff_id, s.service = sid, staff_id, service
        s.starts_at, s.duration = starts, duration
        s.ends_at = starts + timedelta(minutes=duration)
        s.booked_by_family = rng.random() < 0.65
        s.scheduled_by = rng.choice(bookers) if s.booked_by_family else staff_id
        latest = now - timedelta(minutes=rng.randint(1, 3 * 24 * 60))
        s.created_at = min(starts - timedelta(minutes=rng.randint(60, 14 * 24 * 60)), latest)
        s.created_at = max(s.created_at, joined + timedelta(minutes=1))  # not before joining
        s.charge_at = s.cancel_at = s.cancel_by = s.declined_at = s.package = None
        s.charged = 0
        future = starts > now
        # Started in the last two days (or not over yet): attendance may still be missing.
        recent = not future and (starts > now - timedelta(days=2) or s.ends_at > now)
        roll = rng.random()
        if s.booked_by_family:
            if future:
                s.status = "upcoming" if roll < 0.88 else "cancelled"
            elif recent:
                s.status = "upcoming" if roll < 0.5 or s.ends_at > now else "completed"
            else:
                s.status = "completed" if roll < 0.88 else "cancelled"
            s.charge_at = s.created_at
        else:
            if future:
                s.status = ("pending", "upcoming", "cancelled", "declined")[
                    (roll >= 0.45) + (roll >= 0.9) + (roll >= 0.95)
                ]
            elif recent:
                s.status = "upcoming" if roll < 0.5 or s.ends_at > now else "completed"
            else:
                s.status = ("completed", "declined", "cancelled")[(roll >= 0.8) + (roll >= 0.88)]
            answered = s.created_at + timedelta(minutes=rng.randint(10, 48 * 60))
            answered = min(answered, starts - timedelta(minutes=5), now - timedelta(seconds=30))
            answered = max(answered, s.created_at)
            if s.status == "declined":
                s.declined_at = answered
            elif s.status in ("upcoming", "completed") or (
                s.status == "cancelled" and rng.random() < 0.5
            ):
                s.charge_at = answered  # accepted by the family
        if s.status == "cancelled":
            start = s.charge_at or s.created_at
            end = min(starts, now)
            s.cancel_at = start + (end - start) * rng.random()
            who = rng.random()
            if who < 0.7:
                s.cancel_by, s.row = rng.choice(parents), None
            elif who < 0.9:
                s.cancel_by, s.row = staff_id, rng.choice(STAFF_REASONS)
            else:
                s.cancel_by, s.row = self.admin, rng.choice(STAFF_REASONS)
        return s

    def _new_package(self, sid: int, offering: str, at: datetime) -> Pkg:
        rng = self.rng
        oid, name, service, kind, period, minutes, rollover = self.offerings[offering]
        p = Pkg()
        p.id = None
        p.offering_id = oid
        p.name, p.service, p.type, p.period = name, service, kind, period
        if kind == "one_time" and rng.random() < 0.1:  # a custom package, no offering
            p.offering_id = None
            minutes = rng.choice((300, 900, 1200))
            p.name = f"Custom {minutes // 60}-hour package"
        p.minutes, p.rollover = minutes, rollover
        p.start_date = at.astimezone(self.zone).date()
        p.expires_on = None
        if kind == "one_time" and rng.random() < 0.2:
            p.expires_on = p.start_date + timedelta(days=365)
        p.current_period_start = p.start_date if kind == "recurring" else None
        p.active, p.inactive_reason = True, None
        p.total = p.remaining = 0
        p.created_at = at
        p.student_id = sid
        self.packages.append(p)
        self._entry(p, minutes, "grant", None, self.admin, at, note="Package assigned")
        return p

    def _entry(
        self,
        p: Pkg,
        minutes: int,
        kind: str,
        s: Sess | None,
        actor: int | None,
        at: datetime,
        note: str = "",
        period: date | None = None,
    ) -> None:
        p.remaining += minutes
        if kind in ("grant", "renewal"):
            p.total += minutes
        assert p.remaining >= 0
        self.seq += 1
        self.ledger.append([at, self.seq, p, minutes, kind, s, actor, p.remaining, period, note])

    def _simulate_hours(
        self, sid: int, joined: datetime, sessions: list[Sess], parents: list[int]
    ) -> None:
        rng, zone = self.rng, self.zone
        # The first tutoring package is assigned when the family joins.
        first = rng.choices(
            (
                "Starter Package",
                "Growth Package",
                "Intensive Package",
                "Monthly Tutoring",
                "Weekly Tutoring",
            ),
            (25, 35, 10, 20, 10),
        )[0]
        mine = [self._new_package(sid, first, joined)]
        events: list[tuple] = []  # (at, order, kind, payload)
        p = mine[0]
        if p.type == "recurring":
            start = next_period_start(p.period, p.start_date, p.start_date)
            while start < self.today:
                at = datetime.combine(start, clock(2, 0), tzinfo=zone).astimezone(UTC)
                events.append((at, 0, "renew", start))
                start = next_period_start(p.period, start, p.start_date)
        for i, s in enumerate(sessions):
            if s.charge_at is not None:
                events.append((s.charge_at, 1, "debit", i))
            if s.cancel_at is not None and s.charge_at is not None:
                events.append((s.cancel_at, 2, "refund", i))
        events.sort(key=lambda e: (e[0], e[1], e[3] if e[2] != "renew" else 0))
        for at, _order, kind, payload in events:
            if kind == "renew":
                if not p.rollover and p.remaining > 0:
                    self._entry(
                        p,
                        -p.remaining,
                        "adjustment",
                        None,
                        None,
                        at,
                        note="Unused hours of the last period do not roll over",
                    )
                self._entry(p, p.minutes, "renewal", None, None, at, note="Renewal", period=payload)
                p.current_period_start = payload
            elif kind == "debit":
                s = sessions[payload]
                on = s.starts_at.astimezone(zone).date()
                payer = None
                for q in mine:  # mine is kept oldest first (start date, then id)
                    if (
                        q.service == s.service
                        and q.start_date <= on
                        and (q.expires_on is None or q.expires_on >= on)
                        and q.remaining >= s.duration
                    ):
                        payer = q
                        break
                if payer is None:  # the admin assigns a new package first
                    if s.service == "tutoring":
                        offer = rng.choice(
                            (
                                "Starter Package",
                                "Growth Package",
                                "Growth Package",
                                "Intensive Package",
                            )
                        )
                    else:
                        offer = rng.choice(("College Counseling", "Application Sprint"))
                    payer = self._new_package(sid, offer, at - timedelta(seconds=1))
                    mine.append(payer)
                    mine.sort(key=lambda q: q.start_date)  # stable: creation order breaks ties
                actor = s.scheduled_by if s.booked_by_family else rng.choice(parents)
                s.package, s.charged = payer, s.duration
                self._entry(payer, -s.duration, "debit", s, actor, at)
            else:
                s = sessions[payload]
                self._entry(
                    s.package, s.charged, "refund", s, s.cancel_by, at, note="Session cancelled"
                )
                s.charged = 0
        for q in mine:
            if q.expires_on is not None and q.expires_on < self.today:
                q.active, q.inactive_reason = False, "expired"
            elif q.type == "one_time" and q.remaining > 0 and rng.random() < 0.03:
                q.active, q.inactive_reason = False, "paused"

    # --- rows ------------------------------------------------------------------------------

    def _flush_business(self) -> None:
        rng, out, tid, now = self.rng, self.out, self.tid, self.now
        self.packages.sort(key=lambda p: p.created_at)
        for p in self.packages:
            p.id = self.ids.take("package")
            out.rows["package"].append(
                (
                    p.id,
                    p.student_id,
                    p.offering_id,
                    p.name,
                    p.service,
                    p.type,
                    p.period,
                    p.minutes,
                    p.rollover,
                    p.start_date,
                    p.expires_on,
                    p.active,
                    p.inactive_reason,
                    p.total,
                    p.remaining,
                    p.current_period_start,
                    False,
                    p.created_at,
                    self.admin,
                    tid,
                )
            )
        self.sessions.sort(key=lambda s: s.created_at)
        for s in self.sessions:
            s.id = self.ids.take("tutoring_session")
            attendance = attendance_at = topics = goals = steps = plan_at = completed = None
            confirmed = None
            if s.status in ("completed", "upcoming") and s.ends_at <= now:
                if s.status == "completed" or rng.random() < 0.5:
                    attendance = rng.choices(("present", "late", "absent"), (85, 10, 5))[0]
                    attendance_at = s.ends_at + timedelta(minutes=rng.randint(1, 90))
                if s.status == "completed":
                    topics, goals, steps = (
                        rng.choice(TOPICS),
                        rng.choice(GOALS),
                        rng.choice(NEXT_STEPS),
                    )
                    plan_at = s.ends_at + timedelta(minutes=rng.randint(5, 24 * 60))
                    attendance_at = min(attendance_at, now)
                    plan_at = min(plan_at, now)
                    completed = max(attendance_at, plan_at)
                elif attendance_at is not None:
                    attendance_at = min(attendance_at, now)
            if s.booked_by_family and s.status in ("upcoming", "completed", "cancelled"):
                at = s.created_at + timedelta(minutes=rng.randint(5, 24 * 60))
                if at < now and (s.status != "upcoming" or rng.random() < 0.85):
                    confirmed = at
            cancel_reason = s.row if s.status == "cancelled" else None
            out.rows["tutoring_session"].append(
                (
                    s.id,
                    s.student_id,
                    s.staff_id,
                    s.service,
                    s.starts_at,
                    s.ends_at,
                    s.duration,
                    s.status,
                    s.scheduled_by,
                    s.booked_by_family,
                    confirmed,
                    s.package.id if s.package is not None else None,
                    s.charged,
                    attendance,
                    attendance_at,
                    topics,
                    goals,
                    steps,
                    plan_at,
                    completed,
                    s.cancel_at,
                    s.cancel_by,
                    cancel_reason,
                    s.declined_at,
                    s.created_at,
                    self.category,
                    tid,
                )
            )
        self.ledger.sort(key=lambda e: (e[0], e[1]))
        for at, _seq, p, minutes, kind, s, actor, after, period, note in self.ledger:
            out.rows["ledger_entry"].append(
                (
                    self.ids.take("ledger_entry"),
                    p.id,
                    minutes,
                    kind,
                    s.id if s is not None else None,
                    actor,
                    after,
                    period,
                    note,
                    at,
                    tid,
                )
            )


# --- loading ---------------------------------------------------------------------------


def _copy(conn: psycopg.Connection, out: Out) -> None:
    with conn.cursor() as cur:
        for table, columns in TABLES.items():
            rows = out.rows[table]
            if not rows:
                continue
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            rows.clear()


def seed(
    url: str,
    businesses: int,
    seed_value: int = 1,
    chunk: int = 20,
    log=print,
    now: datetime | None = None,
) -> dict:
    """Generate and load `businesses` businesses as of `now`; returns row counts and timings.

    The same seed and `now` give the same rows (so the same `bench-target` in any size).
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    gen = Generator(seed_value, now, password_hash)
    target_index = businesses // 2
    began = time.perf_counter()
    with psycopg.connect(url) as conn:
        cur = conn.cursor()
        if cur.execute("SELECT count(*) FROM tenant").fetchone()[0]:
            raise SystemExit("the database already holds businesses; seed an empty schema")
        cur.execute("SET maintenance_work_mem = '256MB'")
        cur.execute("SET synchronous_commit = off")
        foreign_keys = cur.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace "
            "ORDER BY conrelid::regclass::text, conname"
        ).fetchall()
        indexes = cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE contype IN ('p', 'u')) ORDER BY indexname"
        ).fetchall()
        for table, name, _definition in foreign_keys:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')

        out = Out()
        totals = dict.fromkeys(TABLES, 0)
        for start in range(0, businesses, chunk):
            for index in range(start, min(start + chunk, businesses)):
                gen.business(index + 1, index == target_index, out)
            for table, n in out.count().items():
                totals[table] += n
            _copy(conn, out)
            done = min(start + chunk, businesses)
            if done == businesses or done % (chunk * 10) == 0:
                log(
                    f"  {done}/{businesses} businesses, {totals['tutoring_session']:,} sessions, "
                    f"{time.perf_counter() - began:.0f} s"
                )
        loaded = time.perf_counter()
        for _name, definition in indexes:
            cur.execute(definition)
        for table, name, definition in foreign_keys:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table in TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        conn.commit()
        indexed = time.perf_counter()
        conn.autocommit = True
        cur.execute("VACUUM (ANALYZE)")
    finished = time.perf_counter()
    log(
        f"  generated and copied in {loaded - began:.0f} s, indexes and foreign keys "
        f"{indexed - loaded:.0f} s, vacuum analyze {finished - indexed:.0f} s"
    )
    return {"rows": totals, "seconds": finished - began}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="postgresql://… of an upgraded, empty database")
    parser.add_argument("--businesses", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=20, help="businesses per COPY round")
    args = parser.parse_args()
    result = seed(args.url, args.businesses, args.seed, args.chunk)
    for table, n in result["rows"].items():
        print(f"  {table:<18}{n:>12,}")


if __name__ == "__main__":
    main()
