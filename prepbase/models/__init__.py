"""All models, imported here so Alembic and the app see the whole schema."""

from prepbase.models.availability import WEEKDAYS, TimeOff, WorkingHours
from prepbase.models.base import Base, utcnow
from prepbase.models.hours import (
    OPEN_STATUSES,
    Attendance,
    EntryKind,
    InactiveReason,
    LedgerEntry,
    Offering,
    Package,
    PackageType,
    Period,
    SessionStatus,
    TutoringSession,
)
from prepbase.models.insights import CalendarFeed
from prepbase.models.payments import (
    PackagePayment,
    PaymentMethod,
    Purchase,
    PurchaseStatus,
    StripeEvent,
)
from prepbase.models.people import (
    FAMILY_ROLES,
    ROLE_LABELS,
    STAFF_ROLES,
    Family,
    Role,
    Service,
    StaffService,
    Student,
    User,
)
from prepbase.models.series import SessionSeries
from prepbase.models.tenant import Tenant
from prepbase.models.tokens import AuthToken, OutboundEmail

__all__ = [
    "FAMILY_ROLES",
    "OPEN_STATUSES",
    "ROLE_LABELS",
    "STAFF_ROLES",
    "WEEKDAYS",
    "Attendance",
    "AuthToken",
    "Base",
    "CalendarFeed",
    "EntryKind",
    "Family",
    "InactiveReason",
    "LedgerEntry",
    "Offering",
    "OutboundEmail",
    "Package",
    "PackagePayment",
    "PackageType",
    "PaymentMethod",
    "Period",
    "Purchase",
    "PurchaseStatus",
    "Role",
    "Service",
    "SessionSeries",
    "SessionStatus",
    "StaffService",
    "StripeEvent",
    "Student",
    "Tenant",
    "TimeOff",
    "TutoringSession",
    "User",
    "WorkingHours",
    "utcnow",
]
