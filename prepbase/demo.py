"""The demo business that `make run` creates: Bright Path Tutoring, with a past.

A demo where everything happened a minute ago teaches nothing about charts, run-out
dates or reports, so this one is written as its last months would have happened:
packages bought weeks and months ago, weekly lessons booked a few days ahead and then
completed with attendance and an action plan, a few cancellations, a proposal declined,
a monthly counseling package renewed each month, a package that expired, students
running low or drifting away.

How the past is written: the lifecycle verbs (`prepbase.scheduling`) act *now* and
refuse a start in the past, so past sessions are rows written here, in this module only,
already in the state they reached. Every hour they move goes through `prepbase.hours`
(and `packages.assign_package` / `renew_package`) with `at=` the moment it happened, in
time order, choosing the paying package by rule 5 (`scheduling.payable_packages`): each
balance equals its ledger and `flask prepbase audit` stays clean. What happens today
(a family's new booking, a tutor's proposal) goes through the verbs themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import availability, categories, hours, packages, scheduling
from prepbase.accounts import hash_password
from prepbase.business import signup_business
from prepbase.localtime import day_start_utc, local_date, local_to_utc
from prepbase.models import (
    Attendance,
    Offering,
    Package,
    Role,
    Service,
    SessionStatus,
    StaffService,
    Student,
    Tenant,
    TutoringSession,
    User,
    utcnow,
)
from prepbase.people import create_family, invite_user, save_student
from prepbase.tenancy import as_tenant

DEMO_SLUG = "demo"
DEMO_PASSWORD = "prepbase-demo"  # noqa: S105 - the documented demo login

STAFF = [
    ("Maya Chen", "maya@brightpath.example.com", Role.TUTOR, [Service.TUTORING]),
    ("Sam Ortiz", "sam@brightpath.example.com", Role.TUTOR, [Service.TUTORING]),
    ("Priya Nair", "priya@brightpath.example.com", Role.COUNSELOR, [Service.COUNSELING]),
]
FAMILIES = [
    (
        "Garcia family",
        ("Ana Garcia", "ana.garcia@example.com"),
        [
            ("Leo", "Garcia", "10", "Lincoln High School"),
            ("Mia", "Garcia", "7", "Jefferson Middle"),
        ],
    ),
    (
        "Johnson family",
        ("Beth Johnson", "beth.johnson@example.com"),
        [("Ethan", "Johnson", "11", "Lincoln High School")],
    ),
    (
        "Smith family",
        ("Dan Smith", "dan.smith@example.com"),
        [("Zoe", "Smith", "12", "Riverside Academy")],
    ),
    (
        "Patel family",
        ("Raj Patel", "raj.patel@example.com"),
        [("Noah", "Patel", "9", "Lincoln High School")],
    ),
]
STUDENT_LOGIN = ("Ethan", "ethan.johnson@example.com")
# Zoe was invited to a login of her own two days ago and has not set a password yet.
STUDENT_INVITED = ("Zoe", "zoe.smith@example.com")


@dataclass(frozen=True)
class Lesson:
    """A student's standing weekly lesson and how many of it took place.

    Counting lessons rather than spanning dates keeps every balance the same whatever
    the weekday of the day the demo is made."""

    student: str  # first name
    staff: str  # e-mail
    service: Service
    weekday: int  # 0 = Monday
    hour: int  # local start
    minutes: int
    past: int  # how many took place (cancelled ones included)
    ahead: int  # how many are booked after today
    weeks_idle: int = 0  # weeks without a lesson before today
    proposed: bool = False  # staff propose each one and the family accepts
    cancelled: tuple[int, ...] = ()  # which past lessons (0 = the first) were cancelled
    late: tuple[int, ...] = ()
    absent: tuple[int, ...] = ()
    topics: tuple[str, ...] = ()  # action plans, the most recent first
    goals: str = ""
    next_steps: str = ""


LESSONS = [
    Lesson(
        "Leo",
        "maya@brightpath.example.com",
        Service.TUTORING,
        weekday=1,
        hour=16,
        minutes=90,
        past=22,
        ahead=2,
        cancelled=(10,),
        late=(14,),
        topics=(
            "Quadratic equations; factoring by grouping",
            "Completing the square",
            "Polynomial long division",
            "Review of the unit test",
            "Exponential functions",
            "Systems of equations",
            "Radicals and rational exponents",
        ),
        goals="Solve any quadratic in under two minutes",
        next_steps="Worksheet 3, problems 1-20",
    ),
    Lesson(
        "Mia",
        "sam@brightpath.example.com",
        Service.TUTORING,
        weekday=3,
        hour=17,
        minutes=90,
        past=4,
        ahead=2,
        late=(2,),
        topics=(
            "SAT Math: linear equations and word problems",
            "SAT Reading: evidence questions",
            "SAT Writing: punctuation and transitions",
            "Diagnostic practice test, reviewed together",
        ),
        goals="Raise the practice Math score by 40 points",
        next_steps="Khan Academy SAT Math, two skills a day",
    ),
    Lesson(
        "Ethan",
        "sam@brightpath.example.com",
        Service.TUTORING,
        weekday=0,
        hour=15,
        minutes=60,
        past=10,
        ahead=2,
        cancelled=(5,),
        absent=(3,),
        topics=(
            "Stoichiometry: limiting reactants",
            "Gas laws",
            "Balancing redox equations",
            "Moles and molar mass",
            "Lab report structure",
        ),
        goals="A on the next chemistry quiz",
        next_steps="Textbook chapter 6 review questions",
    ),
    Lesson(
        "Zoe",
        "priya@brightpath.example.com",
        Service.COUNSELING,
        weekday=2,
        hour=18,
        minutes=45,
        past=13,
        ahead=2,
        proposed=True,
        cancelled=(7,),
        topics=(
            "Supplemental essays: 'Why us?'",
            "Common App essay, second draft",
            "Financial aid and the FAFSA timeline",
            "Common App essay, first draft",
            "Essay brainstorm: three stories",
            "College list: reach, match and safety schools",
            "Getting to know Zoe: interests and goals",
        ),
        goals="Every application submitted by January 1",
        next_steps="Send Priya the essay draft by Sunday",
    ),
    Lesson(
        "Noah",
        "maya@brightpath.example.com",
        Service.TUTORING,
        weekday=4,
        hour=16,
        minutes=60,
        past=3,
        ahead=0,
        weeks_idle=6,
        topics=(
            "Linear functions and slope",
            "Solving two-step equations",
            "Placement review: fractions and decimals",
        ),
        goals="Confidence in Algebra I",
        next_steps="Practice set on slope",
    ),
]


def seed_demo(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo business; returns (role, e-mail, password) of every login."""
    tenant, admin = signup_business(
        session,
        business_name="Bright Path Tutoring",
        slug=DEMO_SLUG,
        timezone="America/New_York",
        admin_name="Olivia Park",
        email="owner@brightpath.example.com",
        password=DEMO_PASSWORD,
    )
    tenant.contact_email = "office@brightpath.example.com"  # what families are shown
    tenant.contact_phone = "+1 555 010 0199"
    logins = [("admin", admin.email, DEMO_PASSWORD)]
    password_hash = hash_password(DEMO_PASSWORD)
    with as_tenant(tenant.id):
        for name, email, role, services in STAFF:
            user = User(name=name, email=email, role=role, password_hash=password_hash)
            user.service_rows = [StaffService(service=s) for s in services]
            session.add(user)
            logins.append((role.value, email, DEMO_PASSWORD))
        for family_name, (parent_name, parent_email), students in FAMILIES:
            family = create_family(session, admin, name=family_name)
            session.add(
                User(
                    name=parent_name,
                    email=parent_email,
                    role=Role.PARENT,
                    password_hash=password_hash,
                    family=family,
                )
            )
            logins.append(("parent", parent_email, DEMO_PASSWORD))
            for first, last, grade, school in students:
                student = save_student(
                    session,
                    admin,
                    None,
                    family=family,
                    first_name=first,
                    last_name=last,
                    grade=grade,
                    school=school,
                    notes="",
                )
                if first == STUDENT_LOGIN[0]:
                    session.add(
                        User(
                            name=student.full_name,
                            email=STUDENT_LOGIN[1],
                            role=Role.STUDENT,
                            password_hash=password_hash,
                            family=family,
                            student=student,
                        )
                    )
                    logins.append(("student", STUDENT_LOGIN[1], DEMO_PASSWORD))
                if first == STUDENT_INVITED[0]:
                    session.flush()
                    invite_user(
                        session,
                        admin,
                        name=student.full_name,
                        email=STUDENT_INVITED[1],
                        role=Role.STUDENT,
                        student=student,
                        ttl=timedelta(days=7),
                    )
        session.flush()
        _History(session, tenant, admin).write()
    return logins


class _History:
    """The demo's months, written oldest first (see the module docstring)."""

    def __init__(self, session: Session, tenant: Tenant, admin: User) -> None:
        self.session = session
        self.tenant = tenant
        self.category = categories.default_category(session)
        self.admin = admin
        self.now = utcnow()
        self.today = local_date(tenant, self.now)
        self.people = {u.email: u for u in session.scalars(select(User))}
        self.students = {s.first_name: s for s in session.scalars(select(Student))}
        self.parents = {
            s.first_name: next(
                u for u in self.people.values() if u.role == Role.PARENT and u.family == s.family
            )
            for s in self.students.values()
        }
        # (when, order, what): applied sorted, so the ledger is written in time order.
        self.events: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = count()

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A local wall-clock moment of the business, in UTC; never after now."""
        return min(local_to_utc(self.tenant, day, time(hour, minute)), self.now)

    def later(self, when: datetime, what: Callable[[], None]) -> None:
        self.events.append((when, next(self._order), what))

    # --- the story ----------------------------------------------------------------------

    def write(self) -> None:
        offerings = self._offerings()
        dates = {lesson.student: self._lesson_days(lesson) for lesson in LESSONS}
        growth, sat, counseling = offerings

        def first(name: str) -> date:
            return dates[name][0]

        # Leo's first package lasted 16 lessons (one was cancelled and refunded) and was
        # valid through the last of them; the second was bought as the first ran low,
        # and pays once the first is used up (rule 5: the oldest package first).
        leo = dates["Leo"]
        self._assign("Leo", growth, leo[0] - timedelta(days=9), expires_on=leo[16])
        self._assign("Leo", growth, leo[12])
        self._assign("Mia", sat, first("Mia") - timedelta(days=8))
        self._assign("Ethan", growth, first("Ethan") - timedelta(days=10))
        zoe = self._assign("Zoe", counseling, first("Zoe") - timedelta(days=8))
        self._assign("Noah", growth, first("Noah") - timedelta(days=8))
        for lesson in LESSONS:
            for index, day in enumerate(dates[lesson.student]):
                self._lesson(lesson, index, day)
        self._renewals(zoe, first("Zoe") - timedelta(days=8))
        self._declined_proposal()
        for _when, _order, what in sorted(self.events, key=lambda e: (e[0], e[1])):
            what()
        self.session.flush()
        # The renewal job's hygiene: Leo's first package reads Expired in its row too.
        # Every period was renewed above, so this renews nothing.
        packages.renew_due(self.session, self.today)
        self._today()

    def _offerings(self) -> tuple[Offering, Offering, Offering]:
        def offering(
            name: str, service: str, kind: str, period: str | None, h: int, price: int
        ) -> Offering:
            return packages.save_offering(
                self.session,
                self.admin,
                None,
                name=name,
                service=service,
                package_type=kind,
                period=period,
                minutes=h * 60,
                rollover=False,
                price_minor=price * 100,
            )

        return (
            offering("Growth Package", "tutoring", "one_time", None, 24, 1680),
            offering("SAT Intensive", "tutoring", "one_time", None, 10, 750),
            offering("College Counseling Monthly", "counseling", "recurring", "monthly", 4, 480),
        )

    def _lesson_days(self, lesson: Lesson) -> list[date]:
        """The days of a lesson: `past` weeks up to the latest weekday before today (less
        the idle weeks), then `ahead` weeks from the first one after today."""
        yesterday = self.today - timedelta(days=1)
        latest = yesterday - timedelta(days=(yesterday.weekday() - lesson.weekday) % 7)
        latest -= timedelta(weeks=lesson.weeks_idle)
        tomorrow = self.today + timedelta(days=1)
        soonest = tomorrow + timedelta(days=(lesson.weekday - tomorrow.weekday()) % 7)
        past = [latest - timedelta(weeks=lesson.past - 1 - i) for i in range(lesson.past)]
        return past + [soonest + timedelta(weeks=i) for i in range(lesson.ahead)]

    def _assign(
        self, name: str, offering: Offering, day: date, expires_on: date | None = None
    ) -> list[Package]:
        """A package bought on `day` (10:00), starting that day; the list gets the package."""
        made: list[Package] = []

        def assign() -> None:
            made.append(
                packages.assign_package(
                    self.session,
                    self.admin,
                    self.students[name],
                    name=offering.name,
                    service=offering.service,
                    package_type=offering.package_type,
                    period=offering.period,
                    minutes=offering.minutes,
                    rollover=offering.rollover,
                    offering=offering,
                    start_date=day,
                    expires_on=expires_on,
                    at=self.at(day, 10),
                )
            )

        self.later(self.at(day, 10), assign)
        return made

    def _renewals(self, made: list[Package], start: date) -> None:
        """The monthly renewals the `renew` job would have made, each at its period's start."""
        period = packages.next_period_start("monthly", start, start)
        while period <= self.today:
            self._renewal(made, period)
            period = packages.next_period_start("monthly", period, start)

    def _renewal(self, made: list[Package], period: date) -> None:
        when = min(day_start_utc(self.tenant, period) + timedelta(minutes=15), self.now)

        def renew() -> None:
            packages.renew_package(self.session, made[0], period, at=when)

        self.later(when, renew)

    def _lesson(self, lesson: Lesson, index: int, day: date) -> None:
        """One lesson: booked (or proposed and accepted) days ahead, then cancelled or
        completed if it is past."""
        student = self.students[lesson.student]
        staff = self.people[lesson.staff]
        parent = self.parents[lesson.student]
        starts = local_to_utc(self.tenant, day, time(lesson.hour))
        ends = starts + timedelta(minutes=lesson.minutes)
        past = index < lesson.past
        from_latest = lesson.past - 1 - index  # 0: the most recent past lesson
        if lesson.proposed:
            asked, booked = (
                self.at(day - timedelta(days=5), 10),
                self.at(day - timedelta(days=4), 19),
            )
        else:
            asked = booked = self.at(day - timedelta(days=6), 20, 30)
        ts = TutoringSession(
            student=student,
            staff=staff,
            service=lesson.service,
            starts_at=starts,
            ends_at=ends,
            duration_minutes=lesson.minutes,
            status=SessionStatus.UPCOMING,
            scheduled_by=staff if lesson.proposed else parent,
            booked_by_family=not lesson.proposed,
            confirmed_at=None if lesson.proposed else min(booked + timedelta(hours=3), self.now),
            created_at=asked,
            category=self.category,
        )
        if past:
            # A reminder went out the day before, as `flask prepbase remind` does.
            ts.reminder_sent_at = starts - timedelta(hours=24)

        paid_by: list[int] = []

        def book() -> None:
            self.session.add(ts)
            self.session.flush()
            on = local_date(self.tenant, starts)
            payers = scheduling.payable_packages(
                self.session, student.id, lesson.service, on, lesson.minutes
            )
            if not payers:
                raise RuntimeError(f"the demo's plan leaves {student.first_name} short on {on}")
            payer = payers[0].id
            hours.debit_for_session(self.session, payer, ts, lesson.minutes, parent, at=booked)
            paid_by.append(payer)
            ts.package_id = payer
            ts.charged_minutes = lesson.minutes
            if past and index not in lesson.cancelled:
                self._complete(lesson, ts, from_latest)
            self.session.flush()

        self.later(booked, book)
        if past and index in lesson.cancelled:
            by_family = index % 2 == 0
            cancelled_at = self.at(day - timedelta(days=1), 9 if by_family else 7, 45)

            def cancel() -> None:
                hours.refund_for_session(
                    self.session,
                    paid_by[0],
                    ts,
                    ts.charged_minutes,
                    parent if by_family else staff,
                    note="Session cancelled",
                    at=cancelled_at,
                )
                ts.status = SessionStatus.CANCELLED
                ts.charged_minutes = 0
                ts.cancelled_at = cancelled_at
                ts.cancelled_by = parent if by_family else staff
                ts.cancel_reason = "Family trip" if by_family else f"{staff.name} was ill"
                self.session.flush()

            self.later(cancelled_at, cancel)

    def _complete(self, lesson: Lesson, ts: TutoringSession, from_latest: int) -> None:
        """Attendance at the end of the lesson, the action plan that evening (the most
        recent of Ethan's still waits for its plan: Needs completion)."""
        index = lesson.past - 1 - from_latest
        ts.attendance = (
            Attendance.ABSENT
            if index in lesson.absent
            else Attendance.LATE
            if index in lesson.late
            else Attendance.PRESENT
        )
        ts.attendance_at = ts.ends_at + timedelta(minutes=5)
        if lesson.student == "Ethan" and from_latest == 0:
            return
        ts.plan_topics = lesson.topics[from_latest % len(lesson.topics)]
        ts.plan_goals = lesson.goals
        ts.plan_next_steps = lesson.next_steps
        ts.plan_submitted_at = ts.ends_at + timedelta(hours=2 + from_latest % 3 * 7)
        ts.completed_at = ts.plan_submitted_at
        ts.status = SessionStatus.COMPLETED

    def _declined_proposal(self) -> None:
        """Priya proposed an extra Saturday session three weeks ago; the Smiths declined."""
        day = self.today - timedelta(days=21 + (self.today.weekday() - 5) % 7)
        starts = local_to_utc(self.tenant, day, time(10))
        priya = self.people["priya@brightpath.example.com"]
        row = TutoringSession(
            student=self.students["Zoe"],
            staff=priya,
            service=Service.COUNSELING,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=60),
            duration_minutes=60,
            status=SessionStatus.DECLINED,
            scheduled_by=priya,
            created_at=starts - timedelta(days=4),
            declined_at=starts - timedelta(days=3),
            category=self.category,
        )
        self.later(row.created_at, lambda: self.session.add(row))

    def _today(self) -> None:
        """Working hours, and what happens today, through the verbs themselves."""
        session, tenant = self.session, self.tenant
        maya, sam = (
            self.people["maya@brightpath.example.com"],
            self.people["sam@brightpath.example.com"],
        )
        priya = self.people["priya@brightpath.example.com"]
        # Weekday afternoons and Saturday mornings: Book Session offers open slots.
        week: dict[int, Sequence[tuple[int, int]]] = {day: [(15 * 60, 20 * 60)] for day in range(5)}
        week[5] = [(9 * 60, 13 * 60)]
        for staff in (maya, sam, priya):
            availability.set_weekly_hours(session, tenant, self.admin, staff, week)

        def next_day(weekday: int, after: int) -> date:
            start = self.today + timedelta(days=after)
            return start + timedelta(days=(weekday - start.weekday()) % 7)

        # Beth just booked an extra chemistry hour before a test: new for Sam to confirm.
        scheduling.book_session(
            session,
            tenant,
            self.parents["Ethan"],
            student=self.students["Ethan"],
            staff=sam,
            service=Service.TUTORING,
            starts_at=local_to_utc(tenant, next_day(2, 2), time(16)),
            duration_minutes=60,
            now=self.now,
        )
        # Maya proposes a Saturday session before Leo's test: the Garcias have to answer.
        scheduling.propose_session(
            session,
            tenant,
            maya,
            student=self.students["Leo"],
            staff=maya,
            service=Service.TUTORING,
            starts_at=local_to_utc(tenant, next_day(5, 3), time(10)),
            duration_minutes=60,
            now=self.now,
        )
        # Right after it, a small SAT-style group for Leo and Ethan (two families), with
        # two seats left that families may take from their dashboards (design §11).
        group = categories.save_category(
            session,
            None,
            name="Small group",
            colour="#0f766e",
            location_type="virtual",
            location=None,
            buffer_before_minutes=0,
            buffer_after_minutes=0,
            reminder_hours=None,
            link_lead_minutes=30,
            capacity=4,
            families_may_join=True,
        )
        scheduling.propose_group(
            session,
            tenant,
            maya,
            students=[self.students["Leo"], self.students["Ethan"]],
            staff=maya,
            service=Service.TUTORING,
            starts_at=local_to_utc(tenant, next_day(5, 3), time(11, 30)),
            duration_minutes=60,
            category=group,
            now=self.now,
        )
        session.flush()
