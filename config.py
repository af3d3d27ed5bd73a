"""Configuration, read from the environment only.

`PREPBASE_ENV` picks the profile: ``production`` (the default, so a forgotten variable
fails closed), ``development`` (``make run`` and the ``flask`` CLI via ``.flaskenv``) or
``testing`` (the test suite).
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PREPBASE_INSTANCE_DIR", BASE_DIR / "instance"))

# Values that must never be accepted as a production secret.
WEAK_SECRETS = {"", "dev", "secret", "changeme", "change-me", "development"}


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a runnable app."""


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _fee_percent() -> Decimal:
    raw = os.environ.get("PLATFORM_FEE_PERCENT", "0").strip() or "0"
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"PLATFORM_FEE_PERCENT must be a number, not {raw!r}") from None
    if not value.is_finite() or not 0 <= value < 100:
        raise ConfigError(f"PLATFORM_FEE_PERCENT must be from 0 up to (not including) 100: {raw!r}")
    return value


def _dev_secret_key() -> str:
    # Development keeps a random key in instance/ so every gunicorn worker and every
    # restart share it (sessions survive), without any secret living in the repo.
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _default_database_url() -> str:
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'prepbase.sqlite3'}"


def load_config(env: str | None = None, **overrides: object) -> dict[str, object]:
    """Build the Flask config for one profile; refuses a production app without a secret."""
    env = env or os.environ.get("PREPBASE_ENV", "production")
    if env not in {"production", "development", "testing"}:
        raise ConfigError(f"PREPBASE_ENV must be production, development or testing, not {env!r}")

    secret = os.environ.get("SECRET_KEY", "")
    if env == "production":
        if secret.lower() in WEAK_SECRETS or len(secret) < 32:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in "
                "production (for example: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
    elif not secret:
        secret = secrets.token_hex(32) if env == "testing" else _dev_secret_key()

    database_url = os.environ.get("DATABASE_URL") or _default_database_url()
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    redis_url = os.environ.get("REDIS_URL") or None
    config: dict[str, object] = {
        "PREPBASE_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production" and not _bool("INSECURE_COOKIES"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Mail: "console" logs messages (development default); "smtp" sends them.
        "MAIL_BACKEND": os.environ.get(
            "MAIL_BACKEND", "smtp" if env == "production" else "console"
        ),
        "MAIL_HOST": os.environ.get("MAIL_HOST", "localhost"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "PrepBase <no-reply@localhost>"),
        # TLS to the SMTP server always checks its certificate and host name; this file
        # (PEM) holds the CA to trust instead of the system's, e.g. a company CA.
        "MAIL_CA_FILE": os.environ.get("MAIL_CA_FILE") or None,
        # Absolute links in e-mails; falls back to the request's host.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or None,
        "REDIS_URL": redis_url,
        # Admin → Reports keeps a computed report this long (0: always compute).
        "REPORTS_CACHE_SECONDS": int(
            os.environ.get("REPORTS_CACHE_SECONDS", "0" if env == "testing" else "60")
        ),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": not _bool("RATELIMIT_DISABLED"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "RESET_RATE_LIMIT": os.environ.get("RESET_RATE_LIMIT", "5 per minute;20 per hour"),
        "SIGNUP_RATE_LIMIT": os.environ.get("SIGNUP_RATE_LIMIT", "10 per hour"),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_CONNECT_WEBHOOK_SECRET": os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        # Seconds to wait for Stripe before telling the family it could not be reached.
        "STRIPE_TIMEOUT_SECONDS": float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "20")),
        # The platform's share of each online sale, as an application fee (0 = none).
        "PLATFORM_FEE_PERCENT": _fee_percent(),
        "INVITE_TTL_DAYS": 7,
        "RESET_TTL_MINUTES": 60,
    }
    config.update(overrides)
    return config
