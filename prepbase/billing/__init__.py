"""Stripe's side of online payments: the Connect webhook (outside any business's URL).

The family's Buy Hours pages live in the family blueprint and the admin's Online
Payments settings in the admin blueprint; both use `prepbase.payments`.

Importing the package imports its view modules, which add their routes to `bp`
(`blueprint.py`).
"""

from prepbase.billing import views
from prepbase.billing.blueprint import bp

__all__ = ["bp", "views"]
