"""Sign-in, sign-out, invitations, password resets: the tenant's public account pages.

Importing the package imports its view modules, which add their routes to `bp`
(`blueprint.py`).
"""

from prepbase.auth import views
from prepbase.auth.blueprint import bp

__all__ = ["bp", "views"]
