"""Design §12: proposals that expire. A pending proposal the family has not answered
becomes DECLINED ("expired") after the business's setting or when its start passes;
no hours move and the time is free again; the family is reminded once halfway; the
staff member is told. The clock is pinned (time-machine): T0 is when it was proposed.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import scheduling
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.models import (
    LedgerEntry,
    OutboundEmail,
    SessionStatus,
    Student,
    Tenant,
    TutoringSession,
    User,
)
from prepbase.tenancy import as_tenant
from tests.test_hours_rules import give
from tests.test_races import load

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
START = T0 + timedelta(days=5)


@pytest.fixture
def world(app, business, db_session):
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def propose(db_session, world, *, at=START, minutes=60):
    with time_machine.travel(T0, tick=False):
        ts = scheduling.propose_session(
            db_session,
            world.tenant,
            world.tutor,
            student=world.students[0],
            staff=world.tutor,
            service="tutoring",
            starts_at=at,
            duration_minutes=minutes,
            now=T0,
        )
        db_session.flush()
    return ts


def run(db_session, world, at):
    with time_machine.travel(at, tick=False):
        return scheduling.expire_proposals(db_session, world.tenant, at)


def mails(db_session, subject):
    return sorted(
        db_session.scalars(
            select(OutboundEmail.to_addr).where(OutboundEmail.subject.startswith(subject))
        )
    )


def test_unanswered_proposal_expires_after_the_setting_and_frees_the_time(world, db_session):
    assert world.tenant.proposal_expiry_hours == 72
    give(db_session, world, "5")
    ts = propose(db_session, world)
    assert run(db_session, world, T0 + timedelta(hours=71, minutes=59)).expired == 0
    report = run(db_session, world, T0 + timedelta(hours=72))
    assert report.expired == 1
    db_session.refresh(ts)
    assert (ts.status, ts.declined_reason) == (SessionStatus.DECLINED, scheduling.EXPIRED)
    assert (
        db_session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.session_id == ts.id))
        == 0
    )
    assert mails(db_session, "Expired:") == [world.tutor.email]
    # Idempotent: a second run (another host, a minute later) expires nothing more.
    assert run(db_session, world, T0 + timedelta(hours=72, minutes=1)).expired == 0
    assert mails(db_session, "Expired:") == [world.tutor.email]
    # The time is free again: the same slot can be proposed anew.
    again = propose(db_session, world)
    assert again.status == SessionStatus.PENDING


def test_the_family_is_reminded_once_halfway(world, db_session):
    give(db_session, world, "5")
    ts = propose(db_session, world)
    assert run(db_session, world, T0 + timedelta(hours=35)).reminded == 0
    assert run(db_session, world, T0 + timedelta(hours=36)).reminded == 1
    assert run(db_session, world, T0 + timedelta(hours=40)).reminded == 0
    family = mails(db_session, "Waiting for your answer")
    assert world.parent.email in family and world.tutor.email not in family
    assert len(family) == len(set(family))  # one each
    db_session.refresh(ts)
    assert ts.status == SessionStatus.PENDING and ts.proposal_reminder_sent_at is not None


def test_a_proposal_whose_start_passes_expires_at_once(world, db_session):
    give(db_session, world, "5")
    soon = propose(db_session, world, at=T0 + timedelta(hours=6))
    # Its deadline is its start; halfway to that the family is reminded.
    assert scheduling.proposal_deadline(world.tenant, soon) == soon.starts_at
    assert run(db_session, world, T0 + timedelta(hours=3)).reminded == 1
    assert run(db_session, world, soon.starts_at).expired == 1


def test_zero_means_never_by_age_but_the_start_still_ends_it(world, db_session):
    world.tenant.proposal_expiry_hours = 0
    give(db_session, world, "5")
    ts = propose(db_session, world)
    report = run(db_session, world, START - timedelta(minutes=1))
    assert (report.expired, report.reminded) == (0, 0)
    assert run(db_session, world, START + timedelta(minutes=1)).expired == 1
    db_session.refresh(ts)
    assert ts.status == SessionStatus.DECLINED


def test_an_accepted_proposal_does_not_expire_and_an_expired_one_cannot_be_accepted(
    world, db_session
):
    package = give(db_session, world, "5")
    accepted = propose(db_session, world)
    late = propose(db_session, world, at=START + timedelta(days=1))
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        scheduling.accept_session(db_session, world.tenant, world.parent, accepted)
    assert run(db_session, world, T0 + timedelta(hours=80)).expired == 1
    db_session.refresh(accepted)
    db_session.refresh(late)
    assert accepted.status == SessionStatus.UPCOMING and late.status == SessionStatus.DECLINED
    with pytest.raises(DomainError, match="declined"):
        scheduling.accept_session(
            db_session, world.tenant, world.parent, late, now=T0 + timedelta(hours=81)
        )
    db_session.rollback()
    db_session.refresh(package)
    assert package.remaining_minutes == 240  # only the accepted one's hour


def test_flask_prepbase_expire(app, world, db_session):
    give(db_session, world, "5")
    propose(db_session, world)
    db_session.commit()
    runner = app.test_cli_runner()
    with time_machine.travel(T0 + timedelta(hours=73), tick=False):
        result = runner.invoke(args=["prepbase", "expire"])
    assert result.exit_code == 0, result.output
    assert "1 proposal(s) expired" in result.output


def test_two_hosts_running_expire_at_once_expire_and_remind_each_once(app, engine, committed):
    b = committed
    ids = []
    # Ada's proposal is 73 hours old when the hosts run (expires); Ben's 43 (past halfway).
    for student_id, proposed in (
        (b.students[0].id, T0),
        (b.students[1].id, T0 + timedelta(hours=30)),
    ):
        with (
            time_machine.travel(proposed, tick=False),
            app.app_context(),
            as_tenant(b.tenant.id),
            Session(engine) as session,
        ):
            tutor = load(session, User, b.tutor.id)
            ts = scheduling.propose_session(
                session,
                load(session, Tenant, b.tenant.id),
                tutor,
                student=load(session, Student, student_id),
                staff=tutor,
                service="tutoring",
                starts_at=T0 + timedelta(days=20, hours=len(ids)),
                duration_minutes=60,
                now=proposed,
            )
            ids.append(ts.id)
            session.commit()

    outcomes: list[object] = []
    barrier = threading.Barrier(4)

    def host() -> None:
        with app.app_context(), as_tenant(b.tenant.id):
            barrier.wait()
            try:
                tenant = db.session.scalars(select(Tenant).where(Tenant.id == b.tenant.id)).one()
                outcomes.append(scheduling.expire_proposals(db.session, tenant))
            except Exception as exc:  # recorded, so the assertion shows it
                outcomes.append(exc)
            finally:
                db.session.remove()

    with time_machine.travel(T0 + timedelta(hours=73), tick=True):
        threads = [threading.Thread(target=host) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert sum(o.expired for o in outcomes) == 1, outcomes  # type: ignore[union-attr]
    assert sum(o.reminded for o in outcomes) == 1, outcomes  # type: ignore[union-attr]
    with as_tenant(b.tenant.id), Session(engine) as session:
        statuses = session.scalars(
            select(TutoringSession.status)
            .where(TutoringSession.id.in_(ids))
            .order_by(TutoringSession.id)
        ).all()
        assert statuses == [SessionStatus.DECLINED, SessionStatus.PENDING]
        expired_mails = session.scalar(
            select(func.count(OutboundEmail.id)).where(OutboundEmail.subject.startswith("Expired"))
        )
        assert expired_mails == 1
        reminders = session.scalars(
            select(OutboundEmail.to_addr).where(OutboundEmail.subject.startswith("Waiting"))
        ).all()
        assert sorted(reminders) == sorted(set(reminders)) and len(reminders) == 2  # Pat, Ivy
