"""Calendar feeds: made and revoked from the portals, read back through the icalendar
parser (time zone, DST, cancelled sessions), isolated per business and per person."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from prepbase import calendar_feeds, scheduling
from prepbase.models import CalendarFeed, utcnow
from prepbase.reports import _utc_offsets
from tests.test_tutor_sessions import World, local_at, local_day

ZONE = ZoneInfo("America/New_York")


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def world(app, business, db_session) -> World:
    return World(app, business, db_session)


def make_feed(client, auth, business, role: str) -> str:
    """Sign in as `role`, make the feed from the portal, sign out; the feed's path."""
    auth.as_role(business, role)
    portal = "tutor" if role in ("tutor", "counselor", "admin") else "family"
    page = client.get(f"/acme/{portal}/calendar")
    assert page.status_code == 200 and "You have no calendar address." in text(page)
    made = client.post(f"/acme/{portal}/calendar")
    assert made.status_code == 200
    url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', text(made)).group(1)
    assert "Copy this address now; it is shown only once." in text(made)
    again = text(client.get(f"/acme/{portal}/calendar"))
    assert url not in again and "For safety it is not shown again." in again
    auth.logout(business)
    assert url.startswith("http://localhost/acme/calendar/") and url.endswith(".ics")
    return url.removeprefix("http://localhost")


def events(client, path: str) -> dict[str, icalendar.Event]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(response.get_data())
    assert str(cal["version"]) == "2.0"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def uid(ts) -> str:
    return f"session-{ts.id}@acme.prepbase"


def next_dst_change(now: datetime) -> datetime:
    """The next instant the business's clocks change (found, not hard-coded)."""
    segments = _utc_offsets("America/New_York", now, now + timedelta(days=400))
    return next(start for start, _ in segments[1:] if start > now)


def test_staff_feed_round_trips_through_icalendar(client, auth, business, world):
    world.give("20")
    upcoming = world.book(90, at=local_at(local_day(2), 16))
    pending = world.propose(60, at=local_at(local_day(3), 9), student=1)
    cancelled = world.book(60, at=local_at(local_day(4), 11))
    with world.scope():
        scheduling.cancel_session(world.db, business.tenant, business.parent, cancelled)
        world.db.commit()
    # one session on each side of the next DST change, both at 10:00 local time
    change = next_dst_change(utcnow()).astimezone(ZONE).date()
    before = world.book(60, at=local_at(change - timedelta(days=2), 10))
    after = world.book(60, at=local_at(change + timedelta(days=2), 10))
    world.propose(60, staff=business.counselor, service="counseling")  # Carl's, not Tara's

    path = make_feed(client, auth, business, "tutor")
    found = events(client, path)  # no sign-in needed
    assert set(found) == {uid(upcoming), uid(pending), uid(cancelled), uid(before), uid(after)}

    event = found[uid(upcoming)]
    start = event.decoded("dtstart")
    assert start.tzinfo.key == "America/New_York"
    assert event["dtstart"].params["TZID"] == "America/New_York"
    assert start == upcoming.starts_at and start.time() == time(16, 0)
    assert event.decoded("dtend") - start == timedelta(minutes=90)
    assert str(event["summary"]) == "Tutoring: Ada Acme"
    assert str(event["status"]) == "CONFIRMED"
    assert str(found[uid(pending)]["status"]) == "TENTATIVE"
    assert str(found[uid(pending)]["summary"]) == "Proposed: Tutoring: Ben Acme"
    assert str(found[uid(cancelled)]["status"]) == "CANCELLED"
    assert int(found[uid(cancelled)]["sequence"]) == 1

    # across the change: the same local hour, a different UTC hour
    local_before = found[uid(before)].decoded("dtstart")
    local_after = found[uid(after)].decoded("dtstart")
    assert local_before.time() == local_after.time() == time(10, 0)
    assert local_before.utcoffset() != local_after.utcoffset()
    assert local_before.astimezone(UTC).hour != local_after.astimezone(UTC).hour
    assert local_before == before.starts_at and local_after == after.starts_at


def test_family_feeds_show_what_each_person_sees(client, auth, business, world):
    world.give("20")
    world.give("20", student=1)
    ada = world.book(60, at=local_at(local_day(2), 9))
    ben = world.book(60, at=local_at(local_day(2), 11), student=1)
    parent_path = make_feed(client, auth, business, "parent")
    parent_events = events(client, parent_path)
    assert set(parent_events) == {uid(ada), uid(ben)}
    assert str(parent_events[uid(ada)]["summary"]) == "Tutoring with Tara Tutor (Ada)"
    student_path = make_feed(client, auth, business, "student")
    assert set(events(client, student_path)) == {uid(ada)}  # a student sees only themself


def test_revoke_and_regenerate(client, auth, business, world, db_session):
    path = make_feed(client, auth, business, "tutor")
    assert client.get(path).status_code == 200
    auth.as_role(business, "tutor")
    renewed = client.post("/acme/tutor/calendar")
    new_path = re.search(r'value="http://localhost([^"]+)"', text(renewed)).group(1)
    assert new_path != path
    assert client.get(path).status_code == 404  # the old address stops working at once
    assert client.get(new_path).status_code == 200
    revoked = client.post("/acme/tutor/calendar/revoke")
    assert revoked.status_code == 303
    assert client.get(new_path).status_code == 404
    assert "You have no calendar address." in text(client.get("/acme/tutor/calendar"))
    # only hashes are stored, never the token
    with world.scope():
        stored = db_session.scalars(select(CalendarFeed.token_hash)).all()
    token = new_path.removeprefix("/acme/calendar/").removesuffix(".ics")
    assert calendar_feeds.hash_token(token) in stored and token not in stored


def test_unknown_token_and_foreign_business_token_are_404(
    app, client, auth, business, other_business, world, db_session
):
    assert client.get("/acme/calendar/not-a-token.ics").status_code == 404
    assert client.get("/acme/calendar/.ics").status_code == 404
    rival = World(app, other_business, db_session)
    rival.give("10")
    rival_session = rival.book(60)
    with rival.scope():
        raw = calendar_feeds.create_feed(db_session, other_business.tutor)
        db_session.commit()
    assert client.get(f"/rival/calendar/{raw}.ics").status_code == 200
    assert client.get(f"/acme/calendar/{raw}.ics").status_code == 404  # under another business
    world.give("10")
    mine = world.book(60)
    path = make_feed(client, auth, business, "tutor")
    found = events(client, path)
    assert uid(mine) in found and f"session-{rival_session.id}@rival.prepbase" not in found
    assert all(str(u).endswith("@acme.prepbase") for u in found)


def test_a_deactivated_owner_feed_stops(client, auth, business, world, db_session):
    path = make_feed(client, auth, business, "tutor")
    with world.scope():
        business.tutor.active = False
        db_session.add(business.tutor)
        db_session.commit()
    assert client.get(path).status_code == 404


def test_feed_actions_need_csrf_and_the_right_portal(raw_client, client, auth, business):
    auth.as_role(business, "parent")
    assert client.get("/acme/tutor/calendar").status_code == 403
    assert client.post("/acme/tutor/calendar").status_code == 403
    auth.logout(business)
    raw_client.post(
        "/acme/login", data={"email": business.tutor.email, "password": business.password}
    )
    assert raw_client.post("/acme/tutor/calendar").status_code == 400  # no CSRF token
