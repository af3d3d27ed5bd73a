"""Which requests hold a database transaction: writes do, reads do not.

A GET or HEAD request reads: its statements run each on its own, without BEGIN and
ROLLBACK around them (PostgreSQL: the driver's autocommit; SQLite: no `BEGIN IMMEDIATE`,
so a page no longer queues behind a writer for SQLite's one write lock). That is one
round trip per statement instead of four (the pool's ping, BEGIN, the statement,
ROLLBACK) for a page of one statement. What a page sees does not change on PostgreSQL:
at READ COMMITTED each statement of a transaction took its own snapshot already. On
SQLite a page's statements no longer share one snapshot; each figure a page shows comes
from one statement, and the ledger's invariant is kept by the writes.

Every other request (POST) writes exactly as before: one transaction, its row locks and
conditional UPDATEs, committed once by the view, run again on a conflict (`retry.py`).
What it loaded stays loaded after its commit (`keep_after_commit`): the page or redirect
it answers with does not read the business, the user and the rows it just wrote again.

A reading request that tries to write is refused (`WriteInRead`, an error page and a log
line), never half-applied without its transaction. The rare GET that must write (none
today) says so with `@writes_on_get`, and then runs in a transaction like a POST.
A reading request that writes a little only now and then (an API key's last-used time,
at most once a minute) does that write `apart_from_read`: in a transaction of its own,
committed at once; the request then reads on without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from flask import Flask, request
from flask.typing import ResponseReturnValue
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session

from prepbase.extensions import AUTOCOMMIT, db
from prepbase.models import SYNCHRONIZED_BY_CALLER
from prepbase.retry import retrying

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])


class WriteInRead(RuntimeError):
    """A reading request (GET, HEAD) tried to write: a bug, refused before it happens."""


def writes_on_get(view: F) -> F:
    """Mark a GET view that writes: its request runs in a transaction, as a POST does."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


@contextmanager
def apart_from_read(session: Session) -> Iterator[None]:
    """Run the block's writes in a transaction of their own and commit them, in a reading
    request too (elsewhere it joins the request's transaction, which commits it). Call it
    before loading the objects the request uses: the commit expires them."""
    if not session.info.get(AUTOCOMMIT):
        yield
        return
    session.commit()  # ends the read's connection (no transaction: nothing to commit)
    session.info.pop(AUTOCOMMIT, None)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[AUTOCOMMIT] = True


def reads_only(app: Flask) -> bool:
    """True when the current request only reads: a GET or HEAD to a view not marked
    `writes_on_get` (a URL that matches no view reads too)."""
    if request.method not in READING_METHODS:
        return False
    view = app.view_functions.get(request.endpoint or "")
    return not getattr(view, "writes_on_get", False)


@event.listens_for(Session, "before_flush")
def _refuse_flush_in_read(session: Session, _context: object, _instances: object) -> None:
    if not session.info.get(AUTOCOMMIT):
        return
    changed = session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)
    if changed:
        raise WriteInRead(f"a reading request ({_what()}) tried to save changes")


@event.listens_for(Session, "do_orm_execute")
def _refuse_statement_in_read(state: ORMExecuteState) -> None:
    # Only SELECTs: bulk UPDATE/DELETE/INSERT and any other statement are writes.
    if state.session.info.get(AUTOCOMMIT) and not state.is_select:
        raise WriteInRead(f"a reading request ({_what()}) ran a statement that is not a SELECT")


# --- what a writing request keeps after its commit ----------------------------------------

# `Session.info` keys: the session keeps its objects at commit; and, per transaction, the
# classes changed behind the identity map's back (`True`: changed in a way that names none).
KEEP_AFTER_COMMIT = "prepbase_keep_after_commit"
CHANGED_IN_BULK = "prepbase_changed_in_bulk"


def keep_after_commit(session: Session) -> None:
    """A writing request's session: its commit keeps what it loaded, except what could be
    stale — rows of a class changed by a bulk UPDATE or DELETE (`_note_bulk_change`) and
    every relationship (`_expire_what_may_be_stale`).

    Why not SQLAlchemy's default (expire everything at commit): a request commits once,
    just before it renders or redirects, and then read the business (the URL's `url_for`),
    the user and the rows it had just written again, one statement each. What it holds
    is what it flushed, which is what it committed."""
    session.expire_on_commit = False
    session.info[KEEP_AFTER_COMMIT] = True


def expire_at_commit_again(session: Session) -> None:
    """Back to SQLAlchemy's default (the request is over)."""
    session.expire_on_commit = True
    session.info.pop(KEEP_AFTER_COMMIT, None)
    session.info.pop(CHANGED_IN_BULK, None)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_change(state: ORMExecuteState) -> None:
    # Conditional UPDATEs run with synchronize_session=False: the objects of their class
    # in the identity map may hold values from before. A statement on a table (no mapper)
    # or in text could have changed anything.
    session = state.session
    if not session.info.get(KEEP_AFTER_COMMIT) or state.is_select or state.is_insert:
        return
    if all(state.execution_options.get(k) == v for k, v in SYNCHRONIZED_BY_CALLER.items()):
        return
    mapper = state.bind_mapper
    changed: set[type] | bool = session.info.get(CHANGED_IN_BULK, set())
    if isinstance(changed, set):
        if (state.is_update or state.is_delete) and mapper is not None:
            changed = changed | {mapper.class_}
        else:
            changed = True
    session.info[CHANGED_IN_BULK] = changed


@event.listens_for(Session, "after_commit")
def _expire_what_may_be_stale(session: Session) -> None:
    if not session.info.get(KEEP_AFTER_COMMIT):
        return
    changed = session.info.pop(CHANGED_IN_BULK, set())
    for obj in list(session.identity_map.values()):
        state = inspect(obj)
        if changed is True or type(obj) in changed:
            session.expire(obj)
            continue
        # A relationship loaded before a row was added or a key changed may be out of date
        # (a many-to-one comes back from the identity map without a query).
        loaded = [r.key for r in state.mapper.relationships if r.key not in state.unloaded]
        if loaded:
            session.expire(obj, loaded)


@event.listens_for(Session, "after_soft_rollback")
def _forget_bulk_changes(session: Session, _previous: object) -> None:
    session.info.pop(CHANGED_IN_BULK, None)


def _what() -> str:
    return f"{request.method} {request.path}" if request else "outside a request"


class UnitOfWorkFlask(Flask):
    """Flask whose requests each are one unit of work: a read without a transaction, or
    a write in one transaction that runs again on a database conflict (each user action
    is one transaction; the form data can be read again)."""

    def preprocess_request(self) -> ResponseReturnValue | None:
        # Before the URL processors: loading the business is the first statement.
        if reads_only(self):
            db.session.info[AUTOCOMMIT] = True
        else:
            db.session.info.pop(AUTOCOMMIT, None)
            keep_after_commit(_proxy()())
        return super().preprocess_request()

    def dispatch_request(self) -> ResponseReturnValue:
        return retrying(
            db.session, super().dispatch_request, what=f"{request.method} {request.path}"
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teardown_request(_end_read)


def _end_read(_exc: BaseException | None = None) -> None:
    # Code after the request in the same app context (a test's) writes as usual.
    proxy = _proxy()
    if proxy.registry.has():
        db.session.info.pop(AUTOCOMMIT, None)
        expire_at_commit_again(proxy())


def _proxy() -> scoped_session[Session]:
    # The proxy (extensions.Database): attributes set on it would not reach the Session.
    return cast("scoped_session[Session]", db.session)
