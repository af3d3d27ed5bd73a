"""The product's words for stored values (design §9), for every admin template and for the
views that build choices from them ("One-Time", "Tutoring", "1 Nov 2026")."""

from __future__ import annotations

from datetime import date

from flask import g

from prepbase.admin.blueprint import bp
from prepbase.localtime import business_today
from prepbase.models import (
    EntryKind,
    InactiveReason,
    Offering,
    Package,
    PackageType,
    Period,
    Service,
)


def package_kind(item: Package | Offering) -> str:
    """ "One-Time", or "Recurring (Monthly)"."""
    label = PackageType(item.package_type).label
    return f"{label} ({Period(item.period).label})" if item.period else label


def service_name(item: Package | Offering) -> str:
    """ "Tutoring" or "Counseling"."""
    return Service(item.service).label


def date_label(day: date) -> str:
    """ "1 Nov 2026"."""
    return f"{day.day} {day.strftime('%b %Y')}"


def inactive_reason(package: Package) -> InactiveReason | None:
    """Why the package reads Inactive today (the business's day), or None while Active:
    Expired as soon as its expiry date has passed, not only once `renew` has run."""
    return package.inactive_reason_on(business_today(g.tenant))


@bp.context_processor
def _words() -> dict[str, object]:
    # Stored values are plain strings; these turn them into the product's words (§9).
    return {
        "package_kind": package_kind,
        "service_name": service_name,
        "date_label": date_label,
        "entry_kind_label": lambda kind: EntryKind(kind).label,
        "inactive_reason": inactive_reason,
    }
