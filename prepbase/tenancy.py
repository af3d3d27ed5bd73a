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

This module knows nothing of the web: the URL prefix that enters a business's scope for
each request lives in `prepbase.tenant_url`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TypeVar, cast

from sqlalchemy import ForeignKey, bindparam, event, inspect, select
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.base import ExecutableOption

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


def set_current_tenant(tenant_id: int | None) -> Token[int | None]:
    """Enter a tenant for the rest of a request; returns a token for `reset_current_tenant`."""
    return _current_tenant.set(tenant_id)


def reset_current_tenant(token: Token[int | None]) -> None:
    """Leave the tenant entered by `set_current_tenant`."""
    _current_tenant.reset(token)


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


# The criterion is one option for every statement, and the tenant its bound parameter,
# given at execution: an option built per statement around the tenant id (a closure)
# cost about 0.05 ms of CPU per statement, a seventh of a simple SELECT's.
_TENANT_PARAMETER = "prepbase_tenant_id"
_TENANT_CRITERIA = with_loader_criteria(
    TenantScoped,
    # A literal name: a global read in the lambda would be tracked as a closure value.
    lambda cls: cls.tenant_id == bindparam("prepbase_tenant_id"),
    include_aliases=True,
)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Column and relationship loads inherit the criterion of the statement that loaded
    # their parent (propagate_to_loaders), as in SQLAlchemy's filter_public recipe; they
    # get its value here, the parent's tenant (without a tenant the load fails: a
    # bound parameter with no value).
    if state.is_column_load or state.is_relationship_load:
        tenant_id = _loaded_tenant(state)
        if tenant_id is not None:
            _give_tenant(state, tenant_id)
        return
    if _unscoped.get() or state.execution_options.get("prepbase_unscoped", False):
        return
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        if _touches_tenant_rows(state):
            raise TenantRequired("tenant-owned rows queried with no tenant in scope")
        return
    state.statement = state.statement.options(_TENANT_CRITERIA)
    _give_tenant(state, tenant_id)
    state.session.info[_LAST_TENANT] = tenant_id


# The tenant of the session's latest scoped statement: what a column load of an expired
# row (its tenant_id expired too) was loaded under, as far as can be known.
_LAST_TENANT = "prepbase_last_tenant"


def _loaded_tenant(state: ORMExecuteState) -> int | None:
    """The tenant of the row a lazy or column load starts from; else the one in scope;
    else the session's latest. A wrong guess loads nothing: never another tenant's."""
    parent = state.lazy_loaded_from or state.load_options._refresh_state
    if parent is not None and isinstance(parent.obj(), TenantScoped):
        tenant_id = parent.dict.get("tenant_id")  # never a load of its own
        if tenant_id is not None:
            return cast(int, tenant_id)
    tenant_id = _current_tenant.get()
    return tenant_id if tenant_id is not None else state.session.info.get(_LAST_TENANT)


def _give_tenant(state: ORMExecuteState, tenant_id: int) -> None:
    parameters = state.parameters
    if parameters is None or isinstance(parameters, Mapping):
        state.parameters = {**(parameters or {}), _TENANT_PARAMETER: tenant_id}
    else:  # executemany (a bulk UPDATE by primary key)
        state.parameters = [{**row, _TENANT_PARAMETER: tenant_id} for row in parameters]


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


def stamp_rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows for a bulk INSERT of a tenant-owned model (`session.execute(insert(M), rows)`,
    which no flush stamps): each gets the current tenant, or this raises (fail closed)."""
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise TenantRequired("bulk insert of tenant-owned rows with no tenant in scope")
    for row in rows:
        row["tenant_id"] = tenant_id
    return rows


def get_scoped(
    session: Session, model: type[T], ident: object, *options: ExecutableOption
) -> T | None:
    """Load one row by primary key through the scoped SELECT (with loader `options`, e.g.
    a related row the page shows, in the same statement).

    `Session.get()` may answer from the identity map without a query, which would skip
    the tenant criteria; this asks the database, unless the row is in the identity map
    already, loaded and of the tenant in scope (a form's choices loaded it a moment ago:
    the same row, not a second statement).
    """
    if not options and issubclass(model, TenantScoped) and isinstance(ident, int):
        found = session.identity_map.get(identity_key(model, ident))
        if found is not None:
            state = inspect(found)
            tenant_id = _current_tenant.get()
            if (
                tenant_id is not None
                and not _unscoped.get()
                and "tenant_id" not in state.unloaded
                and not state.deleted
                and not state.was_deleted
                and found.tenant_id == tenant_id
            ):
                return found
    return session.execute(
        # Every tenant model has an `id` column; a bare TypeVar does not know it.
        select(model).where(model.id == ident).options(*options)  # type: ignore[attr-defined]
    ).scalar_one_or_none()
