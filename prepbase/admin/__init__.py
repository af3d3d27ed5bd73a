"""The business owner's and office staff's pages: one views module per resource, their
forms in forms.py, what they share in common.py and words.py. Importing a views module
registers its routes on `bp` (blueprint.py)."""

from prepbase.admin import (
    calendar_views,
    categories,
    dashboard,
    email,
    families,
    imports,
    locations,
    offerings,
    packages,
    payments,
    people,
    promo_codes,
    purchases,
    receipts,
    reports,
    sessions,
    settings,
    staff,
    students,
    subjects,
    words,
)
from prepbase.admin.blueprint import bp

__all__ = [
    "bp",
    "calendar_views",
    "categories",
    "dashboard",
    "email",
    "families",
    "imports",
    "locations",
    "offerings",
    "packages",
    "payments",
    "people",
    "promo_codes",
    "purchases",
    "receipts",
    "reports",
    "sessions",
    "settings",
    "staff",
    "students",
    "subjects",
    "words",
]
