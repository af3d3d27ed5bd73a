"""Packages and offerings: assigning hours, pausing, renewing and expiring them, and
which of a student's packages are Active (§2)."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, cast

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from prepbase import hours, promotions
from prepbase.errors import DomainError
from prepbase.localtime import business_today
from prepbase.models import (
    EventType,
    InactiveReason,
    Offering,
    Package,
    PackageEdit,
    PackageType,
    Period,
    Purchase,
    Service,
    Student,
    Tenant,
    User,
)
from prepbase.promotions import Extension
from prepbase.webhooks.events import emit_in_scope, emit_packages


def _check_kind(package_type: str, period: str | None) -> tuple[PackageType, Period | None]:
    kind = PackageType(package_type)
    if kind is PackageType.RECURRING:
        if not period:
            raise DomainError("Choose how often a recurring package renews.", field="period")
        return kind, Period(period)
    return kind, None


def save_offering(
    session: Session,
    actor: User,
    offering: Offering | None,
    *,
    name: str,
    service: str,
    package_type: str,
    period: str | None,
    minutes: int,
    rollover: bool,
    price_minor: int | None = None,
    currency: str | None = None,
    sold_online: bool | None = None,
    extension: Extension | None = None,
) -> Offering:
    """Create or edit a catalogue entry (the price is per package, or per period when
    Recurring, in minor units of `currency`; only a priced offering can be sold online).
    `extension` (None keeps the offering's): the extra hours families may add."""
    kind, period_value = _check_kind(package_type, period)
    if extension is not None:
        promotions.check_extension(kind, *extension)
    if price_minor is not None and price_minor < 0:
        raise DomainError("A price cannot be negative.", field="price")
    price = price_minor if price_minor is not None else (offering.price_minor if offering else 0)
    online = sold_online if sold_online is not None else bool(offering and offering.sold_online)
    if online and not price:
        raise DomainError("Set a price to let families buy this online.", field="price")
    if offering is None:
        offering = Offering()
        session.add(offering)
    offering.name = name.strip()
    offering.service = Service(service)
    offering.package_type = kind
    offering.period = period_value
    offering.minutes = minutes
    offering.rollover = bool(rollover) and kind is PackageType.RECURRING
    offering.price_minor = price
    offering.sold_online = online
    if extension is not None:
        (
            offering.allows_extensions,
            offering.extension_min_hours,
            offering.extension_max_hours,
            offering.extension_price_minor,
        ) = extension
    if currency is not None:
        offering.currency = currency
    session.flush()
    return offering


TERMS = ("name", "service", "package_type", "period", "minutes", "rollover")


class Terms(TypedDict):
    """What a package is, as `assign_package` and `save_offering` take it."""

    name: str
    service: str
    package_type: str
    period: str | None
    minutes: int
    rollover: bool


def package_terms(source: Offering | Purchase) -> Terms:
    """The terms a package copies from an offering, or from a purchase's snapshot of one."""
    return cast(Terms, {term: getattr(source, term) for term in TERMS})


def set_offering_archived(
    session: Session, actor: User, offering: Offering, archived: bool
) -> None:
    """Archive (hide from new assignments) or restore an offering; packages keep theirs."""
    offering.archived = archived
    session.flush()


def assign_package(
    session: Session,
    actor: User,
    student: Student,
    *,
    name: str,
    service: str,
    package_type: str,
    period: str | None,
    minutes: int,
    start_date: date,
    expires_on: date | None = None,
    rollover: bool = False,
    offering: Offering | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Package:
    """+ Add Package: give a student hours, with the initial grant in the ledger.

    `at` dates the package and its grant in the past (`prepbase.hours`: the demo's
    history and imports only)."""
    package = _new_package(
        session,
        actor,
        student,
        name=name,
        service=service,
        package_type=package_type,
        period=period,
        minutes=minutes,
        start_date=start_date,
        expires_on=expires_on,
        rollover=rollover,
        offering=offering,
        at=at,
    )
    hours.grant(session, package, minutes, actor, note=note or "Package assigned", at=at)
    session.refresh(package)
    emit_in_scope(session, EventType.PACKAGE_CREATED, package)
    return package


@dataclass(frozen=True)
class Imported:
    """A balance from another system for one student (`importing`)."""

    student_id: int
    name: str
    service: str
    total_minutes: int
    used_minutes: int
    start_date: date
    expires_on: date | None


def open_imported_packages(
    session: Session, actor: User, balances: Sequence[Imported], note: str
) -> list[int]:
    """One-Time packages brought from another system: their hours arrive as Opening
    balances (`hours.open_balances`), not as grants made here. Their ids."""
    openings = []
    for balance in balances:
        if not 0 <= balance.used_minutes <= balance.total_minutes:
            raise DomainError("Remaining hours cannot be more than Total hours.", field="hours")
        terms = _package_terms(
            actor,
            name=balance.name,
            service=balance.service,
            package_type=PackageType.ONE_TIME,
            period=None,
            minutes=balance.total_minutes,
            start_date=balance.start_date,
            expires_on=balance.expires_on,
        )
        terms["student_id"] = balance.student_id
        openings.append(hours.Opening(terms, balance.total_minutes, balance.used_minutes))
    ids = hours.open_balances(session, openings, actor, note)
    emit_packages(session, EventType.PACKAGE_CREATED, ids)
    return ids


def _new_package(
    session: Session,
    actor: User,
    student: Student,
    *,
    offering: Offering | None = None,
    **terms: object,
) -> Package:
    # A package with no hours yet, in the database: its first ledger entry gives them.
    package = Package(student=student, offering=offering, **_package_terms(actor, **terms))  # type: ignore[arg-type]
    session.add(package)
    session.flush()
    return package


def _package_terms(
    actor: User,
    *,
    name: str,
    service: str,
    package_type: str,
    period: str | None,
    minutes: int,
    start_date: date,
    expires_on: date | None = None,
    rollover: bool = False,
    at: datetime | None = None,
) -> dict[str, object]:
    # A new package's columns, checked; no hours yet (its first ledger entry gives them).
    kind, period_value = _check_kind(package_type, period)
    if expires_on is not None and expires_on < start_date:
        raise DomainError("The expiry date must be on or after the start date.", field="expires_on")
    terms: dict[str, object] = {
        "name": name.strip(),
        "service": Service(service),
        "package_type": kind,
        "period": period_value,
        "period_minutes": minutes,
        "rollover": bool(rollover) and kind is PackageType.RECURRING,
        "start_date": start_date,
        "expires_on": expires_on,
        "active": True,
        "total_minutes": 0,
        "remaining_minutes": 0,
        "current_period_start": start_date if kind is PackageType.RECURRING else None,
        "created_by_id": actor.id if actor else None,
    }
    if at is not None:
        terms["created_at"] = at
    return terms


def set_package_active(
    session: Session,
    actor: User,
    package: Package,
    active: bool,
    reason: str = "paused",
    today: date | None = None,
) -> None:
    """The Status toggle: Inactive hides a package from the family and from booking;
    sessions already holding its hours keep them. A package past its expiry date stays
    Inactive. `today` is the business's day (by default, the package's business's)."""
    if active and package.expires_on is not None:
        today = today or business_today(session.get_one(Tenant, package.tenant_id))
        if not package.not_expired_on(today):
            raise DomainError(
                "This package has expired (its expiry date has passed) and cannot be switched "
                "back on. Use Add Package to give the student new hours."
            )
    package.active = active
    package.inactive_reason = None if active else InactiveReason(reason)
    session.flush()


MAX_PACKAGE_NAME = 120


def _day_text(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def edit_package(
    session: Session,
    actor: User,
    package: Package,
    *,
    name: str,
    start_date: date,
    expires_on: date | None,
    today: date,
) -> list[PackageEdit]:
    """An admin corrects a package's name, start date or expiry date; each change is
    recorded (who, when, before → after). Hours never change here (only the ledger moves
    them). The "usable on day D" rule (`Package.usable_on`) reads the new dates at once;
    a package the renewal job switched off as Expired is Active again when its new expiry
    date has not passed. Sessions already paid from it keep their hours either way.
    Returns the edits (none when nothing changed)."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Enter the package's name.", field="name")
    if len(name) > MAX_PACKAGE_NAME:
        raise DomainError(f"Use at most {MAX_PACKAGE_NAME} characters.", field="name")
    if expires_on is not None and expires_on < start_date:
        raise DomainError("The expiry date must be on or after the start date.", field="expires_on")
    changes = [
        ("name", package.name, name),
        ("start_date", _day_text(package.start_date), _day_text(start_date)),
        ("expires_on", _day_text(package.expires_on), _day_text(expires_on)),
    ]
    edits = [
        PackageEdit(package_id=package.id, actor_id=actor.id, field=field, before=old, after=new)
        for field, old, new in changes
        if old != new
    ]
    package.name = name
    package.start_date = start_date
    package.expires_on = expires_on
    if (
        not package.active
        and package.inactive_reason == InactiveReason.EXPIRED
        and package.not_expired_on(today)
    ):
        package.active = True
        package.inactive_reason = None
    session.add_all(edits)
    session.flush()
    return edits


def package_edits(session: Session, package: Package) -> list[PackageEdit]:
    """A package's corrections, newest first, with who made them (the package page)."""
    return list(
        session.scalars(
            select(PackageEdit)
            .where(PackageEdit.package_id == package.id)
            .options(joinedload(PackageEdit.actor))
            .order_by(PackageEdit.id.desc())
        )
    )


def active_packages(session: Session, student_ids: Sequence[int], today: date) -> list[Package]:
    """The students' Active packages on `today` (`Package.active_on`: the Status column,
    what the family sees and staff read next to a session), oldest first, as they pay
    (rule 5)."""
    if not student_ids:
        return []
    return list(
        session.scalars(
            select(Package)
            .where(Package.student_id.in_(student_ids), Package.active_on(today))
            .order_by(Package.start_date, Package.id)
        )
    )


def next_period_start(period: str, start: date, anchor: date | None = None) -> date:
    """The first day of the period after the one starting on `start`.

    Monthly periods keep the day of the package's first period (`anchor`): a package
    started on Jan 31 renews on Feb 28, Mar 31, Apr 30 — never drifting to the 28th.
    """
    if Period(period) is Period.WEEKLY:
        return start + timedelta(days=7)
    anchor_day = (anchor or start).day
    month = start.month % 12 + 1
    year = start.year + (start.month == 12)
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


@dataclass
class RenewalReport:
    renewed: int = 0
    expired: int = 0
    # (student id, service) of each renewed package: hours arrived for them, and their
    # sessions waiting for hours may be paid now (`scheduling.fill_waiting`).
    hours_for: set[tuple[int, str]] = field(default_factory=set)


def renew_package(
    session: Session, package: Package, period_start: date, *, at: datetime | None = None
) -> bool:
    """Grant one period's hours, once. False when that period was renewed already.

    The conditional UPDATE on `current_period_start` lets one runner win; the unique
    (package, renewal_period) ledger index is the backstop. `at` dates the entries in
    the past (`prepbase.hours`: the demo's history and imports only).
    """
    previous = package.current_period_start
    if previous is None or period_start <= previous:
        return False
    updated = session.execute(
        update(Package)
        .where(Package.id == package.id, Package.current_period_start == previous)
        .values(current_period_start=period_start)
        .execution_options(synchronize_session=False)
    )
    moved = cast(CursorResult[Any], updated).rowcount
    if moved != 1:
        return False
    if not package.rollover:
        hours.expire_leftover(
            session, package, "Unused hours of the last period do not roll over", at=at
        )
    try:
        with session.begin_nested():
            hours.renew(session, package, package.period_minutes, period_start, "Renewal", at=at)
    except IntegrityError:
        return False
    session.refresh(package)
    return True


def renew_due(session: Session, today: date) -> RenewalReport:
    """Renew every active recurring package whose next period has begun; expire the
    packages whose expiry date has passed. Safe to run any number of times.

    Packages paid by a Stripe subscription are left to their paid invoices."""
    report = RenewalReport()
    # Data hygiene: an expired package reads Inactive · Expired everywhere at once
    # (`Package.active_on`); this also switches it off in its row.
    updated = session.execute(
        update(Package)
        .where(Package.active.is_(True), ~Package.not_expired_on(today))
        .values(active=False, inactive_reason=InactiveReason.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    expired = cast(CursorResult[Any], updated).rowcount
    report.expired = expired or 0
    due = session.scalars(
        select(Package)
        .where(
            Package.active_on(today),
            Package.package_type == PackageType.RECURRING,
            Package.renewals_stopped.is_(False),
            Package.current_period_start.is_not(None),
            # A package bought as a Stripe subscription renews when its invoice is paid
            # (prepbase.payments.renew_from_invoice), never on the calendar alone.
            ~exists().where(
                Purchase.package_id == Package.id, Purchase.subscription_id.is_not(None)
            ),
        )
        .order_by(Package.id)
    ).all()
    for package in due:
        # Catch up period by period (a job that did not run for a while), never twice.
        anchor = package.start_date
        # The query picked recurring packages (they have a period) already started.
        assert package.period is not None and package.current_period_start is not None
        start = next_period_start(package.period, package.current_period_start, anchor)
        while start <= today:
            if renew_package(session, package, start):
                report.renewed += 1
                report.hours_for.add((package.student_id, package.service))
            start = next_period_start(package.period, start, anchor)
    return report
