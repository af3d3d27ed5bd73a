"""Public pages: the home page and business sign-up.

Importing the package imports its view modules, which add their routes to `bp`
(`blueprint.py`).
"""

from prepbase.public import views
from prepbase.public.blueprint import bp

__all__ = ["bp", "views"]
