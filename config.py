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
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PREPBASE_INSTANCE_DIR", BASE_DIR / "instance"))

# Values that must never be accepted as a production secret.
WEAK_SECRETS = {"", "dev", "secret", "changeme", "change-me", "development"}
MIN_SECRET_LENGTH = 32
# A random key of 32 hex digits has 8 or more different characters all but never.
MIN_SECRET_DISTINCT_CHARACTERS = 8
# Strict-Transport-Security in production: browsers use only https for a year.
HSTS_VALUE = "max-age=31536000; includeSubDomains"
POOL_RECYCLE_SECONDS = 1800
# Log lines: plain text for a person at a terminal, JSON for a log collector.
LOG_FORMATS = {"text", "json"}


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


def _log_format() -> str:
    raw = os.environ.get("LOG_FORMAT", "").strip().lower() or "text"
    if raw not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, not {raw!r}")
    return raw


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigError(f"{name} must be a whole number (0, 1, 2…), not {raw!r}")
    return int(raw)


def _weak_secret(secret: str) -> bool:
    """Too short, a known placeholder, too few different characters, or a short block
    repeated ("abcd" * 8): none of these is a random key."""
    return (
        len(secret) < MIN_SECRET_LENGTH
        or secret.lower() in WEAK_SECRETS
        or len(set(secret)) < MIN_SECRET_DISTINCT_CHARACTERS
        or secret in (secret + secret)[1:-1]
    )


def _secret_keys(env: str) -> tuple[str, list[str]]:
    """The signing key and the older keys still accepted while sessions roll over.

    Production refuses a weak key, current or old: an old key that is still accepted
    signs cookies as well as the current one.
    """
    secret = os.environ.get("SECRET_KEY", "")
    fallbacks = [
        key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
    ]
    if env == "production":
        if _weak_secret(secret):
            raise ConfigError(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                "characters in production (for example: "
                "python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        if any(_weak_secret(key) for key in fallbacks):
            raise ConfigError(
                "every key in SECRET_KEY_FALLBACKS must be a former random SECRET_KEY "
                f"(at least {MIN_SECRET_LENGTH} characters)"
            )
    elif not secret:
        secret = secrets.token_hex(32) if env == "testing" else _dev_secret_key()
    return secret, fallbacks


def _public_base_url(env: str) -> str | None:
    """The scheme and host that every e-mailed link uses (https://app.example.com).

    Production requires it: links never follow a request's Host header there.
    """
    raw = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if not raw:
        if env == "production":
            raise ConfigError(
                "PUBLIC_BASE_URL must be set in production to the address people use, "
                "e.g. https://app.example.com (links in e-mails are built from it)"
            )
        return None
    try:
        parts = urlsplit(raw)
        port_ok = parts.port is None or parts.port > 0  # .port raises for a bad port
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if not (
        port_ok
        and parts.scheme in {"http", "https"}
        and parts.hostname
        and parts.path in {"", "/"}
        and not (parts.query or parts.fragment or parts.username or parts.password)
    ):
        raise ConfigError(
            "PUBLIC_BASE_URL must be a scheme and host such as https://app.example.com, "
            f"not {raw!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _trusted_hosts(env: str, public_base_url: str | None) -> list[str] | None:
    """Production answers only the host of PUBLIC_BASE_URL and the ALLOWED_HOSTS (host
    names without port, e.g. for a load balancer's health check); any other Host header
    gets 400 (Flask's TRUSTED_HOSTS)."""
    if env != "production" or public_base_url is None:
        return None
    extra = [h.strip().lower() for h in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    hosts = [urlsplit(public_base_url).hostname or "", *(h for h in extra if h)]
    return list(dict.fromkeys(hosts))


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
    """Build the Flask config for one profile; refuses a production app without a real
    secret or without PUBLIC_BASE_URL."""
    env = env or os.environ.get("PREPBASE_ENV", "production")
    if env not in {"production", "development", "testing"}:
        raise ConfigError(f"PREPBASE_ENV must be production, development or testing, not {env!r}")

    secret, secret_fallbacks = _secret_keys(env)
    public_base_url = _public_base_url(env)
    insecure_cookies = _bool("INSECURE_COOKIES")

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
        # Keys of before a rotation: cookies they signed still open (README, rotation).
        "SECRET_KEY_FALLBACKS": secret_fallbacks,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No ping on every checkout (a round trip per request): connections are replaced
        # after half an hour, below the idle limits of servers and proxies, and one found
        # dead is replaced and its statement sent again (prepbase/retry.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": POOL_RECYCLE_SECONDS},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production" and not insecure_cookies,
        # Sent on every production response; not on plain http (development, staging).
        "HSTS_VALUE": HSTS_VALUE if env == "production" and not insecure_cookies else None,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # No uploads: a form, or a Stripe event, is far smaller. A larger body is a 413
        # before it is read; each field of a multipart body stays under 500 kB.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 500_000,
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
        # Absolute links in e-mails; development and testing fall back to the request's host.
        "PUBLIC_BASE_URL": public_base_url,
        "TRUSTED_HOSTS": _trusted_hosts(env, public_base_url),
        # Reverse proxies in front: their X-Forwarded-For/-Proto/-Host are believed.
        "TRUSTED_PROXIES": _whole_number("TRUSTED_PROXIES", 0),
        "REDIS_URL": redis_url,
        # Logs (one line per request, prepbase/request_log.py) and error reports: Sentry
        # only when a DSN is set (prepbase/error_reports.py).
        "LOG_FORMAT": _log_format(),
        "SENTRY_DSN": os.environ.get("SENTRY_DSN", "").strip() or None,
        # Admin → Reports keeps a computed report this long (0: always compute).
        "REPORTS_CACHE_SECONDS": int(
            os.environ.get("REPORTS_CACHE_SECONDS", "0" if env == "testing" else "60")
        ),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down: count in this process's memory (and log a warning) rather than
        # answer 500; Redis is tried again now and then.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        "RATELIMIT_ENABLED": not _bool("RATELIMIT_DISABLED"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "RESET_RATE_LIMIT": os.environ.get("RESET_RATE_LIMIT", "5 per minute;20 per hour"),
        "SIGNUP_RATE_LIMIT": os.environ.get("SIGNUP_RATE_LIMIT", "10 per hour"),
        # The REST API, per key: reads and writes are counted apart (prepbase/api/auth.py).
        "API_READ_RATE_LIMIT": os.environ.get("API_READ_RATE_LIMIT", "120 per minute"),
        "API_WRITE_RATE_LIMIT": os.environ.get("API_WRITE_RATE_LIMIT", "60 per minute"),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_CONNECT_WEBHOOK_SECRET": os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        # Seconds to wait for Stripe before telling the family it could not be reached.
        "STRIPE_TIMEOUT_SECONDS": float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "20")),
        # The platform's share of each online sale, as an application fee (0 = none).
        "PLATFORM_FEE_PERCENT": _fee_percent(),
        # Webhooks out: private, loopback and link-local endpoint addresses are refused
        # (no requests into the operator's network) unless this is on (tests, a private
        # network on purpose).
        "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": _bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"),
        "INVITE_TTL_DAYS": 7,
        "RESET_TTL_MINUTES": 60,
    }
    config.update(overrides)
    return config
