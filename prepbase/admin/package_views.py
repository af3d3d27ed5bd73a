"""Admin pages: package_views (being built)."""

from prepbase.admin import bp  # noqa: F401
