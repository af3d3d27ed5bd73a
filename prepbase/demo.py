"""The demo business that `make run` creates on first start."""

from __future__ import annotations

from sqlalchemy.orm import Session

from prepbase.accounts import create_family, hash_password, save_student, signup_business
from prepbase.models import Role, Service, StaffService, User
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
    return logins
