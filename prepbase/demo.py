"""The demo business that `make run` creates on first start."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import availability, packages, scheduling
from prepbase.accounts import hash_password
from prepbase.business import signup_business
from prepbase.localtime import local_date, local_to_utc
from prepbase.models import Offering, Role, Service, StaffService, Student, Tenant, User, utcnow
from prepbase.people import create_family, save_student
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
]
STUDENT_LOGIN = ("Ethan", "ethan.johnson@example.com")


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
        session.flush()
        _seed_hours(session, tenant, admin)
    return logins


def _seed_hours(session: Session, tenant: Tenant, admin: User) -> None:
    """Offerings, packages and sessions of every state, so every screen has something."""
    people = {u.email: u for u in session.scalars(select(User))}
    students = {s.first_name: s for s in session.scalars(select(Student))}
    maya, sam = people["maya@brightpath.example.com"], people["sam@brightpath.example.com"]
    priya = people["priya@brightpath.example.com"]
    ana, beth = people["ana.garcia@example.com"], people["beth.johnson@example.com"]
    dan = people["dan.smith@example.com"]
    growth = packages.save_offering(
        session,
        admin,
        None,
        name="Growth Package",
        service="tutoring",
        package_type="one_time",
        period=None,
        minutes=24 * 60,
        rollover=False,
    )
    sat = packages.save_offering(
        session,
        admin,
        None,
        name="SAT Intensive",
        service="tutoring",
        package_type="one_time",
        period=None,
        minutes=10 * 60,
        rollover=False,
    )
    counseling = packages.save_offering(
        session,
        admin,
        None,
        name="College Counseling Monthly",
        service="counseling",
        package_type="recurring",
        period="monthly",
        minutes=4 * 60,
        rollover=False,
    )
    now = utcnow()
    today = local_date(tenant, now)

    def assign(student: Student, offering: Offering, days_ago: int) -> None:
        packages.assign_package(
            session,
            admin,
            student,
            **packages.package_terms(offering),
            offering=offering,
            start_date=today - timedelta(days=days_ago),
        )

    def at(days: int, hour: int) -> datetime:
        return local_to_utc(tenant, today + timedelta(days=days), time(hour))

    assign(students["Leo"], growth, 40)
    assign(students["Mia"], sat, 30)
    assign(students["Ethan"], growth, 10)
    assign(students["Zoe"], counseling, 5)

    # Leo: a completed 3.5-hour session (24 → 20.5), one upcoming, one proposal to answer.
    done = scheduling.book_session(
        session,
        tenant,
        ana,
        student=students["Leo"],
        staff=maya,
        service="tutoring",
        starts_at=at(-7, 16),
        duration_minutes=210,
        now=at(-10, 9),
    )
    after = done.starts_at + timedelta(hours=4)
    scheduling.take_attendance(session, tenant, maya, done, "present", now=after)
    scheduling.submit_action_plan(
        session,
        tenant,
        maya,
        done,
        topics="Quadratic equations; factoring by grouping",
        goals="Solve any quadratic in under two minutes",
        next_steps="Worksheet 3, problems 1-20",
        now=after,
    )
    upcoming = [
        # (parent, student, staff, service, days ahead, hour, minutes)
        (ana, "Leo", maya, "tutoring", 3, 16, 90),
        # Mia is running low: 10 h, 9 booked.
        (ana, "Mia", sam, "tutoring", 2, 17, 180),
        (ana, "Mia", sam, "tutoring", 4, 17, 180),
        (ana, "Mia", sam, "tutoring", 6, 17, 180),
        (beth, "Ethan", sam, "tutoring", 5, 15, 60),
        (dan, "Zoe", priya, "counseling", 4, 18, 60),
    ]
    for parent, first_name, staff, service, days, hour, minutes in upcoming:
        scheduling.book_session(
            session,
            tenant,
            parent,
            student=students[first_name],
            staff=staff,
            service=service,
            starts_at=at(days, hour),
            duration_minutes=minutes,
            now=now,
        )
    scheduling.propose_session(
        session,
        tenant,
        maya,
        student=students["Leo"],
        staff=maya,
        service="tutoring",
        starts_at=at(10, 16),
        duration_minutes=60,
        now=now,
    )
    # Weekday afternoons and Saturday mornings: Book Session offers open slots.
    week = {day: [(15 * 60, 20 * 60)] for day in range(5)} | {5: [(9 * 60, 13 * 60)]}
    for staff in (maya, sam, priya):
        availability.set_weekly_hours(session, tenant, admin, staff, week)
    session.flush()
