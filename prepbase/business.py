"""The business: sign-up and its Settings (name, time zone, contacts, booking rules,
online payments), and whether it sells hours online."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prepbase import money, stripe_gateway
from prepbase.accounts import check_password_strength, hash_password, normalize_email
from prepbase.errors import DomainError
from prepbase.models import Role, Tenant, User, starter_category
from prepbase.money import CURRENCIES
from prepbase.tenancy import as_tenant

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
        "readyz",
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


def find_business(session: Session, typed: str) -> Tenant:
    """The business whose URL name a person typed into the home page's Sign in form.

    Takes the name, or its sign-in address pasted whole (`https://…/bright-path/login`,
    `/bright-path`); refuses, with what to do instead, anything no business uses. That
    says no more than `/<name>/login` does, which answers 404 for a name nobody uses."""
    text = (typed or "").strip()
    if "@" in text and "/" not in text:
        raise DomainError(
            "That looks like an e-mail address. Enter it under “Forgot your URL name?” "
            "and we will e-mail you your sign-in links.",
            field="business",
        )
    path = urlsplit(text).path if "://" in text else text
    parts = [part for part in path.split("/") if part]
    if len(parts) > 1 and "://" not in text and "." in parts[0]:
        parts = parts[1:]  # a host typed without https://: app.example.com/bright-path
    name = parts[0].lower() if parts else ""
    tenant = (
        session.scalar(select(Tenant).where(Tenant.slug == name))
        if SLUG_RE.match(name) and len(name) <= 40
        else None
    )
    if tenant is None:
        raise DomainError(
            "No business signs in with that URL name. Check the spelling, or get your "
            "sign-in links by e-mail below.",
            field="business",
        )
    return tenant


def validate_timezone(name: str) -> str:
    """Accept only IANA time zone names (e.g. America/New_York)."""
    if name not in available_timezones():
        raise DomainError("Choose a time zone from the list.", field="timezone")
    return name


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
        # One category, so every session has one and nothing changes until it adds more.
        session.add(starter_category())
        session.flush()
    return tenant, admin


# --- Settings ----------------------------------------------------------------------


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
    locale: str | None = None,
) -> None:
    """Change the business's name, time zone, low-balance reminder, how families reach
    it and how its money is written (Settings); a value left out (None) stays as it is."""
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
    if locale is not None:
        if not money.known_locale(locale):
            raise DomainError("Choose one of the ways of writing money listed.", field="locale")
        tenant.locale = locale
    session.flush()


# --- Settings → Scheduling: the rules for family bookings and reminders ---------------

STEP_CHOICES = (5, 10, 15, 20, 30, 60)
REMINDER_CHOICES = (0, 12, 24, 48)
MAX_NOTICE_HOURS = 14 * 24
MAX_HORIZON_DAYS = 365


def update_booking_settings(
    session: Session,
    tenant: Tenant,
    *,
    notice_minutes: int,
    horizon_days: int,
    step_minutes: int,
    reminder_hours: int,
) -> None:
    """The business's rules for family bookings and reminders (Settings → Scheduling)."""
    if not 0 <= notice_minutes <= MAX_NOTICE_HOURS * 60:
        raise DomainError(
            f"Enter a notice from 0 to {MAX_NOTICE_HOURS} hours.", field="notice_hours"
        )
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise DomainError(f"Enter 1 to {MAX_HORIZON_DAYS} days.", field="horizon_days")
    if step_minutes not in STEP_CHOICES:
        raise DomainError("Choose one of the slot steps offered.", field="step_minutes")
    if reminder_hours not in REMINDER_CHOICES:
        raise DomainError("Choose one of the reminder times offered.", field="reminder_hours")
    tenant.booking_notice_minutes = notice_minutes
    tenant.booking_horizon_days = horizon_days
    tenant.slot_step_minutes = step_minutes
    tenant.reminder_hours = reminder_hours
    session.flush()


# --- Settings → Online Payments: does the business sell hours online? ------------------


def payments_problem(tenant: Tenant) -> str | None:
    """Why online payments cannot be on for this business, or None when they can."""
    if not stripe_gateway.configured():
        return "Online payments are not available on this installation."
    if not tenant.stripe_account_id or tenant.stripe_disconnected_at is not None:
        return "Connect your Stripe account first."
    if not tenant.stripe_charges_enabled:
        return (
            "Stripe cannot take payments for your account yet: finish the Stripe setup, "
            "or wait until Stripe has checked your details."
        )
    return None


def sells_online(tenant: Tenant) -> bool:
    """True when families may Buy Hours: switched on, and Stripe can take the charges."""
    return bool(tenant.online_payments) and payments_problem(tenant) is None


def set_payment_settings(
    session: Session, tenant: Tenant, actor: User, *, currency: str, online_payments: bool
) -> None:
    """Settings → Online Payments: the business's currency and the online-payments switch."""
    if currency not in CURRENCIES:
        raise DomainError("Choose one of the currencies in the list.", field="currency")
    problem = payments_problem(tenant)
    if online_payments and problem:
        raise DomainError(f"Online payments cannot be turned on: {problem}", "online_payments")
    tenant.currency = currency
    tenant.online_payments = online_payments
    session.flush()
