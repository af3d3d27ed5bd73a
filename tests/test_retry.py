"""A transaction that PostgreSQL gives up for a deadlock or a serialization failure runs
again, whole, at most three times (`prepbase.retry`); after that the request gets the
error page and nothing of it is kept, mail included.

The failures are injected (a flush that raises the error PostgreSQL would), so these run
on SQLite too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import psycopg.errors
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from prepbase import packages
from prepbase.mail.outbox import queue_email
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    OutboundEmail,
    Package,
    SessionStatus,
    TutoringSession,
)
from prepbase.retry import TRIES, retrying
from prepbase.tenancy import as_tenant
from tests.factories import add_hours_rows


def deadlock() -> OperationalError:
    """The error SQLAlchemy raises when PostgreSQL picks this transaction to break a
    deadlock."""
    return OperationalError("UPDATE package …", None, psycopg.errors.DeadlockDetected())


class FailingOutbox:
    """Makes the next `times` flushes that write an outbox message fail as a deadlock
    would: after the session's changes and its e-mail are written, before the commit."""

    def __init__(self) -> None:
        self.times = 0
        self.failed = 0

    def __call__(self, session: Session, _context: object) -> None:
        if self.failed < self.times and any(isinstance(o, OutboundEmail) for o in session.new):
            self.failed += 1
            raise deadlock()


@pytest.fixture
def failing_outbox() -> Iterator[FailingOutbox]:
    injector = FailingOutbox()
    event.listen(Session, "after_flush", injector)
    yield injector
    event.remove(Session, "after_flush", injector)


@pytest.fixture
def booked(app, business, db_session):
    """A family booking of an hour with the tutor, paid from a 24-hour package."""
    with app.app_context():
        add_hours_rows(db_session, business)
    return business


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "prepbase.retry"]


# --- the mechanism -----------------------------------------------------------------------


def test_a_deadlock_runs_the_unit_again_and_keeps_only_the_last_try(
    app, business, db_session, caplog
):
    tries = []

    def work() -> str:
        with as_tenant(business.tenant.id):
            queue_email(db_session, "try@example.com", f"Try {len(tries) + 1}", "Body")
            db_session.flush()
            tries.append(1)
            if len(tries) == 1:
                raise deadlock()
            db_session.commit()
        return "done"

    with caplog.at_level(logging.WARNING, logger="prepbase.retry"):
        assert retrying(db_session, work, what="test unit") == "done"
    assert len(tries) == 2
    with as_tenant(business.tenant.id):
        subjects = db_session.scalars(
            select(OutboundEmail.subject).where(OutboundEmail.to_addr == "try@example.com")
        ).all()
    assert subjects == ["Try 2"]  # the first try's message was rolled back
    assert warnings_of(caplog) == ["test unit: deadlock (40P01) on try 1 of 3; running it again"]


def test_a_deadlock_on_every_try_gives_up_after_three(app, business, db_session, caplog):
    tries = []

    def work() -> None:
        with as_tenant(business.tenant.id):
            queue_email(db_session, "try@example.com", "Never", "Body")
            db_session.flush()
            tries.append(1)
            raise deadlock()

    with pytest.raises(OperationalError), caplog.at_level(logging.WARNING):
        retrying(db_session, work, what="test unit")
    assert len(tries) == TRIES == 3
    with as_tenant(business.tenant.id):
        count = db_session.scalar(select(func.count(OutboundEmail.id)))
    assert count == 0
    assert warnings_of(caplog)[-1] == "test unit: deadlock (40P01) on each of 3 tries"


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT …", None, psycopg.errors.UniqueViolation()),
        OperationalError("SELECT …", None, psycopg.errors.QueryCanceled()),
        ZeroDivisionError("not a database error"),
    ],
)
def test_other_errors_are_not_run_again(db_session, error):
    tries = []

    def work() -> None:
        tries.append(1)
        raise error

    with pytest.raises(type(error)):
        retrying(db_session, work)
    assert len(tries) == 1


def test_a_unit_that_committed_part_of_its_work_is_not_run_again(app, business, db_session):
    tries = []

    def work() -> None:
        with as_tenant(business.tenant.id):
            queue_email(db_session, "try@example.com", "Committed", "Body")
            db_session.commit()
            tries.append(1)
            raise deadlock()

    with pytest.raises(OperationalError):
        retrying(db_session, work)
    assert len(tries) == 1


def test_a_serialization_failure_is_run_again(db_session):
    results = iter([OperationalError("COMMIT", None, psycopg.errors.SerializationFailure())])

    def work() -> str:
        error = next(results, None)
        if error is not None:
            raise error
        return "done"

    assert retrying(db_session, work) == "done"


# --- through a request -------------------------------------------------------------------


def cancel_as_tutor(client, auth, business):
    auth.as_role(business, "tutor")
    session_id = business.extra["session_id"]
    return client.post(
        f"/acme/tutor/sessions/{session_id}/cancel", data={"cancel-reason": "Tutor is ill"}
    )


def state(db_session, business) -> tuple[str, int, list[tuple[str, int]], int]:
    """The session's status, the package's balance, its ledger, and the outbox size."""
    with as_tenant(business.tenant.id):
        ts = db_session.get(TutoringSession, business.extra["session_id"])
        package = db_session.get(Package, business.extra["package_id"])
        db_session.refresh(ts)
        db_session.refresh(package)
        ledger = db_session.execute(
            select(LedgerEntry.kind, LedgerEntry.minutes)
            .where(LedgerEntry.package_id == package.id)
            .order_by(LedgerEntry.id)
        ).all()
        outbox = db_session.scalar(select(func.count(OutboundEmail.id)))
    return ts.status, package.remaining_minutes, [tuple(e) for e in ledger], outbox


def test_a_request_that_deadlocks_once_is_run_again_and_mails_once(
    client, auth, booked, db_session, failing_outbox, mailbox, caplog
):
    """Issue 11: the tutor's cancel is given up by the database once; the second try
    cancels, refunds once, and the family gets one e-mail each, not two."""
    failing_outbox.times = 1
    with caplog.at_level(logging.WARNING, logger="prepbase.retry"):
        response = cancel_as_tutor(client, auth, booked)
    assert response.status_code == 303
    assert failing_outbox.failed == 1
    assert len(warnings_of(caplog)) == 1
    status, remaining, ledger, _ = state(db_session, booked)
    assert (status, remaining) == (SessionStatus.CANCELLED, 24 * 60)
    assert ledger == [(EntryKind.GRANT, 1440), (EntryKind.DEBIT, -60), (EntryKind.REFUND, 60)]
    # The booking's own e-mails ("Booked: …") may leave with this request: aside.
    about_cancel = [m for m in mailbox.messages if not m["Subject"].startswith("Booked:")]
    addresses = [m["To"] for m in about_cancel]
    assert booked.parent.email in addresses and booked.student_user.email in addresses
    assert len(addresses) == len(set(addresses))  # one message each
    assert all(m["Subject"].startswith("Cancelled:") for m in about_cancel)


def test_a_request_that_deadlocks_every_time_gets_the_error_page_and_changes_nothing(
    app, client, auth, booked, db_session, failing_outbox, mailbox, monkeypatch, caplog
):
    outbox_before = state(db_session, booked)[3]  # the factories' own queued message
    failing_outbox.times = 99
    monkeypatch.setattr(app, "testing", False)  # the 500 handler answers, as in production
    with caplog.at_level(logging.WARNING, logger="prepbase.retry"):
        response = cancel_as_tutor(client, auth, booked)
    assert response.status_code == 500
    assert "Nothing was changed; please try again." in response.get_data(as_text=True)
    assert failing_outbox.failed == TRIES
    assert len(warnings_of(caplog)) == TRIES  # two "running it again", one "on each"
    status, remaining, ledger, outbox = state(db_session, booked)
    assert (status, remaining) == (SessionStatus.UPCOMING, 23 * 60)
    assert ledger == [(EntryKind.GRANT, 1440), (EntryKind.DEBIT, -60)]
    assert outbox == outbox_before
    assert mailbox.messages == []


# --- in a CLI job ------------------------------------------------------------------------


def test_renew_runs_a_business_again_after_a_deadlock(app, business, db_session, caplog):
    """`flask prepbase renew` renews each business in one unit of work: a deadlock on a
    renewal runs that business again, and the period is renewed once."""
    with app.app_context(), as_tenant(business.tenant.id):
        package = packages.assign_package(
            db_session,
            business.admin,
            business.students[0],
            name="Weekly",
            service="tutoring",
            package_type="recurring",
            period="weekly",
            minutes=120,
            start_date=date(2026, 1, 5),
        )
        db_session.commit()
    failures = iter([deadlock()])

    def fail_first_renewal(session: Session, _context: object) -> None:
        if any(isinstance(o, LedgerEntry) and o.kind == EntryKind.RENEWAL for o in session.new):
            error = next(failures, None)
            if error is not None:
                raise error

    event.listen(Session, "after_flush", fail_first_renewal)
    try:
        with caplog.at_level(logging.WARNING, logger="prepbase.retry"):
            result = app.test_cli_runner().invoke(
                args=["prepbase", "renew", "--today", "2026-01-13"]
            )
    finally:
        event.remove(Session, "after_flush", fail_first_renewal)
    assert result.exit_code == 0, result.output
    assert "1 renewal(s)" in result.output
    assert warnings_of(caplog) == ["renew acme: deadlock (40P01) on try 1 of 3; running it again"]
    with as_tenant(business.tenant.id):
        kinds = db_session.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.package_id == package.id)
        ).all()
    assert kinds.count(EntryKind.RENEWAL) == 1  # and the audit after the test passes
