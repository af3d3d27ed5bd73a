"""Businesses, accounts, invitations and password resets: the rules, free of HTTP."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from zoneinfo import available_timezones

from flask import current_app, has_app_context
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from prepbase.errors import DomainError
from prepbase.models import (
    STAFF_ROLES,
    AuthToken,
    Family,
    Role,
    Service,
    StaffService,
    Student,
    Tenant,
    User,
    utcnow,
)
from prepbase.paging import PER_PAGE, Page, paginate
from prepbase.tenancy import as_tenant, unscoped

MIN_PASSWORD_LENGTH = 10
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
PHONE_RE = re.compile(r"^\+?[0-9 ().\-/]+$", re.ASCII)
# Words that name (or may one day name) our own top-level pages.
RESERVED_SLUGS = frozenset(
    [
        "about",
        "account",
        "accounts",
        "admin",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "blog",
        "dashboard",
        "docs",
        "family",
        "favicon",
        "health",
        "healthz",
        "help",
        "invite",
        "login",
        "logout",
        "media",
        "new",
        "pricing",
        "privacy",
        "public",
        "register",
        "reset",
        "robots",
        "security",
        "settings",
        "signin",
        "signout",
        "signup",
        "sitemap",
        "static",
        "status",
        "stripe",
        "support",
        "terms",
        "tutor",
        "webhook",
        "webhooks",
        "www",
    ]
)

# A dummy hash so that a login for an unknown e-mail costs as much as a real check.
_DUMMY_HASH = generate_password_hash("not-a-real-password-xx")


def normalize_email(email: str) -> str:
    """E-mails compare case-insensitively; we store them lowercased and trimmed."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash with scrypt; the test suite configures a cheaper method to stay fast."""
    method = "scrypt"
    if has_app_context():
        method = current_app.config.get("PASSWORD_HASH_METHOD", method)
    return generate_password_hash(password, method=method)


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse passwords shorter than the minimum length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", field=field
        )


def validate_slug(session: Session, slug: str) -> str:
    """Check a business URL slug: format, reserved words, uniqueness."""
    slug = slug.strip()
    if not 3 <= len(slug) <= 40:
        raise DomainError("The URL name must be 3 to 40 characters long.", field="slug")
    if not SLUG_RE.match(slug) or "--" in slug:
        raise DomainError(
            "Use lowercase letters, digits and single hyphens only "
            "(no hyphen at the start or end).",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise DomainError("That URL name is reserved; please choose another.", field="slug")
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise DomainError("That URL name is already taken.", field="slug")
    return slug


def validate_timezone(name: str) -> str:
    """Accept only IANA time zone names (e.g. America/New_York)."""
    if name not in available_timezones():
        raise DomainError("Choose a time zone from the list.", field="timezone")
    return name


def _email_taken(session: Session, email: str, exclude_user_id: int | None = None) -> bool:
    query = select(User.id).where(func.lower(User.email) == email)
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return session.scalar(query) is not None


def signup_business(
    session: Session,
    *,
    business_name: str,
    slug: str,
    timezone: str,
    admin_name: str,
    email: str,
    password: str,
) -> tuple[Tenant, User]:
    """Create a business and its first admin in one transaction (flushes, never commits)."""
    slug = validate_slug(session, slug)
    timezone = validate_timezone(timezone)
    check_password_strength(password)
    # Families are told to reach the owner until Settings names another contact.
    tenant = Tenant(
        name=business_name.strip(),
        slug=slug,
        timezone=timezone,
        contact_email=normalize_email(email),
    )
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up took the slug first
        raise DomainError("That URL name is already taken.", field="slug") from exc
    with as_tenant(tenant.id):
        admin = User(
            email=normalize_email(email),
            name=admin_name.strip(),
            role=Role.ADMIN,
            password_hash=hash_password(password),
        )
        session.add(admin)
        session.flush()
    return tenant, admin


def validate_phone(phone: str) -> str | None:
    """A phone number as people write it ("+1 (555) 010-0100"): digits with spaces,
    dots, dashes, slashes and brackets, an optional leading +; empty means none."""
    phone = " ".join(phone.split())
    if not phone:
        return None
    digits = sum(c.isdigit() for c in phone)
    if not PHONE_RE.match(phone) or not 5 <= digits <= 20:
        raise DomainError(
            "Enter a phone number of digits, spaces and - ( ) . / only, e.g. +1 555 010 0100.",
            field="contact_phone",
        )
    return phone


def update_business(
    session: Session,
    tenant: Tenant,
    *,
    name: str,
    timezone: str,
    low_balance_minutes: int | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
) -> None:
    """Change the business's name, time zone, low-balance reminder and how families reach
    it (Settings); a contact left out (None) stays as it is."""
    tenant.name = name.strip()
    tenant.timezone = validate_timezone(timezone)
    if low_balance_minutes is not None:
        tenant.low_balance_minutes = low_balance_minutes
    if contact_email is not None:
        if not contact_email.strip():
            raise DomainError("Enter the e-mail families can reach you at.", field="contact_email")
        tenant.contact_email = normalize_email(contact_email)
    if contact_phone is not None:
        tenant.contact_phone = validate_phone(contact_phone)
    session.flush()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user of the current tenant with this e-mail and password, else None.

    Callers show one generic message for every failure, so nobody learns which of
    e-mail or password was wrong, nor that an account is deactivated.
    """
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    if not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def _cookie_parts(cookie_id: str) -> tuple[int, str] | None:
    user_id, _, nonce = cookie_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    return int(user_id), nonce


def load_user_for_session(
    session: Session, cookie_id: str, prefetched: User | None = None
) -> User | None:
    """Flask-Login loader: the user named by the cookie, if still active and unchanged.

    `prefetched` is the user that `load_tenant_and_user` already read with the business;
    it saves the query when it is the one the cookie names.
    """
    parts = _cookie_parts(cookie_id)
    if parts is None:
        return None
    user = prefetched if prefetched is not None and prefetched.id == parts[0] else None
    if user is None:
        with unscoped():
            # Family pages need the family on every request: one query, not two.
            user = session.scalar(
                select(User).where(User.id == parts[0]).options(joinedload(User.family))
            )
    if user is None or user.session_nonce != parts[1] or not user.active:
        return None
    return user


def load_tenant_and_user(
    session: Session, slug: str, cookie_id: str | None
) -> tuple[Tenant | None, User | None]:
    """The business of a URL and the user the cookie names, if that user belongs to it.

    Every signed-in page needs both, so they come in one statement; the user is checked
    later by `load_user_for_session`. A user of another business is not returned: the
    login loader then finds it the usual way (and the portal answers 404).
    """
    parts = _cookie_parts(cookie_id) if cookie_id else None
    if parts is None:
        return session.scalar(_TENANT_BY_SLUG, {"slug": slug}), None
    with unscoped():
        row = session.execute(_TENANT_AND_USER, {"slug": slug, "user_id": parts[0]}).first()
    return (None, None) if row is None else (row[0], row[1])


# Built once: every request runs one of these, and building a statement costs more
# than its (cached) compilation.
_TENANT_BY_SLUG = select(Tenant).where(Tenant.slug == bindparam("slug"))
_TENANT_AND_USER = (
    select(Tenant, User)
    .outerjoin(User, (User.tenant_id == Tenant.id) & (User.id == bindparam("user_id")))
    .where(Tenant.slug == bindparam("slug"))
    .options(joinedload(User.family))
)


# --- one-time links ----------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    session: Session, user: User, purpose: str, ttl: timedelta, created_by: User | None = None
) -> str:
    """Make a single-use link secret for `user`; older unused links of that kind die."""
    now = utcnow()
    session.execute(
        update(AuthToken)
        .where(
            AuthToken.user_id == user.id,
            AuthToken.purpose == purpose,
            AuthToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    raw = secrets.token_urlsafe(32)
    session.add(
        AuthToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_token_hash(raw),
            expires_at=now + ttl,
            created_by_id=created_by.id if created_by else None,
        )
    )
    session.flush()
    return raw


def find_valid_token(session: Session, raw: str, purpose: str) -> AuthToken | None:
    """The unexpired, unused link of the current tenant with this secret, else None."""
    token = session.scalar(
        select(AuthToken).where(
            AuthToken.token_hash == _token_hash(raw), AuthToken.purpose == purpose
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.active:
        return None
    return token


def use_token_to_set_password(session: Session, raw: str, purpose: str, password: str) -> User:
    """Spend a link once and set the user's password (invite acceptance or reset).

    The conditional UPDATE makes a link single-use even when it is opened twice at once.
    """
    token = find_valid_token(session, raw, purpose)
    if token is None:
        raise DomainError("This link has expired or was already used.")
    check_password_strength(password)
    spent = session.execute(
        update(AuthToken)
        .where(AuthToken.id == token.id, AuthToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if spent != 1:
        raise DomainError("This link has expired or was already used.")
    user = token.user
    user.password_hash = hash_password(password)
    user.rotate_session_nonce()
    user.last_login_at = utcnow()
    session.flush()
    return user


# --- people of the business ----------------------------------------------------------


def _set_services(user: User, services: Iterable[str]) -> None:
    wanted = {Service(s) for s in services}
    for row in list(user.service_rows):
        if row.service not in wanted:
            user.service_rows.remove(row)
    have = {row.service for row in user.service_rows}
    for service in Service:
        if service in wanted and service not in have:
            user.service_rows.append(StaffService(service=service))


def invite_user(
    session: Session,
    actor: User,
    *,
    name: str,
    email: str,
    role: str,
    services: Iterable[str] = (),
    family: Family | None = None,
    student: Student | None = None,
    ttl: timedelta,
) -> tuple[User, str]:
    """Create an account without a password and a 7-day single-use invitation link."""
    email = normalize_email(email)
    role = Role(role)
    if _email_taken(session, email):
        raise DomainError("Someone in this business already uses that e-mail.", field="email")
    if role == Role.PARENT and family is None:
        raise DomainError("Choose the family this parent belongs to.", field="family")
    if role == Role.STUDENT:
        if student is None:
            raise DomainError("Choose the student who will use this login.", field="student")
        if student.account is not None:
            raise DomainError("This student already has a login.")
        family = student.family
    services = list(services) if role in STAFF_ROLES else []
    if role in {Role.TUTOR, Role.COUNSELOR} and not services:
        raise DomainError("Choose at least one service.", field="services")
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=None,
        family=family,
        student=student,
    )
    _set_services(user, services)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent invitation used the address first
        raise DomainError(
            "Someone in this business already uses that e-mail.", field="email"
        ) from exc
    return user, issue_token(session, user, "invite", ttl, created_by=actor)


def reissue_invite(session: Session, actor: User, user: User, ttl: timedelta) -> str:
    """A fresh invitation for someone who has not set a password yet."""
    if user.has_password:
        raise DomainError(f"{user.name} has already accepted the invitation.")
    if not user.active:
        raise DomainError(f"{user.name} is deactivated; reactivate the account first.")
    return issue_token(session, user, "invite", ttl, created_by=actor)


def update_staff(
    session: Session, actor: User, user: User, *, name: str, role: str, services: Iterable[str]
) -> None:
    """Change a staff member's name, role and services."""
    role = Role(role)
    if role not in STAFF_ROLES:
        raise DomainError("Staff can be admins, tutors or counselors.", field="role")
    services = list(services)
    if role in {Role.TUTOR, Role.COUNSELOR} and not services:
        raise DomainError("Choose at least one service.", field="services")
    if user.role == Role.ADMIN and role != Role.ADMIN:
        _ensure_another_admin(session, user)
    user.name = name.strip()
    user.role = role
    _set_services(user, services)
    session.flush()


def _ensure_another_admin(session: Session, user: User) -> None:
    others = session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.ADMIN,
            User.active.is_(True),
            User.id != user.id,
            User.password_hash.is_not(None),
        )
    )
    if not others:
        raise DomainError(
            "A business needs at least one active admin; make someone else admin first."
        )


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    """Deactivate (cannot sign in, every session ends) or reactivate an account."""
    if not active:
        if user.id == actor.id:
            raise DomainError("You cannot deactivate your own account.")
        if user.role == Role.ADMIN:
            _ensure_another_admin(session, user)
        user.rotate_session_nonce()
    user.active = active
    session.flush()


def request_password_reset(session: Session, email: str, ttl: timedelta) -> tuple[User, str] | None:
    """A reset link for an active account that has a password; None otherwise.

    The caller answers the same way either way, so the form reveals nothing.
    """
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.active or not user.has_password:
        return None
    return user, issue_token(session, user, "reset", ttl)


def end_all_sessions(session: Session, user: User) -> None:
    """Sign-out: every cookie naming this user stops opening pages, in every browser,
    copies included (a cookie is signed, not stored, so the nonce it names changes)."""
    user.rotate_session_nonce()
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """A signed-in user changes their own password; other browsers are signed out."""
    if user.password_hash is None or not check_password_hash(user.password_hash, current):
        raise DomainError("That is not your current password.", field="current_password")
    check_password_strength(new, field="new_password")
    user.password_hash = hash_password(new)
    user.rotate_session_nonce()
    session.flush()


def create_family(session: Session, actor: User, *, name: str) -> Family:
    """Add a household to the business."""
    family = Family(name=name.strip())
    session.add(family)
    session.flush()
    return family


def save_student(
    session: Session,
    actor: User,
    student: Student | None,
    *,
    family: Family,
    first_name: str,
    last_name: str,
    grade: str,
    school: str,
    notes: str,
) -> Student:
    """Create or edit a student; the family must be one of this business's."""
    if student is None:
        student = Student(family=family)
        session.add(student)
    student.family = family
    student.first_name = first_name.strip()
    student.last_name = last_name.strip()
    student.grade = grade.strip()
    student.school = school.strip()
    student.notes = notes.strip()
    if student.account is not None:
        student.account.family = family
    session.flush()
    return student


def search_students(
    session: Session, query: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page[Student]:
    """One page of the students whose name, school or family matches `query` (a page past
    the end is the last one), and how many match."""
    stmt = select(Student).join(Student.family)
    for word in query.split()[:5]:
        # % and _ typed by the user are literal characters, not wildcards.
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(
            func.lower(Student.first_name).like(pattern, escape="\\")
            | func.lower(Student.last_name).like(pattern, escape="\\")
            | func.lower(Student.school).like(pattern, escape="\\")
            | func.lower(Family.name).like(pattern, escape="\\")
        )
    return paginate(
        session,
        stmt.options(contains_eager(Student.family)).order_by(
            Student.last_name, Student.first_name, Student.id
        ),
        page,
        per_page=per_page,
    )
