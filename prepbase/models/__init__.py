"""All models, imported here so Alembic and the app see the whole schema."""

from prepbase.models.base import Base, utcnow
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
from prepbase.models.tenant import Tenant
from prepbase.models.tokens import AuthToken, OutboundEmail

__all__ = [
    "FAMILY_ROLES",
    "ROLE_LABELS",
    "STAFF_ROLES",
    "AuthToken",
    "Base",
    "Family",
    "OutboundEmail",
    "Role",
    "Service",
    "StaffService",
    "Student",
    "Tenant",
    "User",
    "utcnow",
]
