"""The family portal: parents and students.

Importing the package imports its view modules, which add their routes to `bp`
(`blueprint.py`).
"""

from prepbase.family import calendar_views, purchase_views, receipt_views, views
from prepbase.family.blueprint import bp

__all__ = ["bp", "calendar_views", "purchase_views", "receipt_views", "views"]
