"""Propose Session's "Book it now for the family" (admins): the booking an owner takes on
the phone, upcoming at once with its hours used now (`scheduling.book_for_family`), from
the page; refused, with nothing written, to anyone else or for a group or a series."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from prepbase.models import LedgerEntry, OutboundEmail, SessionStatus, TutoringSession
from tests.test_series_pages import series_form
from tests.test_tutor_sessions import World, propose_data

NEW = "/acme/tutor/sessions/new"


@pytest.fixture
def world(app, db_session, business) -> World:
    return World(app, business, db_session)


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


def written(world) -> tuple[int, int]:
    with world.scope():
        return (
            world.db.scalar(select(func.count(TutoringSession.id))),
            world.db.scalar(select(func.count(LedgerEntry.id))),
        )


def test_the_page_offers_it_to_admins_only(admin, client, auth, business):
    assert "Book it now for the family" in admin.get(NEW).get_data(as_text=True)
    auth.logout(business)
    auth.as_role(business, "tutor")
    assert "Book it now for the family" not in client.get(NEW).get_data(as_text=True)


def test_an_admin_books_it_now_upcoming_with_its_hours_used(admin, world, business):
    package = world.give("5")
    response = admin.post(NEW, data=propose_data(business, book_now="y"))
    assert response.status_code == 303
    with world.scope():
        ts = world.db.scalars(select(TutoringSession)).one()
        world.db.refresh(package)
        booked = world.db.scalars(
            select(OutboundEmail.to_addr).where(OutboundEmail.subject.like("Booked%"))
        ).all()
        body = world.db.scalars(select(OutboundEmail.body)).first()
    assert response.headers["Location"] == f"/acme/tutor/sessions/{ts.id}"
    assert (ts.status, ts.package_id, ts.charged_minutes) == (
        SessionStatus.UPCOMING,
        package.id,
        90,
    )
    assert ts.scheduled_by_id == business.admin.id and not ts.booked_by_family
    assert package.remaining_minutes == 5 * 60 - 90
    assert business.parent.email in booked and business.tutor.email in booked
    assert "booked it for the family" in body
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "1.5 hours used from Growth Package" in page


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"repeat": "y", "until": "", "count": "4"}, "propose a group or a weekly series"),
        ({"others": "OTHER"}, "propose a group or a weekly series"),
    ],
)
def test_a_group_or_a_series_is_not_booked_now(admin, world, business, extra, message):
    world.give("5")
    if "others" in extra:
        extra = {"others": str(business.students[1].id)}
    response = admin.post(NEW, data=propose_data(business, book_now="y", **extra))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert written(world)[0] == 0


def test_without_hours_it_is_refused_with_the_reason_and_nothing_written(admin, world, business):
    before = written(world)
    response = admin.post(NEW, data=propose_data(business, book_now="y"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Not enough hours: Ada has 0 hours of Tutoring left" in body
    assert "nothing was booked" in body
    assert written(world) == before


def test_a_tutor_cannot_book_for_a_family(client, auth, world, business):
    world.give("5")
    auth.as_role(business, "tutor")
    response = client.post(NEW, data=propose_data(business, book_now="y"))
    assert response.status_code == 422
    assert "Only an admin books for a family" in response.get_data(as_text=True)
    assert written(world)[0] == 0


# --- Accept for the family, on a proposal's page -----------------------------------------


def test_an_admin_accepts_a_proposal_for_the_family_from_its_page(admin, world, business):
    package = world.give("5")
    ts = world.propose(90)
    page = admin.get(f"/acme/tutor/sessions/{ts.id}").get_data(as_text=True)
    assert "Accept for the family" in page
    response = admin.post(f"/acme/tutor/sessions/{ts.id}/accept-for-family")
    assert response.status_code == 303
    with world.scope():
        world.db.refresh(ts)
        world.db.refresh(package)
        debit = world.db.scalars(select(LedgerEntry).where(LedgerEntry.session_id == ts.id)).one()
    assert (ts.status, ts.charged_minutes) == (SessionStatus.UPCOMING, 90)
    assert package.remaining_minutes == 5 * 60 - 90 and debit.actor_id == business.admin.id
    shown = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Accepted for the family: Ada Acme" in shown
    assert "session is upcoming, 1.5 hours used from Growth Package" in shown
    assert "Accept for the family" not in shown.split("Accepted for the family", 1)[1]
    # Again (a replayed request): refused, nothing debited twice.
    again = admin.post(f"/acme/tutor/sessions/{ts.id}/accept-for-family")
    assert again.status_code == 422
    with world.scope():
        assert written(world)[1] == 2  # the package's credit and this one debit


def test_a_tutor_is_not_offered_it_and_cannot_post_it(client, auth, world, business):
    world.give("5")
    ts = world.propose(60)
    auth.as_role(business, "tutor")
    assert "Accept for the family" not in client.get(f"/acme/tutor/sessions/{ts.id}").get_data(
        as_text=True
    )
    before = written(world)
    assert client.post(f"/acme/tutor/sessions/{ts.id}/accept-for-family").status_code in (
        403,
        404,
        422,
    )
    assert written(world) == before


def test_without_hours_accepting_for_the_family_is_refused(admin, world, business):
    ts = world.propose(60)
    before = written(world)
    response = admin.post(f"/acme/tutor/sessions/{ts.id}/accept-for-family")
    assert response.status_code == 422
    assert "Not enough hours" in response.get_data(as_text=True)
    assert written(world) == before


def test_a_series_preview_carries_no_book_now_the_staff_member_did_not_tick(
    client, auth, world, business
):
    """The series preview carries the form along as hidden inputs: a checkbox left
    unticked must stay absent, or confirming the series would ask to book it now."""
    world.give("20")
    auth.as_role(business, "tutor")
    preview = client.post(NEW, data=series_form(business, count="3"))
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Propose 3 sessions" in body
    assert 'name="repeat" value="y"' in body
    assert 'name="book_now"' not in body
