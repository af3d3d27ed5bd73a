"""Stripe's side of online payments: the Connect webhook (outside any business's URL).

The family's Buy Hours pages live in the family blueprint and the admin's Online
Payments settings in the admin blueprint; both use `prepbase.payments`.
"""

from flask import Blueprint

from prepbase.extensions import csrf

bp = Blueprint("billing", __name__)
csrf.exempt(bp)  # Stripe signs its requests instead (verified in the view)

from prepbase.billing import views  # noqa: E402,F401
