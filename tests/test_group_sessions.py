"""Group sessions (issue 14, design §11): several students in one session, each paying
from their own package, cancelling and attending on their own; the seats and the one
action plan are the group's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from prepbase import accounts, groups, hours, packages, people, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.lifecycle import Action, allowed_actions
from prepbase.models import (
    LedgerEntry,
    OutboundEmail,
    Role,
    SessionGroup,
    SessionStatus,
    TutoringSession,
    User,
)
from tests.test_category_booking import online
from tests.test_slots import MONDAY, NOW, give, local, set_hours
from tests.test_slots import world as world

AT = local(MONDAY, 16)
AFTER = AT + timedelta(minutes=90)  # once the session has taken place


def other_family(db_session, world, name: str = "Cruz"):
    """A second family with a parent and one student who has 10 hours of tutoring."""
    family = people.create_family(db_session, world.admin, name=f"{name} family")
    student = people.save_student(
        db_session, world.admin, None, family=family, first_name="Cy", last_name=name,
        grade="11", school="North High", notes="",
    )  # fmt: skip
    parent = User(
        name=f"Paz {name}", email=f"paz@{name.lower()}.example.com", role=Role.PARENT,
        family=family, password_hash=accounts.hash_password("x" * 12),
    )  # fmt: skip
    db_session.add(parent)
    packages.assign_package(
        db_session, world.admin, student, name=f"{name} hours", service="tutoring",
        package_type="one_time", period=None, minutes=600, start_date=MONDAY - timedelta(days=400),
    )  # fmt: skip
    db_session.flush()
    return parent, student


def sat_group(db_session, **changes):
    return online(db_session, name="SAT group", capacity=3, families_may_join=True, **changes)


def propose(db_session, world, students, category, *, at=AT, staff=None):
    return scheduling.propose_group(
        db_session, world.tenant, world.admin, students=students, staff=staff or world.tutor,
        service="tutoring", starts_at=at, duration_minutes=60, category=category, now=NOW,
    )  # fmt: skip


def remaining(db_session, student) -> int:
    return sum(p.remaining_minutes for p in packages.active_packages(
        db_session, [student.id], MONDAY))  # fmt: skip


@pytest.fixture
def group_world(db_session, world):
    set_hours(db_session, world)
    give(db_session, world, "10", student=0)
    give(db_session, world, "10", student=1)
    cruz_parent, cy = other_family(db_session, world)
    return world, cruz_parent, cy, sat_group(db_session)


def test_a_proposed_group_gives_each_family_its_own_proposal_and_moves_no_hours(
    db_session, group_world
):
    world, _, cy, category = group_world
    ada = world.students[0]
    made = propose(db_session, world, [cy, ada], category)
    assert [ts.student for ts in made] == sorted([ada, cy], key=lambda s: s.id)
    assert {ts.status for ts in made} == {SessionStatus.PENDING}
    assert len({ts.group_id for ts in made}) == 1 and made[0].group_id is not None
    assert {ts.meeting_link for ts in made} == {world.tutor.default_meeting_link}
    assert remaining(db_session, ada) == 600 and remaining(db_session, cy) == 600
    # the staff member's one time is not a clash with itself: both proposals exist
    assert groups.participations(db_session, made[0].group_id) == sorted(
        made, key=lambda ts: ts.student.first_name
    )


def test_a_group_is_no_larger_than_its_category_and_a_one_seat_category_takes_no_group(
    db_session, group_world
):
    world, _, cy, category = group_world
    ada, ben = world.students
    extra = other_family(db_session, world, "Diaz")[1]
    with pytest.raises(DomainError, match="at most 3 students; 4 were chosen") as refused:
        propose(db_session, world, [ada, ben, cy, extra], category)
    assert refused.value.field == "students"
    with pytest.raises(DomainError, match="Session sessions take one student"):
        propose(db_session, world, [ada, cy], None)
    with pytest.raises(DomainError, match="each student once"):
        propose(db_session, world, [ada, ada], category)
    assert db_session.scalars(select(SessionGroup)).all() == []


def test_each_family_accepts_from_its_own_package_and_one_cancelling_refunds_only_its_own(
    db_session, group_world
):
    world, cruz_parent, cy, category = group_world
    ada = world.students[0]
    ada_row, cy_row = sorted(propose(db_session, world, [ada, cy], category),
                             key=lambda ts: ts.student_id != ada.id)  # fmt: skip
    scheduling.accept_session(db_session, world.tenant, world.parent, ada_row, now=NOW)
    scheduling.accept_session(db_session, world.tenant, cruz_parent, cy_row, now=NOW)
    assert (remaining(db_session, ada), remaining(db_session, cy)) == (540, 540)
    assert ada_row.package.student_id == ada.id and cy_row.package.student_id == cy.id
    # a family acts on its own child's participation only
    with pytest.raises(NotFound):
        scheduling.cancel_session(db_session, world.tenant, cruz_parent, ada_row, now=NOW)
    scheduling.cancel_session(db_session, world.tenant, world.parent, ada_row, now=NOW)
    assert ada_row.status == SessionStatus.CANCELLED
    assert cy_row.status == SessionStatus.UPCOMING
    assert (remaining(db_session, ada), remaining(db_session, cy)) == (600, 540)
    assert hours.audit(db_session) == []


def test_the_overlap_rule_holds_per_student_and_for_the_staff_member(db_session, group_world):
    world, _, cy, category = group_world
    ada, ben = world.students
    scheduling.book_session(
        db_session, world.tenant, world.parent, student=ben, staff=world.admin,
        service="tutoring", starts_at=AT, duration_minutes=60, now=NOW,
    )  # fmt: skip
    # a refused action keeps nothing (the page rolls back; here, its savepoint)
    busy = "Ben already has a session then"
    with pytest.raises(DomainError, match=busy), db_session.begin_nested():
        propose(db_session, world, [ada, ben, cy], category)
    propose(db_session, world, [ada, cy], category)
    # the tutor is taken by the group: no one-to-one session at the same time
    extra = other_family(db_session, world, "Diaz")[1]
    with pytest.raises(DomainError, match="Tara Tutor already has a session then"):
        scheduling.propose_session(
            db_session, world.tenant, world.admin, student=extra, staff=world.tutor,
            service="tutoring", starts_at=AT + timedelta(minutes=30), duration_minutes=60,
            now=NOW,
        )  # fmt: skip


def test_families_join_an_open_group_until_it_is_full(db_session, group_world):
    world, cruz_parent, cy, category = group_world
    ada, ben = world.students
    first = propose(db_session, world, [ada, cy], category)[0]
    group = first.group
    offered = groups.joinable(db_session, [ada, ben], NOW)
    assert [(j.group_id, j.seats_left, j.students) for j in offered] == [(group.id, 1, [ben])]
    joined = scheduling.join_group(db_session, world.tenant, world.parent, group, ben, now=NOW)
    assert joined.status == SessionStatus.UPCOMING and joined.booked_by_family
    assert joined.group_id == group.id and remaining(db_session, ben) == 540
    assert groups.joinable(db_session, [ada, ben], NOW) == []
    extra_parent, extra = other_family(db_session, world, "Diaz")
    with pytest.raises(DomainError, match="full now; nothing was booked"):
        scheduling.join_group(db_session, world.tenant, extra_parent, group, extra, now=NOW)
    with pytest.raises(DomainError, match="Ben is in this group session already"):
        scheduling.join_group(db_session, world.tenant, world.parent, group, ben, now=NOW)
    # another family's student: not theirs to add
    with pytest.raises(NotFound):
        scheduling.join_group(db_session, world.tenant, cruz_parent, group, ada, now=NOW)
    # a seat freed by a cancellation is a seat again
    scheduling.decline_session(db_session, world.tenant, cruz_parent,
                               next(ts for ts in groups.participations(db_session, group.id)
                                    if ts.student_id == cy.id), now=NOW)  # fmt: skip
    later = scheduling.join_group(db_session, world.tenant, extra_parent, group, extra, now=NOW)
    assert later.status == SessionStatus.UPCOMING
    scheduling.decline_session(db_session, world.tenant, world.parent, first, now=NOW)
    with pytest.raises(DomainError, match="has started"):  # a free seat, but too late
        scheduling.join_group(db_session, world.tenant, cruz_parent, group, cy, now=AFTER)


def test_a_closed_category_takes_no_families(db_session, group_world):
    world, _, cy, _ = group_world
    closed = online(db_session, name="Closed group", capacity=3)
    group = propose(db_session, world, [world.students[0], cy], closed)[0].group
    assert groups.joinable(db_session, world.students, NOW) == []
    with pytest.raises(NotFound):
        scheduling.join_group(db_session, world.tenant, world.parent, group, world.students[1],
                              now=NOW)  # fmt: skip


def test_attendance_per_student_and_one_plan_complete_the_group(db_session, group_world):
    world, cruz_parent, cy, category = group_world
    ada = world.students[0]
    rows = propose(db_session, world, [ada, cy], category)
    for ts in rows:
        parent = world.parent if ts.student_id == ada.id else cruz_parent
        scheduling.accept_session(db_session, world.tenant, parent, ts, now=NOW)
    ada_row = next(ts for ts in rows if ts.student_id == ada.id)
    cy_row = next(ts for ts in rows if ts.student_id == cy.id)
    group = ada_row.group
    scheduling.take_attendance(db_session, world.tenant, world.tutor, ada_row, "present", now=AFTER)
    scheduling.submit_group_plan(
        db_session, world.tenant, world.tutor, group, topics="Reading section",
        goals="", next_steps="Practice test 3", notes={cy_row.id: "Cy: timing!"}, now=AFTER,
    )  # fmt: skip
    # Cy has no attendance yet: nobody is completed
    assert {ts.status for ts in rows} == {SessionStatus.UPCOMING}
    assert cy_row.plan_note == "Cy: timing!" and ada_row.plan_note is None
    assert ada_row.plan_topics == cy_row.plan_topics == "Reading section"
    with pytest.raises(DomainError, match="submitted already"):
        scheduling.submit_action_plan(
            db_session, world.tenant, world.tutor, ada_row, topics="again", goals="",
            next_steps="", now=AFTER,
        )  # fmt: skip
    scheduling.take_attendance(db_session, world.tenant, world.tutor, cy_row, "late", now=AFTER)
    assert {ts.status for ts in rows} == {SessionStatus.COMPLETED}
    assert (ada_row.attendance, cy_row.attendance) == ("present", "late")
    # completing moves no hours
    assert (remaining(db_session, ada), remaining(db_session, cy)) == (540, 540)


def test_staff_cancel_the_whole_group_and_every_student_gets_their_hours_back(
    db_session, group_world
):
    world, cruz_parent, cy, category = group_world
    ada = world.students[0]
    rows = propose(db_session, world, [ada, cy], category)
    cy_row = next(ts for ts in rows if ts.student_id == cy.id)
    scheduling.accept_session(db_session, world.tenant, cruz_parent, cy_row, now=NOW)
    with pytest.raises(NotFound):
        scheduling.cancel_group(db_session, world.tenant, world.counselor, rows[0].group, now=NOW)
    cancelled = scheduling.cancel_group(db_session, world.tenant, world.tutor, rows[0].group,
                                        "Tutor ill", now=NOW)  # fmt: skip
    assert {ts.status for ts in cancelled} == {SessionStatus.CANCELLED} and len(cancelled) == 2
    assert remaining(db_session, cy) == 600
    refunds = db_session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "refund")).all()
    assert [(e.minutes, e.session_id) for e in refunds] == [
        (60, next(ts.id for ts in rows if ts.student_id == cy.id))
    ]


def test_a_group_moves_as_a_whole_and_keeps_its_length_and_staff(db_session, group_world):
    world, _, cy, category = group_world
    rows = propose(db_session, world, [world.students[0], cy], category)
    later = AT + timedelta(hours=1)
    scheduling.reschedule(db_session, world.tenant, world.tutor, rows[0], later, now=NOW)
    assert {ts.starts_at for ts in rows} == {later}
    assert {ts.ical_sequence for ts in rows} == {1}
    for action in (Action.CHANGE_DURATION, Action.REASSIGN):
        assert action not in allowed_actions(rows[0], world.admin, NOW)
    with pytest.raises(DomainError, match="keeps the length"):
        scheduling.change_duration(db_session, world.tenant, world.tutor, rows[0], 90, now=NOW)
    assert (
        db_session.scalars(select(TutoringSession).where(TutoringSession.group_id.is_(None))).all()
        == []
    )


def test_each_family_is_mailed_about_its_own_student_in_a_group(db_session, group_world):
    world, cruz_parent, cy, category = group_world
    propose(db_session, world, [world.students[0], cy], category)
    mails = db_session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)).all()
    to_cruz = [m for m in mails if m.to_addr == cruz_parent.email]
    assert len(to_cruz) == 1 and "Cy Cruz's tutoring group session" in to_cruz[0].body
    assert "Ada" not in to_cruz[0].body
    to_parent = [m for m in mails if m.to_addr == world.parent.email]
    assert to_parent and all("Cy" not in m.body for m in to_parent)


def test_the_staff_member_is_reminded_once_per_group_and_each_family_of_its_own(
    db_session, group_world
):
    from prepbase.mail.sessions import send_due_reminders

    world, cruz_parent, cy, category = group_world
    rows = propose(db_session, world, [world.students[0], cy], category)
    for ts in rows:
        parent = world.parent if ts.student_id != cy.id else cruz_parent
        scheduling.accept_session(db_session, world.tenant, parent, ts, now=NOW)
    before = {m.id for m in db_session.scalars(select(OutboundEmail))}
    assert send_due_reminders(db_session, world.tenant, now=AT - timedelta(hours=2)) == 2
    reminders = [m for m in db_session.scalars(select(OutboundEmail)) if m.id not in before]
    to = [m.to_addr for m in reminders]
    assert to.count(world.tutor.email) == 1
    assert cruz_parent.email in to and world.parent.email in to
