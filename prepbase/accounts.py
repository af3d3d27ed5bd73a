"""Signing in: passwords, the session loader and one-time links (invitations, resets).

The rules, free of HTTP. The people these accounts belong to are `prepbase.people`; the
business itself (sign-up, Settings) is `prepbase.business`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, cast

from flask import current_app, has_app_context
from sqlalchemy import CursorResult, bindparam, select, update
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from prepbase.errors import DomainError
from prepbase.models import AuthToken, Tenant, User, utcnow
from prepbase.tenancy import unscoped

MIN_PASSWORD_LENGTH = 10

# A dummy hash so that a login for an unknown e-mail costs as much as a real check.
_DUMMY_HASH = generate_password_hash("not-a-real-password-xx")


def normalize_email(email: str) -> str:
    """E-mails compare case-insensitively; we store them lowercased and trimmed."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash with scrypt; the test suite configures a cheaper method to stay fast."""
    method = "scrypt"
    if has_app_context():
        method = current_app.config.get("PASSWORD_HASH_METHOD", method)
    return generate_password_hash(password, method=method)


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse passwords shorter than the minimum length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.", field=field
        )


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user of the current tenant with this e-mail and password, else None.

    Callers show one generic message for every failure, so nobody learns which of
    e-mail or password was wrong, nor that an account is deactivated.
    """
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    if not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def _cookie_parts(cookie_id: str) -> tuple[int, str] | None:
    user_id, _, nonce = cookie_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    return int(user_id), nonce


def load_user_for_session(
    session: Session, cookie_id: str, prefetched: User | None = None
) -> User | None:
    """Flask-Login loader: the user named by the cookie, if still active and unchanged.

    `prefetched` is the user that `load_tenant_and_user` already read with the business;
    it saves the query when it is the one the cookie names.
    """
    parts = _cookie_parts(cookie_id)
    if parts is None:
        return None
    user = prefetched if prefetched is not None and prefetched.id == parts[0] else None
    if user is None:
        with unscoped():
            # Family pages need the family on every request: one query, not two.
            user = session.scalar(
                select(User).where(User.id == parts[0]).options(joinedload(User.family))
            )
    if user is None or user.session_nonce != parts[1] or not user.active:
        return None
    return user


def load_tenant_and_user(
    session: Session, slug: str, cookie_id: str | None
) -> tuple[Tenant | None, User | None]:
    """The business of a URL and the user the cookie names, if that user belongs to it.

    Every signed-in page needs both, so they come in one statement; the user is checked
    later by `load_user_for_session`. A user of another business is not returned: the
    login loader then finds it the usual way (and the portal answers 404).
    """
    parts = _cookie_parts(cookie_id) if cookie_id else None
    if parts is None:
        return session.scalar(_TENANT_BY_SLUG, {"slug": slug}), None
    with unscoped():
        row = session.execute(_TENANT_AND_USER, {"slug": slug, "user_id": parts[0]}).first()
    return (None, None) if row is None else (row[0], row[1])


# Built once: every request runs one of these, and building a statement costs more
# than its (cached) compilation.
_TENANT_BY_SLUG = select(Tenant).where(Tenant.slug == bindparam("slug"))
_TENANT_AND_USER = (
    select(Tenant, User)
    .outerjoin(User, (User.tenant_id == Tenant.id) & (User.id == bindparam("user_id")))
    .where(Tenant.slug == bindparam("slug"))
    .options(joinedload(User.family))
)


def sign_in_accounts(session: Session, email: str) -> list[tuple[Tenant, User]]:
    """Every business where `email` can sign in (an active account with a password),
    with the account, by business name: the e-mail the home page's "Forgot your URL
    name?" sends. Looks across businesses, as signing in must before a business is
    known; the caller answers the same way whatever it finds."""
    with unscoped():
        rows = session.execute(
            select(Tenant, User)
            .join(User, User.tenant_id == Tenant.id)
            .where(
                User.email == normalize_email(email),
                User.active.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(Tenant.name, Tenant.id)
        ).all()
    return [(tenant, user) for tenant, user in rows]


# --- passwords ---------------------------------------------------------------------


def request_password_reset(session: Session, email: str, ttl: timedelta) -> tuple[User, str] | None:
    """A reset link for an active account that has a password; None otherwise.

    The caller answers the same way either way, so the form reveals nothing.
    """
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.active or not user.has_password:
        return None
    return user, issue_token(session, user, "reset", ttl)


def end_all_sessions(session: Session, user: User) -> None:
    """Sign-out: every cookie naming this user stops opening pages, in every browser,
    copies included (a cookie is signed, not stored, so the nonce it names changes)."""
    user.rotate_session_nonce()
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """A signed-in user changes their own password; other browsers are signed out."""
    if user.password_hash is None or not check_password_hash(user.password_hash, current):
        raise DomainError("That is not your current password.", field="current_password")
    check_password_strength(new, field="new_password")
    user.password_hash = hash_password(new)
    user.rotate_session_nonce()
    session.flush()


# --- one-time links ----------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    session: Session, user: User, purpose: str, ttl: timedelta, created_by: User | None = None
) -> str:
    """Make a single-use link secret for `user`; older unused links of that kind die."""
    now = utcnow()
    session.execute(
        update(AuthToken)
        .where(
            AuthToken.user_id == user.id,
            AuthToken.purpose == purpose,
            AuthToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    raw = secrets.token_urlsafe(32)
    session.add(
        AuthToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_token_hash(raw),
            expires_at=now + ttl,
            created_by_id=created_by.id if created_by else None,
        )
    )
    session.flush()
    return raw


def find_valid_token(session: Session, raw: str, purpose: str) -> AuthToken | None:
    """The unexpired, unused link of the current tenant with this secret, else None."""
    token = session.scalar(
        select(AuthToken).where(
            AuthToken.token_hash == _token_hash(raw), AuthToken.purpose == purpose
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.active:
        return None
    return token


def use_token_to_set_password(session: Session, raw: str, purpose: str, password: str) -> User:
    """Spend a link once and set the user's password (invite acceptance or reset).

    The conditional UPDATE makes a link single-use even when it is opened twice at once.
    """
    token = find_valid_token(session, raw, purpose)
    if token is None:
        raise DomainError("This link has expired or was already used.")
    check_password_strength(password)
    updated = session.execute(
        update(AuthToken)
        .where(AuthToken.id == token.id, AuthToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    spent = cast(CursorResult[Any], updated).rowcount
    if spent != 1:
        raise DomainError("This link has expired or was already used.")
    user = token.user
    user.password_hash = hash_password(password)
    user.rotate_session_nonce()
    user.last_login_at = utcnow()
    session.flush()
    return user
