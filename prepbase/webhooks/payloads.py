"""The JSON of each event type, from the domain objects (README, Webhooks).

Conventions every payload keeps: ids are the numbers PrepBase shows in its URLs; times
are ISO 8601 with the business's own UTC offset ("2026-12-01T16:00:00-05:00"); days are
ISO dates in the business's calendar; hours are whole minutes in fields named
`*_minutes` (90 = 1.5 hours); money is in minor units (`amount_minor`, cents) with its
ISO currency code; statuses are the lower-case words of the app ("upcoming",
"cancelled"...). Only columns of the rows at hand are read: building a payload loads
no other row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prepbase.models import (
    EventType,
    LedgerEntry,
    Package,
    Purchase,
    Tenant,
    TutoringSession,
)

Data = dict[str, Any]


def _time(tenant: Tenant, moment: datetime | None) -> str | None:
    # The business's zone read here, not through `localtime`: this package sits below it
    # (the ledger writes events), next to the models.
    return moment.astimezone(ZoneInfo(tenant.timezone)).isoformat() if moment else None


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def session_data(tenant: Tenant, ts: TutoringSession) -> Data:
    """A session (one student's seat, for a group session) as it is now."""
    return {
        "session": {
            "id": ts.id,
            "status": str(ts.status),
            "student_id": ts.student_id,
            "staff_id": ts.staff_id,
            "service": str(ts.service),
            "category_id": ts.category_id,
            "subject_id": ts.subject_id,
            "starts_at": _time(tenant, ts.starts_at),
            "ends_at": _time(tenant, ts.ends_at),
            "duration_minutes": ts.duration_minutes,
            # The hours it holds now and the package they came from (None: none yet).
            "charged_minutes": ts.charged_minutes or 0,
            "package_id": ts.package_id,
            "booked_by_family": bool(ts.booked_by_family),
            "series_id": ts.series_id,
            "group_id": ts.group_id,
            "attendance": str(ts.attendance) if ts.attendance else None,
            "completed_at": _time(tenant, ts.completed_at),
            "cancelled_at": _time(tenant, ts.cancelled_at),
            "cancelled_late": bool(ts.cancelled_late),
            "cancel_reason": ts.cancel_reason,
        }
    }


def package_data(tenant: Tenant, package: Package) -> Data:
    """A package and its balance as they are now."""
    return {
        "package": {
            "id": package.id,
            "student_id": package.student_id,
            "offering_id": package.offering_id,
            "name": package.name,
            "service": str(package.service),
            "package_type": str(package.package_type),
            "period": str(package.period) if package.period else None,
            "total_minutes": package.total_minutes,
            "remaining_minutes": package.remaining_minutes,
            "start_date": _day(package.start_date),
            "expires_on": _day(package.expires_on),
            "active": bool(package.active),
            "created_at": _time(tenant, package.created_at),
        }
    }


def balance_data(tenant: Tenant, package: Package, before: int, after: int) -> Data:
    """A package whose balance crossed the low-balance line or reached zero."""
    data = package_data(tenant, package)
    data["package"]["remaining_minutes"] = after
    data["balance"] = {
        "before_minutes": before,
        "after_minutes": after,
        "low_balance_minutes": tenant.low_balance_minutes,
    }
    return data


def refund_data(tenant: Tenant, entry: LedgerEntry, ts: TutoringSession) -> Data:
    """Hours given back to a package: a session cancelled or shortened (`refund`), or
    what a late cancellation kept, waived by an admin (`waiver`)."""
    return {
        "refund": {
            "ledger_entry_id": entry.id,
            "kind": str(entry.kind),
            "package_id": entry.package_id,
            "session_id": ts.id,
            "student_id": ts.student_id,
            "minutes": entry.minutes,
            "balance_after_minutes": entry.balance_after,
            "note": entry.note or "",
            "created_at": _time(tenant, entry.created_at),
        }
    }


def purchase_data(tenant: Tenant, purchase: Purchase, invoice_id: str | None = None) -> Data:
    """A family's online purchase, paid: its first payment (`invoice_id` None) or a
    subscription's later invoice."""
    return {
        "purchase": {
            "id": purchase.id,
            "status": str(purchase.status),
            "student_id": purchase.student_id,
            "user_id": purchase.user_id,
            "offering_id": purchase.offering_id,
            "package_id": purchase.package_id,
            "name": purchase.name,
            "amount_minor": purchase.amount_minor,
            "currency": purchase.currency,
            "paid_at": _time(tenant, purchase.paid_at),
            "subscription_id": purchase.subscription_id,
            "invoice_id": invoice_id,
        }
    }


BUILDERS: dict[str, Callable[..., Data]] = {
    EventType.SESSION_BOOKED: session_data,
    EventType.SESSION_PROPOSED: session_data,
    EventType.SESSION_ACCEPTED: session_data,
    EventType.SESSION_CANCELLED: session_data,
    EventType.SESSION_COMPLETED: session_data,
    EventType.PACKAGE_CREATED: package_data,
    EventType.PACKAGE_LOW_BALANCE: balance_data,
    EventType.PACKAGE_DEPLETED: balance_data,
    EventType.HOURS_REFUNDED: refund_data,
    EventType.PURCHASE_PAID: purchase_data,
}


def envelope(event_type: str, timestamp: datetime, data: Data) -> Data:
    """The body Standard Webhooks describes: the type, when it happened (UTC), the data."""
    return {
        "type": event_type,
        "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
