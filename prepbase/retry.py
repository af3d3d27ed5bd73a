"""Running a unit of work again when PostgreSQL gives it up for a conflict.

PostgreSQL breaks a deadlock by failing one of the transactions in it (SQLSTATE 40P01)
and fails a transaction it cannot serialize (40001). Nothing of such a transaction is
kept, mail included (the outbox is written in the same transaction), so running the
whole unit again from its start is safe and almost always succeeds. The lock order of
`prepbase.scheduling` keeps the session verbs out of deadlocks; this is the backstop for
every other pair of transactions.

Every request's view is one unit (`transactions.UnitOfWorkFlask`); CLI jobs call
`retrying` around each of their transactions. After the last try the error goes up as
before: a request gets the error page ("Nothing was changed"), a job stops.

A pooled connection can die while it waits in the pool (the server restarted, a proxy
closed it). The pool does not ping each connection it hands out (a round trip on every
request); it replaces connections after `pool_recycle` seconds, and a connection found
dead by the first statement a session sends on it is replaced and that statement sent
again (`_retry_on_dead_connection`). SQLAlchemy then also replaces every other connection
the pool held from before, so a restart costs each process one retried statement.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.result import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, scoped_session

log = logging.getLogger(__name__)

TRIES = 3
CONFLICTS = {"40P01": "deadlock", "40001": "serialization failure"}
# Before try n + 1, wait a random part of n × PAUSE seconds, so the transactions that
# met in a deadlock do not meet again at once.
PAUSE = 0.05

T = TypeVar("T")


def conflict_code(exc: BaseException) -> str | None:
    """The SQLSTATE when `exc` is a deadlock or a serialization failure, else None."""
    if not isinstance(exc, DBAPIError):
        return None
    code = getattr(exc.orig, "sqlstate", None)
    return code if code in CONFLICTS else None


@event.listens_for(Session, "after_commit")
def _count_commits(session: Session) -> None:
    # `retrying` must not repeat a unit that committed part of its work before failing.
    session.info["commits"] = session.info.get("commits", 0) + 1


def retrying(
    session: Session | scoped_session[Session],
    work: Callable[[], T],
    *,
    what: str = "transaction",
    tries: int = TRIES,
) -> T:
    """Run `work`, one unit of work on `session`; when the database gives it up for a
    deadlock or a serialization failure, roll back and run it again, `tries` times at
    most. A unit that has committed since it started is not run again (what it
    committed would happen twice): its error goes up like any other."""
    attempt = 1
    while True:
        commits = session.info.get("commits", 0)
        try:
            return work()
        except DBAPIError as exc:
            code = conflict_code(exc)
            if code is None or session.info.get("commits", 0) != commits:
                raise
            session.rollback()
            if attempt >= tries:
                log.error("%s: %s (%s) on each of %s tries", what, CONFLICTS[code], code, tries)
                raise
            log.warning(
                "%s: %s (%s) on try %s of %s; running it again",
                what,
                CONFLICTS[code],
                code,
                attempt,
                tries,
            )
        time.sleep(random.uniform(0, PAUSE * attempt))  # noqa: S311 - a pause, not a secret
        attempt += 1


# session.info: True while the session's transaction holds a connection of the pool.
HAS_CONNECTION = "prepbase_has_connection"


@event.listens_for(Session, "after_begin")
def _took_connection(session: Session, _transaction: object, _connection: Connection) -> None:
    session.info[HAS_CONNECTION] = True


@event.listens_for(Session, "after_transaction_end")
def _gave_back_connection(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(HAS_CONNECTION, None)


@event.listens_for(Session, "do_orm_execute")
def _retry_on_dead_connection(state: ORMExecuteState) -> Result[object] | None:
    """The first statement on a connection taken from the pool: when the connection
    turns out dead, take another and send the statement again, once. Only when the
    session holds no unsaved change, which giving up the dead transaction would lose;
    later statements of a transaction are not repeated (what came before is lost)."""
    session = state.session
    if session.info.get(HAS_CONNECTION) or session.new or session.deleted or session.dirty:
        return None  # the usual path: one dictionary look-up
    try:
        return state.invoke_statement()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection was dead (%s); sending the statement again", exc.orig)
        session.rollback()
        return state.invoke_statement()
