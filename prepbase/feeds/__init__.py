"""Calendar feeds at secret addresses: no sign-in, the token in the address is the key.

Importing the package imports its view modules, which add their routes to `bp`
(`blueprint.py`).
"""

from prepbase.feeds import views
from prepbase.feeds.blueprint import bp

__all__ = ["bp", "views"]
