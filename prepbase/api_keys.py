"""API keys (domain): create one (its token shown once), revoke it, and find the key a
request's token belongs to."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from prepbase.errors import DomainError
from prepbase.models import ApiKey, ApiScope, IdempotencyRecord, Role, Tenant, User, utcnow
from prepbase.tenancy import as_tenant, unscoped

TOKEN_PREFIX = "pbk_"  # noqa: S105 - the tokens' visible prefix, not a secret
SHOWN_PREFIX = 12  # "pbk_" and 8 characters of the secret: enough to tell keys apart
MAX_NAME = 80
# The last-used time is written at most this often, so a key's reads stay reads.
LAST_USED_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: the token has 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class NewKey:
    key: ApiKey
    token: str  # shown once, never stored


def create_api_key(session: Session, actor: User, *, name: str, scope: str) -> NewKey:
    """An admin makes a key for the business's own tools."""
    if actor.role != Role.ADMIN:
        raise DomainError("Only admins manage API keys.")
    name = (name or "").strip()
    if not name:
        raise DomainError("Name the key after the tool that will use it.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"Use at most {MAX_NAME} characters for the name.", field="name")
    if scope not in ApiScope.LABELS:
        raise DomainError("Choose read only or read and write.", field="scope")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        scope=scope,
        token_hash=hash_token(token),
        prefix=token[:SHOWN_PREFIX],
        created_by_id=actor.id,
    )
    session.add(key)
    session.flush()
    return NewKey(key=key, token=token)


def revoke_api_key(session: Session, actor: User, key: ApiKey) -> None:
    """From now on the key authenticates nothing; revoking twice changes nothing."""
    if actor.role != Role.ADMIN:
        raise DomainError("Only admins manage API keys.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()


def api_keys(session: Session) -> list[ApiKey]:
    """The business's keys, newest first (revoked ones too: Settings shows them)."""
    return list(
        session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc()))
    )


@dataclass
class Caller:
    key: ApiKey
    tenant: Tenant
    actor: User  # the admin who created the key: the API acts as them


def find_caller(session: Session, token: str) -> Caller | None:
    """The live key of `token`, its business and the admin it acts as, in one statement;
    None for an unknown or revoked token, or a key whose admin is gone or no longer an
    admin (the key can do no more than the person who made it)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with unscoped():  # the token names the business: it is not known before
        row = session.execute(
            select(ApiKey, Tenant, User)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .join(User, User.id == ApiKey.created_by_id)
            .where(
                ApiKey.token_hash == hash_token(token),
                ApiKey.revoked_at.is_(None),
                User.tenant_id == ApiKey.tenant_id,
                User.active.is_(True),
                User.role == Role.ADMIN,
            )
        ).one_or_none()
    if row is None:
        return None
    return Caller(key=row[0], tenant=row[1], actor=row[2])


def last_used_is_stale(key: ApiKey, now: datetime) -> bool:
    return key.last_used_at is None or key.last_used_at <= now - LAST_USED_EVERY


def mark_used(session: Session, key: ApiKey, now: datetime) -> None:
    """Note the key's use; a conditional UPDATE, so concurrent requests write it once."""
    with as_tenant(key.tenant_id):
        session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_EVERY),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


# How long a POST's Idempotency-Key is remembered: a client retries within minutes.
IDEMPOTENCY_KEPT = timedelta(hours=24)


def forget_old_requests(session: Session, now: datetime) -> int:
    """Delete the idempotency records older than IDEMPOTENCY_KEPT, of every business
    (a maintenance job: no business is in scope); how many went."""
    with unscoped():
        result = session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.created_at < now - IDEMPOTENCY_KEPT)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)
