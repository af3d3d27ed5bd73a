"""Running a unit of work again when PostgreSQL gives it up for a conflict.

PostgreSQL breaks a deadlock by failing one of the transactions in it (SQLSTATE 40P01)
and fails a transaction it cannot serialize (40001). Nothing of such a transaction is
kept, mail included (the outbox is written in the same transaction), so running the
whole unit again from its start is safe and almost always succeeds. The lock order of
`prepbase.scheduling` keeps the session verbs out of deadlocks; this is the backstop for
every other pair of transactions.

Every request's view is one unit (`RetryingFlask`); CLI jobs call `retrying` around each
of their transactions. After the last try the error goes up as before: a request gets the
error page ("Nothing was changed"), a job stops.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, request
from flask.typing import ResponseReturnValue
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from prepbase.extensions import db

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


class RetryingFlask(Flask):
    """Flask whose views each run as one unit of work, run again on a database conflict
    (each user action is one transaction; the form data can be read again)."""

    def dispatch_request(self) -> ResponseReturnValue:
        return retrying(
            db.session, super().dispatch_request, what=f"{request.method} {request.path}"
        )
