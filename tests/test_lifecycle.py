"""The session lifecycle as one table (prepbase/lifecycle.py): what each side may do with
a session now, and the domain verbs refusing exactly what the table refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from prepbase import lifecycle, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.lifecycle import Action, allowed_actions
from prepbase.models import Role, SessionStatus, Student, TutoringSession, User
from prepbase.tenancy import as_tenant
from tests.test_hours_rules import NOW, TOMORROW, book, give, propose

A = Action
START = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
BEFORE = START - timedelta(hours=2)
AFTER = START + timedelta(minutes=10)

STAFF_OPEN = {A.CANCEL, A.CHANGE_DURATION, A.RESCHEDULE}
RECORD = {A.TAKE_ATTENDANCE, A.SUBMIT_PLAN}
NEW_BOOKING = {A.CONFIRM, A.DECLINE_BOOKING}


# --- the table, on its own ----------------------------------------------------------------


def people() -> dict[str, User]:
    """One person of every side, and two who may not see the session."""
    return {
        "parent": User(id=1, role=Role.PARENT, family_id=10),
        "student": User(id=2, role=Role.STUDENT, student_id=100),
        "tutor": User(id=3, role=Role.TUTOR),
        "admin": User(id=4, role=Role.ADMIN),
        "other parent": User(id=5, role=Role.PARENT, family_id=11),
        "other tutor": User(id=6, role=Role.TUTOR),
    }


def session_of(status: str, **columns: object) -> TutoringSession:
    """A session of Ada (student 100, family 10) with Tara (user 3) at START."""
    values: dict[str, object] = {
        "id": 1,
        "staff_id": 3,
        "student_id": 100,
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "duration_minutes": 60,
        "booked_by_family": False,
        "confirmed_at": None,
        "attendance": None,
        "plan_submitted_at": None,
    }
    values.update(columns)
    ts = TutoringSession(status=status, **values)
    ts.student = Student(id=100, family_id=10, first_name="Ada", last_name="Acme")
    return ts


NEW = {"booked_by_family": True}
CONFIRMED = {"booked_by_family": True, "confirmed_at": BEFORE}
ATTENDED = {"attendance": "present", "attendance_at": AFTER}
PLANNED = {"plan_submitted_at": AFTER, "plan_topics": "Essays"}

# (status, columns, now) → (what the family may do, what its staff member and admins may do)
CASES = {
    "pending, before its start": (
        SessionStatus.PENDING,
        {},
        BEFORE,
        {A.ACCEPT, A.DECLINE, A.CANCEL},
        STAFF_OPEN,
    ),
    # A proposal whose start passed is declined or moved, never accepted (§12).
    "pending, after its start": (SessionStatus.PENDING, {}, AFTER, {A.DECLINE}, STAFF_OPEN),
    "upcoming, before its start": (SessionStatus.UPCOMING, {}, BEFORE, {A.CANCEL}, STAFF_OPEN),
    "new family booking, before its start": (
        SessionStatus.UPCOMING,
        NEW,
        BEFORE,
        {A.CANCEL},
        STAFF_OPEN | NEW_BOOKING,
    ),
    "confirmed family booking, before its start": (
        SessionStatus.UPCOMING,
        CONFIRMED,
        BEFORE,
        {A.CANCEL},
        STAFF_OPEN,
    ),
    # Families cannot cancel once it has started; staff can until attendance is recorded.
    "upcoming, started": (SessionStatus.UPCOMING, {}, AFTER, set(), STAFF_OPEN | RECORD),
    "new family booking, started": (
        SessionStatus.UPCOMING,
        NEW,
        AFTER,
        set(),
        STAFF_OPEN | RECORD | NEW_BOOKING,
    ),
    "started, attendance recorded": (
        SessionStatus.UPCOMING,
        ATTENDED,
        AFTER,
        set(),
        {A.CHANGE_DURATION, A.SUBMIT_PLAN},
    ),
    "started, action plan submitted": (
        SessionStatus.UPCOMING,
        PLANNED,
        AFTER,
        set(),
        STAFF_OPEN | {A.TAKE_ATTENDANCE},
    ),
    "completed": (SessionStatus.COMPLETED, ATTENDED | PLANNED, AFTER, set(), set()),
    "completed, asked before its start": (
        SessionStatus.COMPLETED,
        ATTENDED | PLANNED,
        BEFORE,
        set(),
        set(),
    ),
    "cancelled, before its start": (SessionStatus.CANCELLED, {}, BEFORE, set(), set()),
    "cancelled, after its start": (SessionStatus.CANCELLED, {}, AFTER, set(), set()),
    "declined, before its start": (SessionStatus.DECLINED, {}, BEFORE, set(), set()),
    "declined, after its start": (SessionStatus.DECLINED, {}, AFTER, set(), set()),
}


# Admins alone may also reassign a session (issue 13): an open one not taken place yet;
# and accept a proposal for the family, when the family could (issue 19).
ADMIN_ALSO = {
    case: {A.REASSIGN} | ({A.ACCEPT_FOR_FAMILY} if case == "pending, before its start" else set())
    for case in (
        "pending, before its start",
        "pending, after its start",
        "upcoming, before its start",
        "new family booking, before its start",
        "confirmed family booking, before its start",
        "upcoming, started",
        "new family booking, started",
        "started, action plan submitted",
    )
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(
    "who", ["parent", "student", "tutor", "admin", "other parent", "other tutor"]
)
def test_allowed_actions_by_status_side_and_time(case, who):
    status, columns, now, family, staff = CASES[case]
    expected = {
        "parent": family,
        "student": family,
        "tutor": staff,
        "admin": staff | ADMIN_ALSO.get(case, set()),
        "other parent": set(),  # another family's session: not theirs to see
        "other tutor": set(),
    }[who]
    assert allowed_actions(session_of(status, **columns), people()[who], now) == expected


def test_a_completed_session_can_never_be_cancelled():
    ts = session_of(SessionStatus.COMPLETED, **ATTENDED, **PLANNED)
    for who, person in people().items():
        for now in (BEFORE, AFTER):
            assert A.CANCEL not in allowed_actions(ts, person, now), who
            if who.startswith("other"):
                with pytest.raises(NotFound):
                    lifecycle.check(ts, person, A.CANCEL, now)
            else:
                with pytest.raises(DomainError, match="completed; it cannot be cancelled"):
                    lifecycle.check(ts, person, A.CANCEL, now)


@pytest.mark.parametrize(
    ("status", "columns", "who", "action", "now", "message"),
    [
        (SessionStatus.UPCOMING, {}, "parent", A.CANCEL, AFTER, "has started"),
        (SessionStatus.UPCOMING, ATTENDED, "tutor", A.CANCEL, AFTER, "took place"),
        (SessionStatus.UPCOMING, ATTENDED, "admin", A.RESCHEDULE, AFTER, "cannot be moved"),
        (SessionStatus.PENDING, {}, "student", A.ACCEPT, AFTER, "time has passed"),
        (SessionStatus.UPCOMING, {}, "parent", A.ACCEPT, BEFORE, "upcoming; it cannot be"),
        (SessionStatus.UPCOMING, {}, "tutor", A.TAKE_ATTENDANCE, BEFORE, "once the session"),
        (SessionStatus.UPCOMING, ATTENDED, "tutor", A.TAKE_ATTENDANCE, AFTER, "taken already"),
        (SessionStatus.PENDING, {}, "tutor", A.SUBMIT_PLAN, AFTER, "pending; attendance and"),
        (SessionStatus.UPCOMING, CONFIRMED, "tutor", A.CONFIRM, BEFORE, "confirmed already"),
        (SessionStatus.UPCOMING, CONFIRMED, "tutor", A.DECLINE_BOOKING, BEFORE, "cancel it"),
        (SessionStatus.CANCELLED, {}, "tutor", A.CONFIRM, BEFORE, "booked by a family"),
        (SessionStatus.PENDING, {}, "tutor", A.ACCEPT, BEFORE, "cannot do that"),
        (SessionStatus.PENDING, {}, "tutor", A.ACCEPT_FOR_FAMILY, BEFORE, "cannot do that"),
        (SessionStatus.PENDING, {}, "parent", A.ACCEPT_FOR_FAMILY, BEFORE, "cannot do that"),
        (SessionStatus.PENDING, {}, "admin", A.ACCEPT, BEFORE, "cannot do that"),
        (SessionStatus.PENDING, {}, "admin", A.ACCEPT_FOR_FAMILY, AFTER, "time has passed"),
        (SessionStatus.UPCOMING, {}, "admin", A.ACCEPT_FOR_FAMILY, BEFORE, "upcoming; it cannot"),
    ],
)
def test_each_refusal_says_why(status, columns, who, action, now, message):
    with pytest.raises(DomainError, match=message) as refused:
        lifecycle.check(session_of(status, **columns), people()[who], action, now)
    assert not isinstance(refused.value, NotFound)


def test_one_row_per_action_and_side():
    rows = [(row.action, side) for row in lifecycle.TABLE for side in row.sides]
    assert len(rows) == len(set(rows))
    assert {action for action, _side in rows} == set(Action)


# --- the verbs obey the table -------------------------------------------------------------


@pytest.fixture
def world(app, business, db_session):
    """Acme with tenant scope entered, as the domain functions run inside a request."""
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


Verb = Callable[..., None]


def verbs(db_session, tenant) -> dict[Action, Verb]:
    """Each action's domain verb, with input that is fine whenever the move is allowed."""
    return {
        A.ACCEPT: lambda actor, ts, now: scheduling.accept_session(
            db_session, tenant, actor, ts, now=now
        ),
        A.ACCEPT_FOR_FAMILY: lambda actor, ts, now: scheduling.accept_for_family(
            db_session, tenant, actor, ts, now=now
        ),
        A.DECLINE: lambda actor, ts, now: scheduling.decline_session(
            db_session, tenant, actor, ts, now=now
        ),
        A.CANCEL: lambda actor, ts, now: scheduling.cancel_session(
            db_session, tenant, actor, ts, now=now
        ),
        A.CONFIRM: lambda actor, ts, now: scheduling.confirm_session(
            db_session, tenant, actor, ts, now=now
        ),
        A.DECLINE_BOOKING: lambda actor, ts, now: scheduling.reject_booking(
            db_session, tenant, actor, ts, "Away that week", now=now
        ),
        A.CHANGE_DURATION: lambda actor, ts, now: scheduling.change_duration(
            db_session, tenant, actor, ts, 45, now=now
        ),
        A.RESCHEDULE: lambda actor, ts, now: scheduling.reschedule(
            db_session, tenant, actor, ts, NOW + timedelta(days=5), now=now
        ),
        A.TAKE_ATTENDANCE: lambda actor, ts, now: scheduling.take_attendance(
            db_session, tenant, actor, ts, "present", now=now
        ),
        A.SUBMIT_PLAN: lambda actor, ts, now: scheduling.submit_action_plan(
            db_session, tenant, actor, ts, topics="Essays", goals="", next_steps="", now=now
        ),
    }


def _state(db_session, business, state: str) -> TutoringSession:
    started = TOMORROW + timedelta(minutes=5)
    if state == "pending":
        return propose(db_session, business, 60)
    if state == "declined":
        ts = propose(db_session, business, 60)
        scheduling.decline_session(db_session, business.tenant, business.parent, ts, now=NOW)
        return ts
    if state == "accepted":
        ts = propose(db_session, business, 60)
        scheduling.accept_session(db_session, business.tenant, business.parent, ts, now=NOW)
        return ts
    ts = book(db_session, business, 60)  # a new family booking
    if state == "confirmed":
        scheduling.confirm_session(db_session, business.tenant, business.tutor, ts, now=NOW)
    elif state == "cancelled":
        scheduling.cancel_session(db_session, business.tenant, business.parent, ts, now=NOW)
    elif state in ("attended", "completed"):
        scheduling.take_attendance(
            db_session, business.tenant, business.tutor, ts, "late", now=started
        )
    if state in ("planned", "completed"):
        scheduling.submit_action_plan(
            db_session,
            business.tenant,
            business.tutor,
            ts,
            topics="Essays",
            goals="",
            next_steps="",
            now=started,
        )
    return ts


STATES = [
    "pending",
    "declined",
    "accepted",
    "new booking",
    "confirmed",
    "cancelled",
    "attended",
    "planned",
    "completed",
]


@pytest.mark.parametrize("state", STATES)
def test_each_verb_does_exactly_what_the_table_allows(world, db_session, state):
    give(db_session, world, "24")
    ts = _state(db_session, world, state)
    db_session.flush()
    actors = {
        "parent": world.parent,
        "student": world.student_user,
        "tutor": world.tutor,
        "admin": world.admin,
        "other tutor": world.counselor,
    }
    moves = verbs(db_session, world.tenant)
    for when in (NOW, TOMORROW + timedelta(minutes=10)):
        for who, actor in actors.items():
            db_session.refresh(ts)
            allowed = allowed_actions(ts, actor, when)
            for action, verb in moves.items():
                savepoint = db_session.begin_nested()
                try:
                    verb(actor, ts, when)
                except DomainError as refused:
                    assert action not in allowed, (state, when, who, action, refused.message)
                    if lifecycle.side_of(actor, ts) is None:  # not theirs to see: a 404
                        assert isinstance(refused, NotFound), (state, who, action)
                else:
                    assert action in allowed, (state, when, who, action)
                finally:
                    savepoint.rollback()
                db_session.refresh(ts)
