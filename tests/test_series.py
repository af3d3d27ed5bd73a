"""Weekly series (design §10, issue 13) through the domain: every occurrence an ordinary
session under the rules of §3, occurrences no package covers waiting for hours, and
hours that arrive paying them, earliest first. Times are pinned (`NOW`, far from the
machine's clock), so the suite reads the same at any hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from prepbase import availability, hours, packages, people, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.lifecycle import Action, allowed_actions
from prepbase.localtime import local_to_utc, to_local
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    OutboundEmail,
    Package,
    SessionSeries,
    SessionStatus,
)
from prepbase.people import SessionsToHandOver
from prepbase.scheduling import Outcome, PlanChanged
from prepbase.series import NewSeries, make_rule, occurrence_days
from prepbase.tenancy import as_tenant
from tests.test_hours_rules import give
from tests.test_reassign import hire

NOW = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)  # Mon 4 Jan 2027, 10:00 AM in New York
FIRST = date(2027, 1, 5)  # the Tuesday after
FOUR_PM = time(16, 0)
UPCOMING, WAITING, PENDING = SessionStatus.UPCOMING, SessionStatus.WAITING, SessionStatus.PENDING


@pytest.fixture
def world(app, business, db_session):
    """Acme with its scope entered, as the domain functions run inside a request."""
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def new_series(
    world, *, count=10, first=FIRST, at=FOUR_PM, minutes=60, student=0, staff=None, **rule
):
    return NewSeries(
        student=world.students[student],
        staff=staff or world.tutor,
        service="tutoring",
        rule=make_rule(first_day=first, start=at, count=count, **rule)
        if "until" not in rule
        else make_rule(first_day=first, start=at, **rule),
        duration_minutes=minutes,
    )


def book(db_session, world, new=None, *, actor=None, now=NOW, **kw):
    new = new or new_series(world, **kw)
    actor = actor or world.parent
    plan = scheduling.plan_booking_series(db_session, world.tenant, actor, new, now)
    return scheduling.book_series(db_session, world.tenant, actor, new, plan.fingerprint, now)


def propose(db_session, world, new=None, *, now=NOW, **kw):
    new = new or new_series(world, **kw)
    return scheduling.propose_series(db_session, world.tenant, world.tutor, new, now=now)


def statuses(sessions) -> list[str]:
    return [ts.status for ts in sessions]


def entries(db_session, package) -> list[tuple[str, int]]:
    rows = db_session.scalars(
        select(LedgerEntry).where(LedgerEntry.package_id == package.id).order_by(LedgerEntry.id)
    )
    return [(e.kind, e.minutes) for e in rows]


def wall(world, ts) -> str:
    return to_local(world.tenant, ts.starts_at).strftime("%a %d %b %H:%M")


def mails(db_session, subject_part: str) -> list[OutboundEmail]:
    return [m for m in db_session.scalars(select(OutboundEmail)).all() if subject_part in m.subject]


# --- the rule -----------------------------------------------------------------------------


def test_rule_days_every_two_weeks_on_two_weekdays():
    # From a Wednesday: that week's Thursday, then every other week's Tue and Thu.
    rule = make_rule(
        first_day=date(2027, 1, 6), start=FOUR_PM, weekdays=[1, 3], every_weeks=2, count=5
    )
    assert occurrence_days(rule) == [
        date(2027, 1, 7),
        date(2027, 1, 19),
        date(2027, 1, 21),
        date(2027, 2, 2),
        date(2027, 2, 4),
    ]
    assert rule.rhythm == "every 2 weeks on Tue and Thu"
    until = make_rule(first_day=FIRST, start=FOUR_PM, until=date(2027, 1, 26))
    assert occurrence_days(until) == [date(2027, 1, d) for d in (5, 12, 19, 26)]
    assert until.rhythm == "every Tue"  # no weekday chosen: the first day's


@pytest.mark.parametrize(
    ("kw", "field", "words"),
    [
        ({}, "count", "a last day, or a number of sessions"),
        ({"count": 3, "until": date(2027, 2, 1)}, "count", "not both"),
        ({"until": date(2027, 1, 1)}, "until", "before the first session"),
        ({"until": date(2028, 1, 6)}, "until", "at most a year"),
        ({"count": 54}, "count", "run past a year"),
        ({"count": 0}, "count", "Choose 1 to"),
        ({"count": 3, "every_weeks": 5}, "every_weeks", "every 1 to 4 weeks"),
        ({"count": 3, "weekdays": [7]}, "weekdays", "days of the week"),
    ],
)
def test_rule_refuses_what_is_not_a_weekly_series_of_at_most_a_year(kw, field, words):
    with pytest.raises(DomainError) as refused:
        make_rule(first_day=FIRST, start=FOUR_PM, **kw)
    assert refused.value.field == field
    assert words in refused.value.message


def test_a_year_of_weekly_sessions_is_allowed():
    rule = make_rule(first_day=FIRST, start=FOUR_PM, count=53)
    assert occurrence_days(rule)[-1] == FIRST + timedelta(weeks=52)


# --- a family books a series (rule 1 per occurrence) ---------------------------------------


def test_family_series_with_hours_for_six_books_six_and_keeps_four_waiting(world, db_session):
    """The issue's case: a 10-week series, hours for 6. Six are UPCOMING and debited at
    booking, earliest first; four are Waiting for hours: no hours, no ledger entry."""
    package = give(db_session, world, "6", start=date(2027, 1, 1))
    made = book(db_session, world)
    assert statuses(made) == [UPCOMING] * 6 + [WAITING] * 4
    assert [ts.charged_minutes for ts in made] == [60] * 6 + [0] * 4
    assert [ts.package_id for ts in made] == [package.id] * 6 + [None] * 4
    assert [ts.series_label for ts in made][:2] == ["1 of 10 · every Tue", "2 of 10 · every Tue"]
    assert all(ts.booked_by_family for ts in made)
    db_session.refresh(package)
    assert package.remaining_minutes == 0
    assert entries(db_session, package) == [(EntryKind.GRANT, 360)] + [(EntryKind.DEBIT, -60)] * 6
    # Each debit names its occurrence: the ledger explains itself session by session.
    debits = db_session.scalars(
        select(LedgerEntry.session_id).where(LedgerEntry.kind == EntryKind.DEBIT)
    ).all()
    assert sorted(debits) == sorted(ts.id for ts in made[:6])
    [series] = db_session.scalars(select(SessionSeries)).all()
    assert (series.occurrences, series.count, series.rhythm) == (10, 10, "every Tue")


def test_the_plan_names_the_package_that_pays_each_occurrence_by_rule_5(world, db_session):
    """Earliest first, oldest package first, never split: a 2.5-hour package pays two
    one-hour sessions, the next package the rest; a package starting later pays only
    sessions on or after its start."""
    old = give(db_session, world, "2.5", start=date(2026, 12, 1), name="Old")
    newer = give(db_session, world, "2", start=date(2027, 1, 1), name="Newer")
    late = give(db_session, world, "10", start=date(2027, 2, 1), name="Late")
    new = new_series(world, count=7)
    plan = scheduling.plan_booking_series(db_session, world.tenant, world.parent, new, NOW)
    assert [o.package.name for o in plan.occurrences] == [
        "Old",
        "Old",  # 30 minutes of Old are left: never split, so Newer pays the next
        "Newer",
        "Newer",
        "Late",  # Tue 2 Feb: Late has started (1 Feb)
        "Late",
        "Late",
    ]
    made = scheduling.book_series(
        db_session, world.tenant, world.parent, new, plan.fingerprint, NOW
    )
    # The booking pays exactly as the plan said.
    assert [ts.package_id for ts in made] == [o.package.id for o in plan.occurrences]
    for package, left in ((old, 30), (newer, 0), (late, 420)):
        db_session.refresh(package)
        assert package.remaining_minutes == left


def test_a_package_starting_later_leaves_earlier_occurrences_waiting(world, db_session):
    """Rule 5: a package pays only sessions on or after its start date, so the first
    occurrences wait while later ones are paid."""
    give(db_session, world, "10", start=date(2027, 1, 15), name="From the 15th")
    made = book(db_session, world, count=4)
    assert statuses(made) == [WAITING, WAITING, UPCOMING, UPCOMING]


def test_occurrences_that_are_not_free_are_listed_and_not_booked(world, db_session):
    """Each occurrence is checked like a single booking (`Schedule.family_refusal`):
    working hours, time off, overlaps, notice, horizon. Not-free ones are not made; the
    others are numbered 1, 2, … among themselves."""
    give(db_session, world, "20", start=date(2027, 1, 1))
    tutor = world.tutor
    availability.set_weekly_hours(
        db_session, world.tenant, tutor, tutor, {day: [(9 * 60, 18 * 60)] for day in range(7)}
    )
    world.tenant.booking_horizon_days = 40
    availability.add_time_off(
        db_session,
        world.tenant,
        tutor,
        tutor,
        first_day=date(2027, 1, 19),
        last_day=date(2027, 1, 19),
    )
    # Ben has a session with the counselor on 26 Jan: Ada's tutor is free, but another
    # family takes the tutor on 2 Feb.
    give(db_session, world, "5", student=1, start=date(2027, 1, 1))
    scheduling.book_session(
        db_session,
        world.tenant,
        world.parent,
        student=world.students[1],
        staff=tutor,
        service="tutoring",
        starts_at=local_to_utc(world.tenant, date(2027, 2, 2), time(16, 30)),
        duration_minutes=60,
        now=NOW,
    )
    new = new_series(world, count=8, first=date(2027, 1, 5))
    plan = scheduling.plan_booking_series(db_session, world.tenant, world.parent, new, NOW)
    notes = {o.day: o.note for o in plan.of(Outcome.SKIP)}
    assert set(notes) == {date(2027, 1, 19), date(2027, 2, 2), date(2027, 2, 16), date(2027, 2, 23)}
    assert "away" in notes[date(2027, 1, 19)]
    assert "just taken" in notes[date(2027, 2, 2)]
    assert "up to 40 days ahead" in notes[date(2027, 2, 16)]
    made = scheduling.book_series(
        db_session, world.tenant, world.parent, new, plan.fingerprint, NOW
    )
    assert [to_local(world.tenant, ts.starts_at).date() for ts in made] == [
        date(2027, 1, 5),
        date(2027, 1, 12),
        date(2027, 1, 26),
        date(2027, 2, 9),
    ]
    assert [ts.series_position for ts in made] == [1, 2, 3, 4]
    assert made[0].series_label == "1 of 4 · every Tue"


def test_a_family_series_outside_working_hours_or_inside_the_notice_is_not_booked(
    world, db_session
):
    tutor = world.tutor
    availability.set_weekly_hours(db_session, world.tenant, tutor, tutor, {1: [(9 * 60, 12 * 60)]})
    new = new_series(world, count=2)  # 4:00 PM: outside 9–12
    plan = scheduling.plan_booking_series(db_session, world.tenant, world.parent, new, NOW)
    assert all("outside Tara Tutor's working hours" in o.note for o in plan.occurrences)
    with pytest.raises(DomainError, match="None of these times is free"):
        scheduling.book_series(db_session, world.tenant, world.parent, new, plan.fingerprint, NOW)
    soon = new_series(world, count=2, at=time(9, 0))  # the first is within 24 hours' notice
    plan = scheduling.plan_booking_series(db_session, world.tenant, world.parent, soon, NOW)
    assert [o.outcome for o in plan.occurrences] == [Outcome.SKIP, Outcome.WAIT]
    assert "at least 24 hours ahead" in plan.occurrences[0].note


def test_a_time_the_clocks_skip_is_reported_not_shifted(world, db_session):
    """DST-exact: a weekly 2:30 AM on Sundays meets 14 Mar 2027, when 2:00–3:00 does not
    exist in New York. That occurrence is listed as not existing, never moved to 3:30."""
    new = new_series(world, count=3, first=date(2027, 3, 7), at=time(2, 30))
    plan = scheduling.plan_booking_series(db_session, world.tenant, world.parent, new, NOW)
    assert [o.outcome for o in plan.occurrences] == [Outcome.WAIT, Outcome.SKIP, Outcome.WAIT]
    assert plan.occurrences[1].starts_at is None
    assert "does not exist that day" in plan.occurrences[1].note
    made = scheduling.book_series(
        db_session, world.tenant, world.parent, new, plan.fingerprint, NOW
    )
    assert [wall(world, ts) for ts in made] == ["Sun 07 Mar 02:30", "Sun 21 Mar 02:30"]


def test_a_weekly_time_stays_on_the_wall_clock_across_the_change(world, db_session):
    """4:00 PM every Tuesday is 21:00 UTC in winter and 20:00 UTC after 14 Mar 2027."""
    give(db_session, world, "10", start=date(2027, 1, 1))
    made = book(db_session, world, count=3, first=date(2027, 3, 9))
    assert [ts.starts_at.hour for ts in made] == [21, 20, 20]
    assert {wall(world, ts)[-5:] for ts in made} == {"16:00"}


def test_booking_what_changed_since_the_preview_is_refused_and_changes_nothing(world, db_session):
    """The family confirms a plan (its fingerprint). If a time was taken or hours used
    since, nothing is booked and the new plan comes back with the refusal."""
    package = give(db_session, world, "3", start=date(2027, 1, 1))
    new = new_series(world, count=4)
    seen = scheduling.plan_booking_series(db_session, world.tenant, world.parent, new, NOW)
    assert [o.outcome for o in seen.occurrences] == [Outcome.BOOK] * 3 + [Outcome.WAIT]
    # Meanwhile one hour is used by a single booking on another day.
    scheduling.book_session(
        db_session,
        world.tenant,
        world.parent,
        student=world.students[0],
        staff=world.tutor,
        service="tutoring",
        starts_at=local_to_utc(world.tenant, date(2027, 1, 6), FOUR_PM),
        duration_minutes=60,
        now=NOW,
    )
    with pytest.raises(PlanChanged) as changed:
        scheduling.book_series(db_session, world.tenant, world.parent, new, seen.fingerprint, NOW)
    assert [o.outcome for o in changed.value.plan.occurrences] == [Outcome.BOOK] * 2 + [
        Outcome.WAIT
    ] * 2
    assert db_session.scalars(select(SessionSeries)).all() == []
    db_session.refresh(package)
    assert package.remaining_minutes == 120


def test_only_the_family_books_its_students_series(world, db_session, other_business):
    with pytest.raises(NotFound):
        book(db_session, world, actor=world.tutor)


# --- a waiting occurrence holds nothing ----------------------------------------------------


def test_a_waiting_occurrence_reserves_no_time(world, db_session):
    """Another family may book the time of a waiting occurrence (its slot is not kept),
    and the waiting occurrence then stays waiting when hours arrive: the family is told."""
    made = book(db_session, world, count=2)
    assert statuses(made) == [WAITING, WAITING]
    give(db_session, world, "5", student=1, start=date(2027, 1, 1))
    other = scheduling.book_session(
        db_session,
        world.tenant,
        world.parent,
        student=world.students[1],
        staff=world.tutor,
        service="tutoring",
        starts_at=made[0].starts_at,
        duration_minutes=60,
        now=NOW,
    )
    assert other.status == UPCOMING
    give(db_session, world, "10", start=date(2027, 1, 1))
    report = scheduling.fill_waiting(
        db_session, world.tenant, world.students[0].id, "tutoring", world.admin, NOW
    )
    assert [ts.id for ts in report.booked] == [made[1].id]
    assert [(ts.id, "just taken" in why or "already has" in why) for ts, why in report.taken] == [
        (made[0].id, True)
    ]
    db_session.refresh(made[0])
    assert made[0].status == WAITING and made[0].charged_minutes == 0
    [family_mail] = mails(db_session, "waiting sessions are booked")[:1]
    assert "time was taken meanwhile" in family_mail.body
    assert mails(db_session, "waiting sessions with you")  # the tutor is told too


def test_waiting_occurrences_are_paid_earliest_first_when_hours_arrive(world, db_session):
    made = book(db_session, world, count=5)
    assert statuses(made) == [WAITING] * 5
    package = packages.assign_package(
        db_session,
        world.admin,
        world.students[0],
        name="Two hours",
        service="tutoring",
        package_type="one_time",
        period=None,
        minutes=120,
        start_date=date(2027, 1, 1),
    )
    report = scheduling.fill_waiting(
        db_session, world.tenant, world.students[0].id, "tutoring", world.admin, NOW
    )
    assert [ts.id for ts in report.booked] == [made[0].id, made[1].id]
    assert [ts.id for ts in report.waiting] == [ts.id for ts in made[2:]]
    for ts in made:
        db_session.refresh(ts)
    assert statuses(made) == [UPCOMING, UPCOMING, WAITING, WAITING, WAITING]
    assert [ts.package_id for ts in made[:2]] == [package.id] * 2
    db_session.refresh(package)
    assert package.remaining_minutes == 0
    family = mails(db_session, "2 of Ada's waiting sessions are booked")
    assert family and "3 more still wait for hours" in family[0].body
    assert "from Two hours" in family[0].body


def test_waiting_occurrences_whose_time_passed_are_never_debited(world, db_session):
    made = book(db_session, world, count=3)
    give(db_session, world, "10", start=date(2027, 1, 1))
    later = made[0].starts_at + timedelta(minutes=1)  # the first has started
    report = scheduling.fill_waiting(
        db_session, world.tenant, world.students[0].id, "tutoring", world.admin, later
    )
    assert [ts.id for ts in report.booked] == [made[1].id, made[2].id]
    db_session.refresh(made[0])
    assert made[0].status == WAITING


def test_waiting_occurrences_stay_waiting_in_the_staff_members_time_off(world, db_session):
    made = book(db_session, world, count=2)
    availability.add_time_off(
        db_session,
        world.tenant,
        world.tutor,
        world.tutor,
        first_day=date(2027, 1, 5),
        last_day=date(2027, 1, 5),
    )
    give(db_session, world, "10", start=date(2027, 1, 1))
    report = scheduling.fill_waiting(
        db_session, world.tenant, world.students[0].id, "tutoring", world.admin, NOW
    )
    assert [ts.id for ts in report.booked] == [made[1].id]
    assert [why for _ts, why in report.taken] == ["Tara Tutor is away then."]


def test_hours_of_another_service_or_student_fill_nothing(world, db_session):
    made = book(db_session, world, count=2)
    give(db_session, world, "10", service="counseling", start=date(2027, 1, 1))
    give(db_session, world, "10", student=1, start=date(2027, 1, 1))
    for student, service in ((0, "counseling"), (1, "tutoring")):
        report = scheduling.fill_waiting(
            db_session, world.tenant, world.students[student].id, service, world.admin, NOW
        )
        assert report.booked == []
    for ts in made:
        db_session.refresh(ts)
    assert statuses(made) == [WAITING, WAITING]


def test_a_refund_pays_a_waiting_occurrence(world, db_session):
    """Rule 3's refund is hours arriving: cancelling one session pays the earliest
    occurrence waiting for hours of the same student and service."""
    package = give(db_session, world, "2", start=date(2027, 1, 1))
    made = book(db_session, world, count=3)
    assert statuses(made) == [UPCOMING, UPCOMING, WAITING]
    scheduling.cancel_session(db_session, world.tenant, world.parent, made[0], now=NOW)
    db_session.refresh(made[2])
    assert (made[2].status, made[2].package_id, made[2].charged_minutes) == (
        UPCOMING,
        package.id,
        60,
    )
    db_session.refresh(package)
    assert package.remaining_minutes == 0


def test_shortening_a_session_pays_a_waiting_occurrence(world, db_session):
    give(db_session, world, "2.5", start=date(2027, 1, 1))
    made = book(db_session, world, count=3, minutes=60)
    assert statuses(made) == [UPCOMING, UPCOMING, WAITING]
    scheduling.change_duration(db_session, world.tenant, world.tutor, made[0], 30, now=NOW)
    db_session.refresh(made[2])
    assert made[2].status == UPCOMING


def test_a_renewal_pays_waiting_occurrences(world, db_session, app):
    """The renewal job: renewed packages' students get their waiting occurrences paid."""
    weekly = packages.assign_package(
        db_session,
        world.admin,
        world.students[0],
        name="Weekly",
        service="tutoring",
        package_type="recurring",
        period="weekly",
        minutes=60,
        start_date=date(2026, 12, 28),
    )
    made = book(db_session, world, count=3)
    assert statuses(made) == [UPCOMING, WAITING, WAITING]
    report = packages.renew_due(db_session, date(2027, 1, 4))
    assert report.hours_for == {(world.students[0].id, "tutoring")}
    filled = scheduling.fill_waiting(
        db_session, world.tenant, world.students[0].id, "tutoring", None, NOW
    )
    assert [ts.id for ts in filled.booked] == [made[1].id]
    db_session.refresh(weekly)
    assert weekly.remaining_minutes == 0


# --- staff propose a series; the family accepts it (rule 2 per occurrence) ------------------


def test_a_proposed_series_is_pending_and_moves_no_hours(world, db_session):
    package = give(db_session, world, "10", start=date(2027, 1, 1))
    made = propose(db_session, world, count=4)
    assert statuses(made) == [PENDING] * 4
    assert all(not ts.booked_by_family and ts.charged_minutes == 0 for ts in made)
    db_session.refresh(package)
    assert package.remaining_minutes == 600
    # One e-mail for the series to each of the family (not one per session).
    told = mails(db_session, "proposed 4 weekly sessions")
    addresses = [m.to_addr for m in told]
    assert {world.parent.email, world.student_user.email} <= set(addresses)
    assert len(addresses) == len(set(addresses))
    assert all("every Tue" in m.body and "Tue 5 Jan 2027" in m.body for m in told)


def test_a_tutor_proposes_for_themself_only(world, db_session):
    new = new_series(world, staff=world.admin)
    with pytest.raises(DomainError, match="for yourself only"):
        scheduling.propose_series(db_session, world.tenant, world.tutor, new, now=NOW)
    with pytest.raises(NotFound):
        scheduling.propose_series(db_session, world.tenant, world.parent, new, now=NOW)


def test_a_proposed_series_skips_times_that_overlap(world, db_session):
    give(db_session, world, "10", student=1, start=date(2027, 1, 1))
    scheduling.book_session(
        db_session,
        world.tenant,
        world.parent,
        student=world.students[1],
        staff=world.tutor,
        service="tutoring",
        starts_at=local_to_utc(world.tenant, date(2027, 1, 12), FOUR_PM),
        duration_minutes=60,
        now=NOW,
    )
    new = new_series(world, count=3)
    plan = scheduling.plan_proposed_series(db_session, world.tenant, world.tutor, new, NOW)
    assert [o.outcome for o in plan.occurrences] == [Outcome.BOOK, Outcome.SKIP, Outcome.BOOK]
    made = scheduling.propose_series(
        db_session, world.tenant, world.tutor, new, plan.fingerprint, NOW
    )
    assert len(made) == 2 and made[1].series_label == "2 of 2 · every Tue"


def test_accepting_a_series_pays_what_fits_and_keeps_the_rest_waiting(world, db_session):
    package = give(db_session, world, "3", start=date(2027, 1, 1))
    made = propose(db_session, world, count=5)
    plan = scheduling.plan_series_acceptance(db_session, world.tenant, world.parent, made[2], NOW)
    assert [o.outcome for o in plan.occurrences] == [Outcome.BOOK] * 3 + [Outcome.WAIT] * 2
    answered = scheduling.accept_series(
        db_session, world.tenant, world.parent, made[2], plan.fingerprint, NOW
    )
    assert statuses(answered) == [UPCOMING] * 3 + [WAITING] * 2
    db_session.refresh(package)
    assert package.remaining_minutes == 0
    # A waiting occurrence of a proposal no longer holds its time: another booking may
    # take it (the slot is not reserved for others).
    assert allowed_actions(answered[3], world.parent, NOW) == {
        Action.CANCEL,
        Action.CANCEL_FOLLOWING,
    }


def test_accepting_one_occurrence_of_a_series_is_an_ordinary_accept(world, db_session):
    give(db_session, world, "1", start=date(2027, 1, 1))
    made = propose(db_session, world, count=3)
    scheduling.accept_session(db_session, world.tenant, world.parent, made[1], now=NOW)
    assert statuses([db_session.merge(ts) for ts in made]) == [PENDING, UPCOMING, PENDING]
    with pytest.raises(scheduling.NotEnoughHours):
        scheduling.accept_session(db_session, world.tenant, world.parent, made[0], now=NOW)


def test_accepting_a_series_after_hours_were_spent_is_refused_with_the_new_plan(world, db_session):
    package = give(db_session, world, "2", start=date(2027, 1, 1))
    made = propose(db_session, world, count=2)
    seen = scheduling.plan_series_acceptance(db_session, world.tenant, world.parent, made[0], NOW)
    assert [o.outcome for o in seen.occurrences] == [Outcome.BOOK, Outcome.BOOK]
    scheduling.book_session(
        db_session,
        world.tenant,
        world.parent,
        student=world.students[0],
        staff=world.tutor,
        service="tutoring",
        starts_at=local_to_utc(world.tenant, date(2027, 1, 7), FOUR_PM),
        duration_minutes=60,
        now=NOW,
    )
    with pytest.raises(PlanChanged) as changed:
        scheduling.accept_series(
            db_session, world.tenant, world.parent, made[0], seen.fingerprint, NOW
        )
    assert [o.outcome for o in changed.value.plan.occurrences] == [Outcome.BOOK, Outcome.WAIT]
    for ts in made:
        db_session.refresh(ts)
    assert statuses(made) == [PENDING, PENDING]
    db_session.refresh(package)
    assert package.remaining_minutes == 60


def test_a_single_session_has_no_series_to_accept_or_cancel(world, db_session):
    give(db_session, world, "5", start=date(2027, 1, 1))
    ts = scheduling.propose_session(
        db_session,
        world.tenant,
        world.tutor,
        student=world.students[0],
        staff=world.tutor,
        service="tutoring",
        starts_at=local_to_utc(world.tenant, FIRST, FOUR_PM),
        duration_minutes=60,
        now=NOW,
    )
    for verb in (
        lambda: scheduling.accept_series(db_session, world.tenant, world.parent, ts, now=NOW),
        lambda: scheduling.cancel_following(db_session, world.tenant, world.tutor, ts, now=NOW),
        lambda: scheduling.reschedule_following(
            db_session, world.tenant, world.tutor, ts, ts.starts_at + timedelta(days=1), now=NOW
        ),
    ):
        with pytest.raises(DomainError, match="not part of a weekly series"):
            verb()


# --- this and following -------------------------------------------------------------------


def test_cancel_this_and_following_refunds_each_and_keeps_what_took_place(world, db_session):
    """From week 8 of 10: weeks 8–10 are cancelled and their hours go back to the package
    that paid each; a waiting one just cancels; completed weeks never change."""
    first_package = give(db_session, world, "6", start=date(2027, 1, 1), name="First")
    made = book(db_session, world)
    second = give(db_session, world, "3", start=date(2027, 1, 1), name="Second")
    scheduling.fill_waiting(db_session, world.tenant, world.students[0].id, "tutoring", None, NOW)
    for ts in made:
        db_session.refresh(ts)
    assert statuses(made) == [UPCOMING] * 9 + [WAITING]
    # Week 1 took place and is completed.
    after = made[0].starts_at + timedelta(minutes=5)
    scheduling.take_attendance(db_session, world.tenant, world.tutor, made[0], "present", now=after)
    scheduling.submit_action_plan(
        db_session, world.tenant, world.tutor, made[0], topics="Algebra", goals="", next_steps="",
        now=after,
    )  # fmt: skip
    change = scheduling.cancel_following(
        db_session, world.tenant, world.tutor, made[7], "Moving away", NOW
    )
    assert [ts.series_position for ts in change.changed] == [8, 9, 10]
    assert change.refunded == 120  # weeks 8 and 9 were paid by Second; 10 was waiting
    for ts in made:
        db_session.refresh(ts)
    assert (
        statuses(made) == [SessionStatus.COMPLETED] + [UPCOMING] * 6 + [SessionStatus.CANCELLED] * 3
    )
    db_session.refresh(first_package)
    db_session.refresh(second)
    assert (first_package.remaining_minutes, second.remaining_minutes) == (0, 120)
    assert entries(db_session, second)[-2:] == [(EntryKind.REFUND, 60), (EntryKind.REFUND, 60)]
    [told] = mails(db_session, "Cancelled: 3 of Ada's weekly sessions")[:1]
    assert "Moving away" in told.body and "2 hours went back" in told.body
    with pytest.raises(DomainError, match="completed"):
        scheduling.cancel_following(db_session, world.tenant, world.tutor, made[0], now=NOW)


def test_a_family_cancels_this_and_following_until_each_starts(world, db_session):
    give(db_session, world, "10", start=date(2027, 1, 1))
    made = book(db_session, world, count=3)
    during_first = made[0].starts_at + timedelta(minutes=10)
    with pytest.raises(DomainError, match="has started"):
        scheduling.cancel_following(
            db_session, world.tenant, world.parent, made[0], now=during_first
        )
    change = scheduling.cancel_following(
        db_session, world.tenant, world.parent, made[1], now=during_first
    )
    assert [ts.id for ts in change.changed] == [made[1].id, made[2].id]
    assert mails(db_session, "Cancelled: 2 of Ada's weekly sessions")  # the tutor is told


def test_move_this_and_following_keeps_the_wall_clock_and_splits_the_series(world, db_session):
    give(db_session, world, "10", start=date(2027, 1, 1))
    made = book(db_session, world, count=6, first=date(2027, 2, 23))
    # Week 3 (9 Mar) and after move to Wednesdays at 5:00 PM; 14 Mar changes the clocks.
    new_start = local_to_utc(world.tenant, date(2027, 3, 10), time(17, 0))
    change = scheduling.reschedule_following(
        db_session, world.tenant, world.tutor, made[2], new_start, NOW
    )
    assert len(change.changed) == 4
    for ts in made:
        db_session.refresh(ts)
    assert [wall(world, ts) for ts in made] == [
        "Tue 23 Feb 16:00",
        "Tue 02 Mar 16:00",
        "Wed 10 Mar 17:00",
        "Wed 17 Mar 17:00",
        "Wed 24 Mar 17:00",
        "Wed 31 Mar 17:00",
    ]
    assert [ts.series_label for ts in made] == [
        "1 of 2 · every Tue",
        "2 of 2 · every Tue",
        "1 of 4 · every Wed",
        "2 of 4 · every Wed",
        "3 of 4 · every Wed",
        "4 of 4 · every Wed",
    ]
    assert all(ts.charged_minutes == 60 for ts in made)  # rule 6: moving moves no hours


def test_move_this_and_following_is_all_or_nothing(world, db_session):
    give(db_session, world, "10", start=date(2027, 1, 1))
    made = book(db_session, world, count=3, first=date(2027, 3, 2))
    give(db_session, world, "5", student=1, start=date(2027, 1, 1))
    blocker = local_to_utc(world.tenant, date(2027, 3, 10), time(9, 0))
    scheduling.book_session(
        db_session, world.tenant, world.parent, student=world.students[1], staff=world.tutor,
        service="tutoring", starts_at=blocker, duration_minutes=60, now=NOW,
    )  # fmt: skip
    before = [ts.starts_at for ts in made]
    with pytest.raises(DomainError) as refused:
        scheduling.reschedule_following(
            db_session,
            world.tenant,
            world.tutor,
            made[0],
            local_to_utc(world.tenant, date(2027, 3, 3), time(9, 0)),
            NOW,
        )
    assert refused.value.message.startswith("Nothing was moved.")
    assert "Wed 10 Mar 2027" in refused.value.message
    # 2:30 AM on the Sunday the clocks skip it: reported, nothing moved.
    with pytest.raises(DomainError, match="does not exist that day"):
        scheduling.reschedule_following(
            db_session,
            world.tenant,
            world.tutor,
            made[0],
            local_to_utc(world.tenant, date(2027, 2, 28), time(2, 30)),
            NOW,
        )
    for ts in made:
        db_session.refresh(ts)
    assert [ts.starts_at for ts in made] == before


def test_moving_the_first_session_and_following_changes_the_rule_itself(world, db_session):
    made = book(db_session, world, count=2)
    scheduling.reschedule_following(
        db_session,
        world.tenant,
        world.tutor,
        made[0],
        made[0].starts_at + timedelta(days=2, hours=1),
        NOW,
    )
    series = db_session.scalars(select(SessionSeries)).all()
    assert len(series) == 1
    assert (series[0].rhythm, series[0].start_minute) == ("every Thu", 17 * 60)


# --- the lifecycle table ------------------------------------------------------------------


def test_lifecycle_rows_of_a_waiting_occurrence_and_of_series(world, db_session):
    """Waiting: the family cancels it (this, or this and following) until it starts;
    staff cancel, move or resize it; nobody accepts, confirms or completes it."""
    made = book(db_session, world, count=2)
    ts = made[0]
    assert allowed_actions(ts, world.parent, NOW) == {Action.CANCEL, Action.CANCEL_FOLLOWING}
    assert allowed_actions(ts, world.tutor, NOW) == {
        Action.CANCEL,
        Action.CANCEL_FOLLOWING,
        Action.CHANGE_DURATION,
        Action.RESCHEDULE,
        Action.RESCHEDULE_FOLLOWING,
    }
    assert allowed_actions(ts, world.counselor, NOW) == frozenset()
    started = ts.starts_at + timedelta(minutes=1)
    assert allowed_actions(ts, world.parent, started) == frozenset()
    with pytest.raises(DomainError, match="waiting for hours; it cannot be accepted"):
        scheduling.accept_session(db_session, world.tenant, world.parent, ts, now=NOW)
    proposed = propose(db_session, world, count=1, first=date(2027, 2, 2))[0]
    assert Action.ACCEPT_SERIES in allowed_actions(proposed, world.parent, NOW)
    assert Action.ACCEPT_SERIES not in allowed_actions(
        proposed, world.parent, proposed.starts_at + timedelta(minutes=1)
    )


def test_cancelling_a_waiting_occurrence_moves_no_hours(world, db_session):
    package = give(db_session, world, "1", start=date(2027, 1, 1))
    made = book(db_session, world, count=2)
    scheduling.cancel_session(db_session, world.tenant, world.parent, made[1], now=NOW)
    assert made[1].status == SessionStatus.CANCELLED
    assert entries(db_session, package) == [(EntryKind.GRANT, 60), (EntryKind.DEBIT, -60)]


def test_moving_a_waiting_occurrence_alone_keeps_it_waiting(world, db_session):
    made = book(db_session, world, count=2)
    scheduling.reschedule(
        db_session, world.tenant, world.tutor, made[0], made[0].starts_at + timedelta(hours=2), NOW
    )
    assert made[0].status == WAITING and made[0].series_label == "1 of 2 · every Tue"


def test_hours_helpers_never_touch_ledger_entries(world, db_session):
    """A series moves hours only through `prepbase.hours` (append-only ledger)."""
    give(db_session, world, "4", start=date(2027, 1, 1))
    book(db_session, world, count=6)
    assert hours.audit(db_session) == []
    total = db_session.scalar(select(Package.remaining_minutes))
    assert total == 0


def test_waiting_occurrences_are_handed_over_before_a_deactivation(world, db_session):
    """A departing tutor's series waits for hours in part: those occurrences are theirs
    too, so deactivation waits for them, and Reassign all hands them over still waiting."""
    give(db_session, world, "2", start=date(2027, 1, 1))
    made = book(db_session, world, count=4)
    assert statuses(made) == [UPCOMING, UPCOMING, WAITING, WAITING]
    nora = hire(db_session, world)
    with pytest.raises(SessionsToHandOver, match="still has 4 "):
        people.set_active(db_session, world.admin, world.tutor, False)
    moved = scheduling.reassign_all(
        db_session, world.tenant, world.admin, world.tutor, nora, anyway=True, now=NOW
    )
    assert sorted(ts.id for ts in moved) == sorted(ts.id for ts in made)
    for ts in made:
        db_session.refresh(ts)
    assert [(ts.staff_id, ts.status) for ts in made] == [
        (nora.id, UPCOMING),
        (nora.id, UPCOMING),
        (nora.id, WAITING),
        (nora.id, WAITING),
    ]
    people.set_active(db_session, world.admin, world.tutor, False)
    assert world.tutor.active is False
