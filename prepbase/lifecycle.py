"""What may happen to a session now, and who may do it: the lifecycle (design §3) as one
table.

Each row of `TABLE` is one move: the action, the sides that may make it, the statuses it
starts from, and the conditions that must hold, each with the sentence that refuses the
move when it does not. The domain verbs (`prepbase.scheduling`) call `check` before they
change anything, and the pages offer exactly `allowed_actions`: a button is shown if and
only if the verb behind it would accept. The cancellation policy (design §12) changes
what a cancellation costs (`prepbase.cancellation`), not who may cancel when: families
until the start, staff until attendance. An unanswered proposal that expires
(`scheduling.expire_proposals`) is nobody's move, like `fill_waiting`, so it has no
row. Creating a session (Book Session, Propose Session, Log Past Session) is no move of
an existing one and has no row: its verb in `prepbase.scheduling` says who may create
what.

Weekly series (design §10): an occurrence is an ordinary session, so every row applies to
it; three more rows act on "this and following" occurrences or on the whole series, and
an occurrence waiting for hours (`SessionStatus.WAITING`: no hours held, no time reserved)
may be cancelled, moved or resized like an open one. It becomes upcoming only when hours
arrive (`scheduling.fill_waiting`), which is not anyone's move, so it has no row.

Sides: the family (a parent of the student's family, or the student), the session's own
staff member, and admins (every session of their business). Someone who may not see the
session has no side: `check` answers `NotFound`, as for a row of another business.

Everything here reads only the session's own columns (and, for a parent, its student,
which every list loads with the session), so a page can ask about many sessions without a
query per session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from prepbase.errors import DomainError, NotFound
from prepbase.family_scope import guards
from prepbase.models import OPEN_STATUSES, STAFF_ROLES, Role, SessionStatus, TutoringSession, User


class Action(StrEnum):
    """A move on one session. The values are what templates test (`"cancel" in allowed`)."""

    ACCEPT = "accept"  # the family accepts a proposal (rule 2)
    ACCEPT_FOR_FAMILY = "accept_for_family"  # an admin accepts it for the family (rule 2)
    DECLINE = "decline"  # the family declines a proposal (rule 2)
    CANCEL = "cancel"  # rule 3
    CONFIRM = "confirm"  # staff confirm a family booking (rule 9)
    DECLINE_BOOKING = "decline_booking"  # staff decline a family booking (rule 9)
    CHANGE_DURATION = "change_duration"  # rule 6
    RESCHEDULE = "reschedule"  # rule 6
    TAKE_ATTENDANCE = "take_attendance"  # rule 4
    SUBMIT_PLAN = "submit_plan"  # rule 4
    ACCEPT_SERIES = "accept_series"  # the family accepts every proposal of a series (§10)
    CANCEL_FOLLOWING = "cancel_following"  # this occurrence and the series' following ones
    RESCHEDULE_FOLLOWING = "reschedule_following"  # move this and the following ones
    REASSIGN = "reassign"  # admins hand the session to another staff member (no hours move)


class Side(StrEnum):
    """Whose move it is."""

    FAMILY = "family"
    STAFF = "staff"  # the session's own tutor or counselor
    ADMIN = "admin"


FAMILY = frozenset({Side.FAMILY})
STAFF = frozenset({Side.STAFF, Side.ADMIN})  # admins act as the staff member would
ADMIN = frozenset({Side.ADMIN})
UPCOMING = (SessionStatus.UPCOMING,)
PENDING = (SessionStatus.PENDING,)
# Still to come: open (pending, upcoming), or a series occurrence waiting for hours.
# These may be cancelled or moved; a waiting one holds no hours and reserves no time.
STILL_TO_COME = (*OPEN_STATUSES, SessionStatus.WAITING)


def is_new_booking(ts: TutoringSession) -> bool:
    """A family booking its staff member has not confirmed yet (design §3 rule 9)."""
    return ts.status == SessionStatus.UPCOMING and ts.booked_by_family and ts.confirmed_at is None


def needs_completion(ts: TutoringSession, now: datetime) -> bool:
    """An upcoming session whose start has passed: it waits for attendance and the action
    plan (rule 4), which complete it. Staff see these first (My Sessions, the Calendar)."""
    return ts.status == SessionStatus.UPCOMING and ts.starts_at <= now


@dataclass(frozen=True)
class Condition:
    """Something that must hold for a move, and the sentence that refuses it otherwise."""

    holds: Callable[[TutoringSession, datetime], bool]
    refusal: str


_not_taken_place = Condition(
    lambda ts, now: ts.attendance is None,
    "This session took place (attendance is recorded); it cannot be cancelled. "
    "Submit the action plan to complete it.",
)
_family_before_start = Condition(
    lambda ts, now: ts.starts_at > now,
    "This session has started, so it can no longer be cancelled. If it did not take "
    "place, ask your tutor or counselor to cancel it.",
)
_proposal_before_start = Condition(
    lambda ts, now: ts.starts_at > now, "This proposal's time has passed; ask for a new time."
)
_booked_by_family = Condition(
    lambda ts, now: ts.booked_by_family,
    "Only upcoming sessions booked by a family need confirming.",
)
_not_confirmed = Condition(
    lambda ts, now: ts.confirmed_at is None, "This booking is confirmed already."
)
_new_booking_to_decline = Condition(
    lambda ts, now: is_new_booking(ts),
    "Only new family bookings can be declined; cancel it instead.",
)
_not_moved_after_it_took_place = Condition(
    lambda ts, now: ts.attendance is None,
    "This session took place (attendance is recorded); it cannot be moved.",
)
_not_reassigned_after_it_took_place = Condition(
    lambda ts, now: ts.attendance is None,
    "This session took place (attendance is recorded); it stays with the staff member "
    "who gave it. Submit the action plan to complete it.",
)
_started = Condition(
    lambda ts, now: ts.starts_at <= now,
    "Attendance and the action plan can be recorded once the session has started.",
)
_attendance_missing = Condition(
    lambda ts, now: ts.attendance is None, "Attendance is taken already for this session."
)
_length_of_one_to_one = Condition(
    lambda ts, now: ts.group_id is None,
    "A group session keeps the length it was proposed with (each student's hours were "
    "taken for it); cancel it and propose a new one to change it.",
)
_reassign_one_to_one = Condition(
    lambda ts, now: ts.group_id is None,
    "A group session stays with its staff member; cancel it and propose it again with another one.",
)
_in_series = Condition(
    lambda ts, now: ts.series_id is not None, "This session is not part of a weekly series."
)
_plan_missing = Condition(
    lambda ts, now: ts.plan_submitted_at is None,
    "The action plan is submitted already for this session.",
)


def wrong_status(current: str, verb: str) -> str:
    """ "This session is cancelled; it cannot be accepted now." """
    if current == SessionStatus.COMPLETED:
        return f"This session is completed; it cannot be {verb}."
    return f"This session is {SessionStatus(current).label.lower()}; it cannot be {verb} now."


def _not_recordable(current: str) -> str:
    if current == SessionStatus.COMPLETED:
        return "This session is completed already."
    return (
        f"This session is {SessionStatus(current).label.lower()}; "
        "attendance and action plans are for upcoming sessions."
    )


@dataclass(frozen=True)
class Transition:
    """One row of the table: `action` by `sides`, from `statuses`, when `conditions` hold."""

    action: Action
    sides: frozenset[Side]
    statuses: tuple[SessionStatus, ...]
    conditions: tuple[Condition, ...] = ()
    verb: str = "changed"  # for the refusal from another status: "… cannot be <verb> now"
    from_elsewhere: Callable[[str], str] | None = None  # that refusal, when it reads otherwise

    def refusal(self, ts: TutoringSession, now: datetime) -> str | None:
        """Why this move is refused for `ts` at `now`, or None when it is allowed."""
        if ts.status not in self.statuses:
            if self.from_elsewhere is not None:
                return self.from_elsewhere(ts.status)
            return wrong_status(ts.status, self.verb)
        for condition in self.conditions:
            if not condition.holds(ts, now):
                return condition.refusal
        return None


TABLE: tuple[Transition, ...] = (
    # Rule 2: the family answers a proposal. One whose start has passed cannot be accepted
    # (§12); declining it is still fine.
    Transition(Action.ACCEPT, FAMILY, PENDING, (_proposal_before_start,), verb="accepted"),
    # The business may answer for the family (an owner taking the yes on the phone), on
    # the same conditions; the hours are debited as when the family accepts. Its own
    # action, not a side of ACCEPT: the family's Accept buttons stay the family's.
    Transition(
        Action.ACCEPT_FOR_FAMILY, ADMIN, PENDING, (_proposal_before_start,), verb="accepted"
    ),
    Transition(Action.DECLINE, FAMILY, PENDING, verb="declined"),
    # Rule 3 and §12: families cancel until the session starts; its staff member and admins
    # until attendance is recorded. Rule 4: a completed session is never cancelled.
    # A series occurrence waiting for hours is cancelled the same way (nothing to refund).
    Transition(
        Action.CANCEL,
        FAMILY,
        STILL_TO_COME,
        (_not_taken_place, _family_before_start),
        verb="cancelled",
    ),
    Transition(Action.CANCEL, STAFF, STILL_TO_COME, (_not_taken_place,), verb="cancelled"),
    # Rule 9: a new family booking is confirmed, or declined with a reason (which cancels).
    Transition(
        Action.CONFIRM,
        STAFF,
        UPCOMING,
        (_booked_by_family, _not_confirmed),
        from_elsewhere=lambda _status: _booked_by_family.refusal,
    ),
    Transition(
        Action.DECLINE_BOOKING,
        STAFF,
        UPCOMING,
        (_new_booking_to_decline, _not_taken_place),
        verb="declined",
    ),
    # Rule 6: an open session changes length or time; one that took place stays put. A
    # waiting one too (it holds no hours, so its length moves none).
    # A group session (design §11) moves as a whole (`scheduling.reschedule_group`) and
    # keeps its length and staff member.
    Transition(Action.CHANGE_DURATION, STAFF, STILL_TO_COME, (_length_of_one_to_one,)),
    Transition(Action.RESCHEDULE, STAFF, STILL_TO_COME, (_not_moved_after_it_took_place,)),
    # Rule 4: attendance and the action plan, once each, after the start.
    Transition(
        Action.TAKE_ATTENDANCE,
        STAFF,
        UPCOMING,
        (_started, _attendance_missing),
        from_elsewhere=_not_recordable,
    ),
    Transition(
        Action.SUBMIT_PLAN,
        STAFF,
        UPCOMING,
        (_started, _plan_missing),
        from_elsewhere=_not_recordable,
    ),
    # Design §10: a series is answered, cancelled or moved "this and following" at once,
    # by the same sides and under the same conditions as one of its sessions. Accepting
    # the series pays each occurrence by rule 5 or leaves it waiting for hours.
    Transition(
        Action.ACCEPT_SERIES,
        FAMILY,
        PENDING,
        (_in_series, _proposal_before_start),
        verb="accepted",
    ),
    Transition(
        Action.CANCEL_FOLLOWING,
        FAMILY,
        STILL_TO_COME,
        (_in_series, _not_taken_place, _family_before_start),
        verb="cancelled",
    ),
    Transition(
        Action.CANCEL_FOLLOWING,
        STAFF,
        STILL_TO_COME,
        (_in_series, _not_taken_place),
        verb="cancelled",
    ),
    Transition(
        Action.RESCHEDULE_FOLLOWING,
        STAFF,
        STILL_TO_COME,
        (_in_series, _not_moved_after_it_took_place),
        verb="moved",
    ),
    # Issue 13: admins give a session still to come to another staff member (a
    # substitute, or before deactivating someone), until attendance is recorded; no
    # hours move.
    Transition(
        Action.REASSIGN,
        ADMIN,
        STILL_TO_COME,
        (_not_reassigned_after_it_took_place, _reassign_one_to_one),
        verb="reassigned",
    ),
)

# At most one row per action and side (tests/test_lifecycle.py checks it).
_ROWS: dict[tuple[Action, Side], Transition] = {
    (row.action, side): row for row in TABLE for side in row.sides
}


def side_of(actor: User, ts: TutoringSession) -> Side | None:
    """The actor's side for this session, or None when they may not see it."""
    if actor.role == Role.ADMIN:
        return Side.ADMIN
    if actor.role in STAFF_ROLES:
        return Side.STAFF if ts.staff_id == actor.id else None
    return Side.FAMILY if guards(actor, ts.student) else None


def allowed_actions(ts: TutoringSession, actor: User, now: datetime) -> frozenset[Action]:
    """What `actor` may do with `ts` at `now` (empty when they may not see it)."""
    side = side_of(actor, ts)
    if side is None:
        return frozenset()
    return frozenset(
        row.action for row in TABLE if side in row.sides and row.refusal(ts, now) is None
    )


def actions_by_session(
    sessions: Iterable[TutoringSession], actor: User, now: datetime
) -> dict[int, frozenset[Action]]:
    """`allowed_actions` for each session of a list, by session id (no queries)."""
    return {ts.id: allowed_actions(ts, actor, now) for ts in sessions}


def check(ts: TutoringSession, actor: User, action: Action, now: datetime) -> None:
    """Refuse `action` unless the table allows it: `NotFound` for someone who may not see
    the session, `DomainError` with the table's sentence otherwise."""
    side = side_of(actor, ts)
    if side is None:
        raise NotFound("no such session")
    row = _ROWS.get((action, side))
    if row is None:
        raise DomainError("You cannot do that with this session.")
    refusal = row.refusal(ts, now)
    if refusal is not None:
        raise DomainError(refusal)
