"""Tutors' and counselors' pages (admins who teach use them too).

Importing the package imports its view modules, which add their routes to `bp`
(`blueprint.py`).
"""

from prepbase.tutor import availability_views, calendar_views, group_views, views
from prepbase.tutor.blueprint import bp

__all__ = ["availability_views", "bp", "calendar_views", "group_views", "views"]
