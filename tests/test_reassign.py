"""Staff changes (issue 13): admins reassign a pending or upcoming session to another
staff member (no hours move, everyone concerned is told), and deactivating a staff member
first hands over their sessions, so nothing is left stranded under "(inactive)"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from prepbase import availability, lifecycle, people, scheduling
from prepbase.errors import DomainError, NotFound
from prepbase.lifecycle import Action, allowed_actions
from prepbase.models import (
    EntryKind,
    LedgerEntry,
    OutboundEmail,
    Role,
    Service,
    SessionStatus,
    StaffService,
    TutoringSession,
    User,
)
from prepbase.people import SessionsToHandOver
from prepbase.tenancy import as_tenant
from tests.test_hours_rules import NOW, TOMORROW, give
from tests.test_lifecycle import STATES, _state
from tests.test_tutor_sessions import World, local_at, local_day, statements, text

# TOMORROW is Wed 2 Dec 2026, 12:00 UTC: 7:00 AM in New York.
NINE = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # Wed 2 Dec, 9:00 AM EST


@pytest.fixture
def world(app, business, db_session):
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def hire(db_session, business, name="Nora New", services=(Service.TUTORING,), role=Role.TUTOR):
    """Another staff member of the business (no password needed here)."""
    email = f"{name.split()[0].lower()}@{business.tenant.slug}.example.com"
    user = User(name=name, email=email, role=role, password_hash=None)
    user.service_rows = [StaffService(service=s) for s in services]
    db_session.add(user)
    db_session.flush()
    return user


def book(db_session, business, at=NINE, minutes=60, *, student=0, staff=None):
    return scheduling.book_session(
        db_session, business.tenant, business.parent, student=business.students[student],
        staff=staff or business.tutor, service="tutoring", starts_at=at,
        duration_minutes=minutes, now=NOW,
    )  # fmt: skip


def propose(db_session, business, at=NINE, minutes=60, *, student=0, staff=None):
    staff = staff or business.tutor
    return scheduling.propose_session(
        db_session, business.tenant, staff, student=business.students[student], staff=staff,
        service="tutoring", starts_at=at, duration_minutes=minutes, now=NOW,
    )  # fmt: skip


def reassign(db_session, business, ts, to, **kw):
    kw.setdefault("now", NOW)
    return scheduling.reassign_session(
        db_session, business.tenant, kw.pop("actor", business.admin), ts, to, **kw
    )


def ledger(db_session) -> list[tuple[int, str, int]]:
    rows = db_session.execute(
        select(LedgerEntry.package_id, LedgerEntry.kind, LedgerEntry.minutes).order_by(
            LedgerEntry.id
        )
    )
    return [tuple(row) for row in rows]


def mails(db_session) -> dict[str, list[OutboundEmail]]:
    found: dict[str, list[OutboundEmail]] = {}
    for message in db_session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)):
        found.setdefault(message.to_addr.split("@")[0], []).append(message)
    return found


def forget_mails(db_session) -> None:
    for message in db_session.scalars(select(OutboundEmail)):
        db_session.delete(message)
    db_session.flush()


# --- reassigning one session ------------------------------------------------------------


def test_reassign_hands_an_upcoming_session_over_and_moves_no_hours(world, db_session):
    package = give(db_session, world, "10")
    nora = hire(db_session, world)
    ts = book(db_session, world)
    before = ledger(db_session)
    forget_mails(db_session)
    previous = reassign(db_session, world, ts, nora)
    assert previous.id == world.tutor.id
    db_session.refresh(ts)
    assert (ts.staff_id, ts.status, ts.package_id, ts.charged_minutes) == (
        nora.id, SessionStatus.UPCOMING, package.id, 60,
    )  # fmt: skip
    assert (ts.starts_at, ts.duration_minutes) == (NINE, 60)
    assert ledger(db_session) == before  # no hours move
    db_session.refresh(package)
    assert package.remaining_minutes == 540
    # both staff members and the family are told; the admin who did it is not
    sent = mails(db_session)
    # (Ivy is a parent of the family who has not accepted her invitation yet)
    assert set(sent) == {"tara.tutor", "nora", "pat.parent", "ivy", "ada.student"}
    subject = "Ada's session of Wed 2 Dec 2026, 9:00 AM EST is now with Nora New"
    assert all(m.subject == subject for ms in sent.values() for m in ms)
    assert "Acme Owner reassigned Ada Acme's tutoring session with Nora New" in (
        sent["pat.parent"][0].body
    )
    assert "Tara Tutor had it before" in sent["pat.parent"][0].body
    assert "hours stay as they were" in sent["pat.parent"][0].body
    assert "no longer on your list" in sent["tara.tutor"][0].body
    assert "on your list now" in sent["nora"][0].body


def test_a_pending_proposal_is_reassigned_and_still_holds_no_hours(world, db_session):
    give(db_session, world, "10")
    nora = hire(db_session, world)
    ts = propose(db_session, world)
    reassign(db_session, world, ts, nora)
    assert (ts.staff_id, ts.status, ts.charged_minutes) == (nora.id, SessionStatus.PENDING, 0)
    scheduling.accept_session(db_session, world.tenant, world.parent, ts, now=NOW)
    assert (ts.staff_id, ts.status, ts.charged_minutes) == (nora.id, SessionStatus.UPCOMING, 60)


def test_the_admin_who_teaches_is_not_mailed_about_their_own_move(world, db_session):
    give(db_session, world, "10")
    ts = book(db_session, world)
    forget_mails(db_session)
    reassign(db_session, world, ts, world.admin)
    assert ts.staff_id == world.admin.id
    assert set(mails(db_session)) == {"tara.tutor", "pat.parent", "ivy", "ada.student"}


@pytest.mark.parametrize(
    ("target", "field", "message"),
    [
        ("counselor", "staff", "Carl Counselor does not offer Tutoring."),
        ("inactive", "staff", "Choose an active tutor or counselor."),
        ("parent", "staff", "Choose an active tutor or counselor."),
        ("tutor", "staff", "Tara Tutor gives this session already"),
        ("busy", "start_time", "Nora New already has a session then"),
    ],
)
def test_reassign_refuses_who_cannot_take_it(world, db_session, target, field, message):
    give(db_session, world, "10")
    give(db_session, world, "10", student=1)
    nora = hire(db_session, world)
    ts = book(db_session, world)
    who = {
        "counselor": world.counselor,
        "inactive": nora,
        "parent": world.parent,
        "tutor": world.tutor,
        "busy": nora,
    }[target]
    if target == "inactive":
        nora.active = False
        db_session.flush()
    if target == "busy":  # Nora teaches Ben from 9:30
        book(db_session, world, NINE + timedelta(minutes=30), student=1, staff=nora)
    with pytest.raises(DomainError, match=message) as refused:
        reassign(db_session, world, ts, who)
    assert refused.value.field == field
    db_session.refresh(ts)
    assert ts.staff_id == world.tutor.id


def test_outside_working_hours_or_in_time_off_only_when_the_admin_says_so(world, db_session):
    give(db_session, world, "10")
    nora = hire(db_session, world)
    # Nora works Wednesdays from 10:00 AM; the session is at 9:00.
    availability.set_weekly_hours(db_session, world.tenant, world.admin, nora, {2: [(600, 1020)]})
    ts = book(db_session, world)
    with pytest.raises(DomainError, match="outside Nora New's working hours") as refused:
        reassign(db_session, world, ts, nora)
    assert refused.value.field == "anyway"
    assert "Tick “Assign anyway”" in refused.value.message
    reassign(db_session, world, ts, nora, anyway=True)
    assert ts.staff_id == nora.id
    # time off counts too
    later = book(db_session, world, NINE + timedelta(hours=3))  # noon, inside her hours
    availability.add_time_off(
        db_session, world.tenant, world.admin, nora,
        first_day=NINE.date(), last_day=NINE.date(), note="Dentist",
    )  # fmt: skip
    with pytest.raises(DomainError, match="falls in Nora New's time off"):
        reassign(db_session, world, later, nora)


def test_only_admins_reassign(world, db_session):
    give(db_session, world, "10")
    nora = hire(db_session, world)
    ts = book(db_session, world)
    # their own session, or their family's: they see it, but this is not their move
    for insider in (world.tutor, world.parent, world.student_user):
        with pytest.raises(DomainError, match="cannot do that") as refused:
            reassign(db_session, world, ts, nora, actor=insider)
        assert not isinstance(refused.value, NotFound)
    with pytest.raises(NotFound):  # another staff member's session: not theirs to see
        reassign(db_session, world, ts, nora, actor=world.counselor)
    assert ts.staff_id == world.tutor.id


def test_a_move_made_with_the_staff_member_of_before_a_reassignment_is_refused(world, db_session):
    # A request that read the session before another one reassigned it holds the lock of
    # the staff member it read, not of the one the session has now: it must not go on.
    give(db_session, world, "10")
    nora = hire(db_session, world)
    ts = book(db_session, world)
    db_session.execute(
        update(TutoringSession)
        .where(TutoringSession.id == ts.id)
        .values(staff_id=nora.id)
        .execution_options(synchronize_session=False)
    )
    assert ts.staff_id == world.tutor.id  # what this request read earlier
    with pytest.raises(DomainError, match="just given to another staff member"):
        scheduling.cancel_session(db_session, world.tenant, world.admin, ts, now=NOW)
    assert (ts.staff_id, ts.status) == (nora.id, SessionStatus.UPCOMING)


def test_the_table_offers_reassign_to_admins_on_open_sessions_not_taken_place():
    ts = TutoringSession(
        id=1, staff_id=3, student_id=100, status=SessionStatus.UPCOMING, attendance=None,
        starts_at=NINE, ends_at=NINE + timedelta(hours=1), booked_by_family=False,
    )  # fmt: skip
    admin, tutor = User(id=4, role=Role.ADMIN), User(id=3, role=Role.TUTOR)
    assert Action.REASSIGN in allowed_actions(ts, admin, NOW)
    assert Action.REASSIGN in allowed_actions(ts, admin, NINE + timedelta(minutes=10))
    assert Action.REASSIGN not in allowed_actions(ts, tutor, NOW)
    ts.attendance = "present"
    with pytest.raises(DomainError, match="stays with the staff member who gave it"):
        lifecycle.check(ts, admin, Action.REASSIGN, NINE + timedelta(minutes=10))
    for status, verb in (("completed", "completed; it cannot be reassigned"),
                         ("cancelled", "cancelled; it cannot be reassigned now")):  # fmt: skip
        ts.status = status
        with pytest.raises(DomainError, match=verb):
            lifecycle.check(ts, admin, Action.REASSIGN, NOW)


@pytest.mark.parametrize("state", STATES)
def test_reassign_does_exactly_what_the_table_allows(world, db_session, state):
    give(db_session, world, "24")
    nora = hire(db_session, world)
    ts = _state(db_session, world, state)
    db_session.flush()
    actors = [world.parent, world.student_user, world.tutor, world.admin, world.counselor]
    for when in (NOW, TOMORROW + timedelta(minutes=10)):
        for actor in actors:
            db_session.refresh(ts)
            allowed = Action.REASSIGN in allowed_actions(ts, actor, when)
            savepoint = db_session.begin_nested()
            try:
                reassign(db_session, world, ts, nora, actor=actor, now=when, anyway=True)
            except DomainError as refused:
                assert not allowed, (state, when, actor.role, refused.message)
            else:
                assert allowed, (state, when, actor.role)
            finally:
                savepoint.rollback()


# --- deactivating a staff member ---------------------------------------------------------


@pytest.fixture
def leaving(world, db_session):
    """Tara has an upcoming booking of Ada, a proposal for Ben and a booking of Ada that
    took place (attendance taken, no action plan yet); Nora offers Tutoring too."""
    packages = [give(db_session, world, "10"), give(db_session, world, "10", student=1)]
    nora = hire(db_session, world)
    upcoming = book(db_session, world)
    pending = propose(db_session, world, NINE + timedelta(days=1), student=1)
    forget_mails(db_session)
    return {"nora": nora, "upcoming": upcoming, "pending": pending, "packages": packages}


def test_deactivation_is_refused_while_sessions_remain(world, db_session, leaving):
    with pytest.raises(SessionsToHandOver, match="still has 2 pending or upcoming sessions"):
        people.set_active(db_session, world.admin, world.tutor, False)
    db_session.refresh(world.tutor)
    assert world.tutor.active is True
    # families and staff without sessions are deactivated as before
    people.set_active(db_session, world.admin, world.counselor, False)
    people.set_active(db_session, world.admin, world.parent, False)
    assert (world.counselor.active, world.parent.active) == (False, False)


def test_reassign_all_then_deactivate(world, db_session, leaving):
    before = ledger(db_session)
    moved = scheduling.reassign_all(
        db_session, world.tenant, world.admin, world.tutor, leaving["nora"], now=NOW
    )
    assert {ts.id for ts in moved} == {leaving["upcoming"].id, leaving["pending"].id}
    for ts in moved:
        db_session.refresh(ts)
        assert ts.staff_id == leaving["nora"].id
    assert ledger(db_session) == before
    sent = mails(db_session)
    assert len(sent["nora"]) == 2 and len(sent["tara.tutor"]) == 2 and len(sent["pat.parent"]) == 2
    people.set_active(db_session, world.admin, world.tutor, False)
    assert world.tutor.active is False


def test_reassign_all_is_all_or_none(world, db_session, leaving):
    nora = leaving["nora"]
    give(db_session, world, "10", student=1)
    book(db_session, world, NINE + timedelta(days=1, minutes=30), student=0, staff=nora)
    with pytest.raises(DomainError) as refused:
        scheduling.reassign_all(db_session, world.tenant, world.admin, world.tutor, nora, now=NOW)
    assert refused.value.message.startswith("Ben Acme, Thu 3 Dec 2026, 9:00 AM EST: ")
    assert refused.value.message.endswith("Nothing was reassigned.")
    db_session.rollback()  # the request's rollback
    with as_tenant(world.tenant.id):
        assert db_session.scalar(
            select(func.count(TutoringSession.id)).where(TutoringSession.staff_id == nora.id)
        ) == 0  # fmt: skip


def test_cancel_all_refunds_every_session_mails_the_families_then_deactivate(
    world, db_session, leaving
):
    ada_package = leaving["packages"][0]
    cancelled = scheduling.cancel_all(
        db_session, world.tenant, world.admin, world.tutor, "Tara is leaving us", now=NOW
    )
    assert len(cancelled) == 2
    for ts in cancelled:
        db_session.refresh(ts)
        assert (ts.status, ts.charged_minutes, ts.cancel_reason) == (
            SessionStatus.CANCELLED, 0, "Tara is leaving us",
        )  # fmt: skip
    db_session.refresh(ada_package)
    assert ada_package.remaining_minutes == 600
    refunds = [(p, m) for p, kind, m in ledger(db_session) if kind == EntryKind.REFUND]
    assert refunds == [(ada_package.id, 60)]  # the proposal held no hours
    sent = mails(db_session)
    assert len(sent["pat.parent"]) == 2
    assert all("Tara is leaving us" in m.body for m in sent["pat.parent"])
    people.set_active(db_session, world.admin, world.tutor, False)
    assert world.tutor.active is False


def test_a_session_that_took_place_stays_until_it_is_completed(world, db_session, leaving):
    started = scheduling.book_session(
        db_session, world.tenant, world.parent, student=world.students[0], staff=world.tutor,
        service="tutoring", starts_at=NOW - timedelta(hours=3), duration_minutes=60,
        now=NOW - timedelta(days=1),
    )  # fmt: skip
    scheduling.take_attendance(db_session, world.tenant, world.tutor, started, "present", now=NOW)
    moved = scheduling.reassign_all(
        db_session, world.tenant, world.admin, world.tutor, leaving["nora"], now=NOW
    )
    cancelled = scheduling.cancel_all(db_session, world.tenant, world.admin, world.tutor, now=NOW)
    assert started not in moved and cancelled == []
    with pytest.raises(SessionsToHandOver, match="still has 1 pending or upcoming session\\."):
        people.set_active(db_session, world.admin, world.tutor, False)
    scheduling.submit_action_plan(
        db_session, world.tenant, world.admin, started, topics="Essays", goals="",
        next_steps="", now=NOW,
    )  # fmt: skip
    assert started.status == SessionStatus.COMPLETED
    people.set_active(db_session, world.admin, world.tutor, False)
    assert world.tutor.active is False


def test_only_admins_hand_sessions_over(world, db_session, leaving):
    for verb in (
        lambda: scheduling.reassign_all(
            db_session, world.tenant, world.tutor, world.tutor, leaving["nora"], now=NOW
        ),
        lambda: scheduling.cancel_all(db_session, world.tenant, world.tutor, world.tutor, now=NOW),
    ):
        with pytest.raises(NotFound):
            verb()


# --- the pages ---------------------------------------------------------------------------


@pytest.fixture
def page_world(app, business, db_session) -> World:
    return World(app, business, db_session)


@pytest.fixture
def nora(page_world, db_session, business):
    with page_world.scope():
        user = hire(db_session, business)
        db_session.commit()
    return user


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


def test_admin_reassigns_from_the_session_page(admin, page_world, business, nora):
    package = page_world.give("10")
    ts = page_world.book(60, at=local_at(local_day(2), 16))
    page = text(admin.get(f"/acme/tutor/sessions/{ts.id}"))
    assert f'href="/acme/admin/sessions/{ts.id}/reassign"' in page
    form = text(admin.get(f"/acme/admin/sessions/{ts.id}/reassign"))
    assert "Nora New (Tutoring)" in form and "Carl Counselor" not in form
    assert ">Tara Tutor (Tutoring)<" not in form  # who has it now is not offered
    response = admin.post(f"/acme/admin/sessions/{ts.id}/reassign", data={"staff": str(nora.id)})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/acme/tutor/sessions/{ts.id}"
    assert "reassigned from Tara Tutor to Nora New" in text(admin.get(response.headers["Location"]))
    ts = page_world.refreshed(ts)
    assert ts.staff_id == nora.id
    assert page_world.ledger(package) == [("grant", 600), ("debit", -60)]
    with page_world.scope():
        to = set(page_world.db.scalars(select(OutboundEmail.to_addr)))
    assert {"nora@acme.example.com", "tara.tutor@acme.example.com"} <= to
    assert "pat.parent@acme.example.com" in to


def test_reassign_outside_working_hours_asks_for_assign_anyway(admin, page_world, business, nora):
    page_world.give("10")
    with page_world.scope():
        availability.set_weekly_hours(
            page_world.db,
            business.tenant,
            business.admin,
            nora,
            {d: [(540, 600)] for d in range(7)},
        )
        page_world.db.commit()
    ts = page_world.book(60, at=local_at(local_day(2), 16))
    url = f"/acme/admin/sessions/{ts.id}/reassign"
    response = admin.post(url, data={"staff": str(nora.id)}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<form id="reassign-form"')
    assert "outside Nora New&#39;s working hours" in body and "Assign anyway" in body
    assert page_world.refreshed(ts).staff_id == business.tutor.id
    response = admin.post(url, data={"staff": str(nora.id), "anyway": "y"})
    assert response.status_code == 303
    assert page_world.refreshed(ts).staff_id == nora.id


@pytest.mark.parametrize("role", ["tutor", "counselor", "parent", "student"])
def test_only_admins_may_open_reassign(client, auth, business, page_world, nora, role):
    page_world.give("10")
    ts = page_world.book(60)
    auth.as_role(business, role)
    url = f"/acme/admin/sessions/{ts.id}/reassign"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"staff": str(nora.id)}).status_code == 403
    if role == "tutor":
        assert "/reassign" not in text(client.get(f"/acme/tutor/sessions/{ts.id}"))
    assert page_world.refreshed(ts).staff_id == business.tutor.id


def test_a_completed_session_offers_no_reassign(admin, page_world, business, nora):
    page_world.give("10")
    ts = page_world.started(60)
    page_world.complete(ts)
    assert "/reassign" not in text(admin.get(f"/acme/tutor/sessions/{ts.id}"))
    url = f"/acme/admin/sessions/{ts.id}/reassign"
    assert "cannot be reassigned" not in text(admin.get(url))
    response = admin.post(url, data={"staff": str(nora.id)})
    assert response.status_code == 422
    assert "This session is completed; it cannot be reassigned." in text(response)
    assert page_world.refreshed(ts).staff_id == business.tutor.id


def test_the_staff_list_asks_before_deactivating(admin, page_world, business):
    page = text(admin.get("/acme/admin/staff"))
    assert f'href="/acme/admin/staff/{business.tutor.id}/deactivate"' in page
    page_world.give("10")
    page_world.book(60)
    page = text(admin.get(f"/acme/admin/staff/{business.tutor.id}/deactivate"))
    assert "First, 1 pending or upcoming session" in page
    assert "Deactivate Tara Tutor</button>" not in page


def test_a_forced_deactivation_with_sessions_is_refused(admin, page_world, business, nora):
    page_world.give("10")
    page_world.book(60)
    response = admin.post(f"/acme/admin/people/{business.tutor.id}/deactivate")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/acme/admin/staff/{business.tutor.id}/deactivate"
    page = text(admin.get(response.headers["Location"]))
    assert "Tara Tutor still has 1 pending or upcoming session." in page
    response = admin.post(f"/acme/admin/staff/{business.tutor.id}/deactivate")
    assert response.status_code == 422
    assert "Reassign or cancel them first" in text(response)
    page_world.db.refresh(business.tutor)
    assert business.tutor.active is True


def test_handing_over_one_by_one_then_deactivating(admin, page_world, business, nora):
    page_world.give("10")
    first = page_world.book(60, at=local_at(local_day(2), 16))
    second = page_world.book(90, at=local_at(local_day(3), 16))
    base = f"/acme/admin/staff/{business.tutor.id}"
    page = text(admin.get(f"{base}/deactivate"))
    assert "Reassign all" in page and "Cancel all 2 sessions" in page
    response = admin.post(
        f"{base}/sessions/{first.id}/reassign", data={f"s{first.id}-staff": str(nora.id)}
    )
    assert response.status_code == 303
    assert page_world.refreshed(first).staff_id == nora.id
    response = admin.post(f"{base}/sessions/{second.id}/cancel")
    assert response.status_code == 303
    page = text(admin.get(f"{base}/deactivate"))
    assert "1.5 hours went back to Growth Package" in page
    assert page_world.refreshed(second).status == SessionStatus.CANCELLED
    assert "No sessions to hand over" in page
    response = admin.post(f"{base}/deactivate")
    assert response.status_code == 303 and response.headers["Location"] == "/acme/admin/staff"
    assert "Tara Tutor is deactivated." in text(admin.get("/acme/admin/staff"))
    page_world.db.refresh(business.tutor)
    assert business.tutor.active is False


def test_handing_over_all_at_once(admin, page_world, business, nora):
    package = page_world.give("10")
    sessions = [page_world.book(60, at=local_at(local_day(d), 16)) for d in (2, 3, 4)]
    base = f"/acme/admin/staff/{business.tutor.id}"
    response = admin.post(f"{base}/reassign-all", data={"all-staff": str(nora.id)})
    assert response.status_code == 303
    assert "3 sessions reassigned to Nora New" in text(admin.get(f"{base}/deactivate"))
    assert {page_world.refreshed(ts).staff_id for ts in sessions} == {nora.id}
    # and back to Tara, then all cancelled
    with page_world.scope():
        for ts in sessions:
            scheduling.reassign_session(page_world.db, business.tenant, business.admin, ts,
                                        business.tutor)  # fmt: skip
        page_world.db.commit()
    response = admin.post(f"{base}/cancel-all", data={"cancel-all-reason": "Moving away"})
    assert response.status_code == 303
    assert "3 sessions cancelled; 3 hours went back" in text(admin.get(f"{base}/deactivate"))
    assert page_world.remaining(package) == 600
    assert {page_world.refreshed(ts).status for ts in sessions} == {SessionStatus.CANCELLED}
    assert admin.post(f"{base}/deactivate").status_code == 303


def test_a_refused_handover_over_htmx_swaps_the_section(admin, page_world, business, nora):
    page_world.give("10")
    page_world.give("10", student=1)
    first = page_world.book(60, at=local_at(local_day(2), 16))
    page_world.book(60, at=local_at(local_day(3), 16))
    page_world.book(60, at=local_at(local_day(2), 16), student=1, staff=nora)  # Nora is busy
    response = admin.post(
        f"/acme/admin/staff/{business.tutor.id}/reassign-all",
        data={"all-staff": str(nora.id)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<section id="handover"') and "<html" not in body
    assert "Nora New already has a session then" in body and "Nothing was reassigned." in body
    assert page_world.refreshed(first).staff_id == business.tutor.id


def test_another_business_rows_on_the_handover_page_are_404(
    admin, app, business, other_business, db_session, nora
):
    rival = World(app, other_business, db_session)
    rival.give("5")
    ts = rival.book(60)
    base = f"/acme/admin/staff/{business.tutor.id}"
    assert admin.post(f"{base}/sessions/{ts.id}/cancel").status_code == 404
    assert admin.post(f"{base}/sessions/{ts.id}/reassign").status_code == 404
    assert admin.get(f"/acme/admin/staff/{other_business.tutor.id}/deactivate").status_code == 404
    assert admin.post(f"/acme/admin/sessions/{ts.id}/reassign").status_code == 404
    assert rival.refreshed(ts).status == SessionStatus.UPCOMING


def test_the_handover_page_costs_the_same_statements_for_2_or_8_sessions(
    app, admin, page_world, business, nora
):
    page_world.give("20")
    page_world.give("20", student=1)
    url = f"/acme/admin/staff/{business.tutor.id}/deactivate"
    for day in (2, 3):
        page_world.book(60, at=local_at(local_day(day), 16))
    few = statements(app, admin, url)
    for day in (4, 5, 6):
        page_world.book(60, at=local_at(local_day(day), 16))
        page_world.propose(60, at=local_at(local_day(day), 10), student=1)
    assert "First, 8 pending or upcoming sessions" in text(admin.get(url))
    assert statements(app, admin, url) == few
