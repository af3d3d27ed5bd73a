"""Tenant scoping: one mechanism for every tenant-owned row.

Each tenant-owned model inherits `TenantScoped`. A `do_orm_execute` listener adds
``tenant_id = <current tenant>`` to every ORM SELECT, UPDATE and DELETE that touches such
a model (joins, ``.any()``/``.has()`` subqueries and eager loads included), and a
`before_flush` listener stamps new rows. With no current tenant, a tenant-owned
statement raises `TenantRequired` instead of reading everybody's rows (fail closed).

Escapes are context managers: `as_tenant(id)` for CLI jobs, webhooks and sign-up, and
`unscoped()` for the few places that must look across tenants (loading the signed-in
user before the tenant is known).  Raw SQL and Core statements are *not* scoped: the code
base keeps them out of tenant tables, and the ones that must exist carry the condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy import ForeignKey, event, select
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

_current_tenant: ContextVar[int | None] = ContextVar("prepbase_tenant", default=None)
_unscoped: ContextVar[bool] = ContextVar("prepbase_unscoped", default=False)

T = TypeVar("T")


class TenantRequired(RuntimeError):
    """A tenant-owned table was queried or written with no tenant in scope."""


class TenantMismatch(RuntimeError):
    """A row of one tenant was about to be written while another tenant is in scope."""


class TenantScoped:
    """Mixin for every tenant-owned model: adds an indexed `tenant_id` foreign key."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr takes the class
        return mapped_column(
            ForeignKey("tenant.id", ondelete="CASCADE"), index=True, nullable=False
        )


def current_tenant_id() -> int | None:
    """The tenant whose rows the current code may see, or None."""
    return _current_tenant.get()


def set_current_tenant(tenant_id: int | None) -> object:
    """Enter a tenant for the rest of a request; returns a token for `reset_current_tenant`."""
    return _current_tenant.set(tenant_id)


def reset_current_tenant(token: object) -> None:
    """Leave the tenant entered by `set_current_tenant`."""
    _current_tenant.reset(token)  # type: ignore[arg-type]


@contextmanager
def as_tenant(tenant_id: int) -> Iterator[None]:
    """Run a block as one tenant (CLI jobs, sign-up, verified webhooks)."""
    token = _current_tenant.set(tenant_id)
    unscoped_token = _unscoped.set(False)
    try:
        yield
    finally:
        _unscoped.reset(unscoped_token)
        _current_tenant.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Look across tenants; used only where the tenant is not known yet."""
    token = _unscoped.set(True)
    try:
        yield
    finally:
        _unscoped.reset(token)


def _touches_tenant_rows(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Column and relationship loads inherit the criteria of the statement that loaded
    # their parent (propagate_to_loaders), as in SQLAlchemy's filter_public recipe.
    if state.is_column_load or state.is_relationship_load:
        return
    if _unscoped.get() or state.execution_options.get("prepbase_unscoped", False):
        return
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        if _touches_tenant_rows(state):
            raise TenantRequired("tenant-owned rows queried with no tenant in scope")
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: object, _instances: object) -> None:
    tenant_id = _current_tenant.get()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise TenantRequired(f"new {type(obj).__name__} with no tenant in scope")
            obj.tenant_id = tenant_id
        elif tenant_id is not None and obj.tenant_id != tenant_id and not _unscoped.get():
            raise TenantMismatch(
                f"{type(obj).__name__} of tenant {obj.tenant_id} written as tenant {tenant_id}"
            )
    if tenant_id is None or _unscoped.get():
        return
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and obj.tenant_id != tenant_id:
            raise TenantMismatch(
                f"{type(obj).__name__} of tenant {obj.tenant_id} changed as tenant {tenant_id}"
            )


def get_scoped(session: Session, model: type[T], ident: object) -> T | None:
    """Load one row by primary key through the scoped SELECT.

    `Session.get()` may answer from the identity map without a query, which would skip
    the tenant criteria; this always asks the database.
    """
    return session.execute(
        select(model).where(model.id == ident)  # type: ignore[attr-defined]
    ).scalar_one_or_none()


# --- the tenant URL prefix ------------------------------------------------------------
# Every page of a business lives under /<tenant_slug>/…; this parent blueprint loads the
# tenant once per request, enters its scope, and checks that a signed-in user belongs to
# it. Nested blueprints (auth, admin, tutor, family) inherit all of it.

from flask import Blueprint, abort, g  # noqa: E402
from flask_login import current_user  # noqa: E402

tenant_bp = Blueprint("tenant", __name__, url_prefix="/<tenant_slug>")


@tenant_bp.url_value_preprocessor
def _load_tenant(_endpoint: str | None, values: dict[str, object] | None) -> None:
    from flask import session

    from prepbase.accounts import load_tenant_and_user
    from prepbase.extensions import db

    slug = (values or {}).pop("tenant_slug", None)
    if not slug:
        abort(404)
    # The signed-in user comes with the business: one statement for both.
    tenant, user = load_tenant_and_user(db.session, slug, session.get("_user_id"))
    if tenant is None:
        abort(404)
    if user is not None:
        g.prefetched_user = user
    g.tenant = tenant
    g.tenant_token = set_current_tenant(tenant.id)


@tenant_bp.url_defaults
def _add_tenant_slug(_endpoint: str, values: dict[str, object]) -> None:
    if "tenant_slug" not in values and "tenant" in g:
        values["tenant_slug"] = g.tenant.slug


def signed_in_here() -> bool:
    """True when someone is signed in *to the business of this URL*."""
    return bool(
        current_user.is_authenticated and "tenant" in g and current_user.tenant_id == g.tenant.id
    )


@tenant_bp.before_request
def _require_own_tenant() -> None:
    # A signed-in user of another business sees this business's portal pages exactly
    # as if they did not exist; only its public auth pages (login, links) answer.
    from flask import request

    if (
        current_user.is_authenticated
        and not signed_in_here()
        and request.blueprint != "tenant.auth"
    ):
        abort(404)


def leave_tenant(_exc: BaseException | None = None) -> None:
    """Teardown: forget the request's tenant so nothing leaks into the next request."""
    token = g.pop("tenant_token", None)
    if token is not None:
        reset_current_tenant(token)


def get_or_404(model: type[T], ident: object) -> T:
    """A row of the current tenant by id; a missing or foreign row is the same 404."""
    from prepbase.extensions import db

    if not isinstance(ident, int):
        abort(404)
    row = get_scoped(db.session, model, ident)
    if row is None:
        abort(404)
    return row
