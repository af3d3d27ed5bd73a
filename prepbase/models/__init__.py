"""All models, imported here so Alembic and the app see the whole schema."""

from prepbase.models.api import ApiKey, ApiScope, IdempotencyRecord
from prepbase.models.availability import WEEKDAYS, TimeOff, WorkingHours
from prepbase.models.base import SYNCHRONIZED_BY_CALLER, Base, utcnow
from prepbase.models.categories import (
    Location,
    LocationType,
    SessionCategory,
    StaffSubject,
    Subject,
    buffers_clash,
    starter_category,
)
from prepbase.models.groups import SessionGroup
from prepbase.models.hours import (
    OPEN_STATUSES,
    Attendance,
    EntryKind,
    InactiveReason,
    LedgerEntry,
    Offering,
    Package,
    PackageEdit,
    PackageType,
    Period,
    SessionStatus,
    TutoringSession,
)
from prepbase.models.imports import ImportKind, ImportRun, ImportStatus
from prepbase.models.insights import CalendarFeed
from prepbase.models.payments import (
    PackagePayment,
    PaymentMethod,
    PromoCode,
    PromoKind,
    Purchase,
    PurchaseStatus,
    StripeEvent,
    StripeRefund,
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
from prepbase.models.webhooks import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "FAMILY_ROLES",
    "OPEN_STATUSES",
    "ROLE_LABELS",
    "STAFF_ROLES",
    "SYNCHRONIZED_BY_CALLER",
    "WEEKDAYS",
    "ApiKey",
    "ApiScope",
    "Attendance",
    "AuthToken",
    "Base",
    "CalendarFeed",
    "DeliveryStatus",
    "EntryKind",
    "EventType",
    "Family",
    "IdempotencyRecord",
    "ImportKind",
    "ImportRun",
    "ImportStatus",
    "InactiveReason",
    "LedgerEntry",
    "Location",
    "LocationType",
    "Offering",
    "OutboundEmail",
    "Package",
    "PackageEdit",
    "PackagePayment",
    "PackageType",
    "PaymentMethod",
    "Period",
    "PromoCode",
    "PromoKind",
    "Purchase",
    "PurchaseStatus",
    "Role",
    "Service",
    "SessionCategory",
    "SessionGroup",
    "SessionSeries",
    "SessionStatus",
    "StaffService",
    "StaffSubject",
    "StripeEvent",
    "StripeRefund",
    "Student",
    "Subject",
    "Tenant",
    "TimeOff",
    "TutoringSession",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WorkingHours",
    "buffers_clash",
    "starter_category",
    "utcnow",
]
