"""E-mails say what and where, and carry iCalendar invitations; feeds carry the same
fields (issue 14, part F). The invitations are read back with `icalendar`, as a calendar
client would: UID stable across a move, SEQUENCE increasing, CANCEL on cancel."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from prepbase import categories, invites, people, scheduling
from prepbase.localtime import local_to_utc
from prepbase.mail import sessions as session_mail
from prepbase.mail.smtp import Outgoing, build
from prepbase.models import OutboundEmail, TutoringSession, utcnow
from tests.factories import business_today
from tests.test_category_booking import online
from tests.test_series_pages import Acme


@pytest.fixture
def acme(app, business, db_session, monkeypatch) -> Acme:
    # Domain calls here run outside a request: links need the public base address.
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://prepbase.example")
    return Acme(app, business, db_session)


def mails(acme, to: str, subject_start: str) -> list[OutboundEmail]:
    with acme.scope():
        return list(
            acme.db.scalars(
                select(OutboundEmail)
                .where(OutboundEmail.to_addr == to, OutboundEmail.subject.startswith(subject_start))
                .order_by(OutboundEmail.id)
            )
        )


def event_of(message: OutboundEmail) -> tuple[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(message.ical)
    [event] = cal.walk("VEVENT")
    return str(cal["METHOD"]), event


ACME = []  # the factory business's tenant, for `at`


def at(days: int, hour: int = 16):
    """A start `days` ahead at `hour` (the business's wall clock)."""
    return local_to_utc(ACME[0], business_today(days), time(hour))


@pytest.fixture
def online_sat(acme):
    """An Online (virtual) category with a subject SAT, Tara teaching it with her link."""
    b = acme.b
    ACME[:] = [b.tenant]
    with acme.scope():
        virtual = online(acme.db, name="Online", link_lead_minutes=60)
        sat = categories.save_subject(acme.db, None, name="SAT", category=virtual)
        categories.set_staff_subjects(acme.db, b.tutor, [sat.id])
        b.tutor.default_meeting_link = "https://meet.example.com/tara"
        acme.db.commit()
        return virtual, sat


def test_a_booking_invites_the_family_and_the_staff_member_and_a_move_updates_it(acme, online_sat):
    _virtual, sat = online_sat
    b = acme.b
    acme.give("6")
    with acme.scope():
        ts = scheduling.book_session(
            acme.db, b.tenant, b.parent, student=b.students[0], staff=b.tutor,
            service="tutoring", starts_at=at(3), duration_minutes=60, subject=sat,
        )  # fmt: skip
        acme.db.commit()
        ts_id = ts.id
    [booked] = mails(acme, b.parent.email, "Booked:")
    method, first = event_of(booked)
    assert method == "REQUEST"
    assert str(first["UID"]) == f"session-{ts_id}@acme.prepbase"
    assert "SAT" in str(first["SUMMARY"]) and str(first["STATUS"]) == "CONFIRMED"
    assert str(first["LOCATION"]) == "Virtual Meeting"  # the link shows 60 min before only
    assert str(first["URL"]).endswith(f"/acme/family/sessions/{ts_id}")
    assert "What: Online · SAT" in booked.body and "Where: Virtual Meeting" in booked.body
    [to_staff] = mails(acme, b.tutor.email, "Booked:")
    assert str(event_of(to_staff)[1]["URL"]).endswith(f"/acme/tutor/sessions/{ts_id}")
    with acme.scope():
        ts = acme.db.get(TutoringSession, ts_id)
        scheduling.reschedule(acme.db, b.tenant, b.tutor, ts, at(4))
        acme.db.commit()
    [moved] = mails(acme, b.parent.email, "Moved:")
    method, second = event_of(moved)
    assert method == "REQUEST" and second["UID"] == first["UID"]
    assert int(second["SEQUENCE"]) > int(first["SEQUENCE"])
    assert second.decoded("DTSTART") > first.decoded("DTSTART")
    with acme.scope():
        ts = acme.db.get(TutoringSession, ts_id)
        scheduling.cancel_session(acme.db, b.tenant, b.tutor, ts, "Ill")
        acme.db.commit()
    [cancelled] = mails(acme, b.parent.email, "Cancelled:")
    method, third = event_of(cancelled)
    assert method == "CANCEL" and third["UID"] == first["UID"]
    assert str(third["STATUS"]) == "CANCELLED"
    assert int(third["SEQUENCE"]) > int(second["SEQUENCE"])


def test_an_accepted_proposal_invites_both_sides(acme, online_sat):
    virtual, sat = online_sat
    b = acme.b
    acme.give("6")
    with acme.scope():
        ts = scheduling.propose_session(
            acme.db, b.tenant, b.tutor, student=b.students[0], staff=b.tutor,
            service="tutoring", starts_at=at(3), duration_minutes=60, subject=sat,
        )  # fmt: skip
        acme.db.commit()
        proposed = mails(acme, b.parent.email, "Tara Tutor proposed")
        assert proposed and proposed[0].ical is None
        assert "What: Online · SAT" in proposed[0].body
        scheduling.accept_session(acme.db, b.tenant, b.parent, ts)
        acme.db.commit()
    for person in (b.parent, b.tutor):
        [accepted] = mails(acme, person.email, "Accepted:")
        method, event = event_of(accepted)
        assert method == "REQUEST" and str(event["UID"]).startswith(f"session-{ts.id}@")


def test_the_attachment_is_a_text_calendar_part_with_its_method(acme, online_sat):
    b = acme.b
    acme.give("6")
    with acme.scope():
        ts = scheduling.book_session(
            acme.db, b.tenant, b.parent, student=b.students[0], staff=b.tutor,
            service="tutoring", starts_at=at(3), duration_minutes=60,
        )  # fmt: skip
        acme.db.commit()
    [row] = mails(acme, b.parent.email, "Booked:")
    email = build(
        Outgoing(row.id, row.to_addr, row.subject, row.body, row.html_body, row.message_id,
                 row.created_at, row.ical),
        sender="PrepBase <mail@prepbase.invalid>", reply_address=None,
    )  # fmt: skip
    [part] = [p for p in email.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert str(event["UID"]) == f"session-{ts.id}@acme.prepbase"
    assert event_of(row)[1]["DTSTART"].params["TZID"] == "America/New_York"


def test_a_student_address_never_reaches_the_familys_invitation(acme):
    b = acme.b
    ACME[:] = [b.tenant]
    acme.give("6")
    with acme.scope():
        home = online(acme.db, name="In home", location_type="student_address")
        people.update_family(acme.db, b.admin, b.family, name=b.family.name,
                             address="9 Elm St", phone="")  # fmt: skip
        scheduling.book_session(
            acme.db, b.tenant, b.parent, student=b.students[0], staff=b.tutor,
            service="tutoring", starts_at=at(3), duration_minutes=60, category=home,
        )  # fmt: skip
        acme.db.commit()
    for message in mails(acme, b.parent.email, "Booked:"):
        assert "Elm" not in message.ical and "Elm" not in message.body
    [staff] = mails(acme, b.tutor.email, "Booked:")
    assert str(event_of(staff)[1]["LOCATION"]) == "9 Elm St"


def test_a_categorys_reminder_time_overrides_the_business_default(acme):
    b = acme.b
    acme.give("6")
    with acme.scope():
        early = online(acme.db, name="Early", reminder_hours=72)
        off = online(acme.db, name="Quiet", reminder_hours=0)
        made = [
            scheduling.book_session(
                acme.db,
                b.tenant,
                b.parent,
                student=b.students[0],
                staff=b.tutor,
                service="tutoring",
                starts_at=utcnow().replace(second=0, microsecond=0) + delay,
                duration_minutes=60,
                category=kind,
            )
            for kind, delay in (
                (early, timedelta(hours=48)),  # inside 72 h, outside the business's 24 h
                (off, timedelta(hours=12)),  # inside 24 h, but this category sends none
                (None, timedelta(hours=30)),  # the default category: 24 h, not yet
            )
        ]
        acme.db.commit()
        assert session_mail.send_due_reminders(acme.db, b.tenant) == 1
        acme.db.expire_all()
        assert [acme.db.get(TutoringSession, t.id).reminder_sent_at is not None for t in made] == [
            True, False, False,
        ]  # fmt: skip
        [reminder] = mails(acme, b.parent.email, "Reminder")
        assert "What: Early" in reminder.body


def test_the_feed_carries_location_url_sequence_and_last_modified(
    client, auth, business, acme, online_sat
):
    _virtual, sat = online_sat
    b = business
    acme.give("6")
    with acme.scope():
        ts = scheduling.book_session(
            acme.db, b.tenant, b.parent, student=b.students[0], staff=b.tutor,
            service="tutoring", starts_at=utcnow().replace(second=0, microsecond=0)
            + timedelta(minutes=50), duration_minutes=60, subject=sat,
        )  # fmt: skip
        acme.db.commit()
    auth.as_role(b, "parent")
    response = client.post("/acme/family/calendar", follow_redirects=True)
    token = next(
        part.split(".ics")[0]
        for part in response.get_data(as_text=True).split("/acme/calendar/")[1:]
        if ".ics" in part
    )
    feed = client.get(f"/acme/calendar/{token}.ics")
    [event] = icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert str(event["UID"]) == f"session-{ts.id}@acme.prepbase"
    # 50 minutes ahead, inside the 60-minute lead: the link is the location now
    assert str(event["LOCATION"]) == "https://meet.example.com/tara"
    assert str(event["URL"]).endswith(f"/acme/family/sessions/{ts.id}")
    assert int(event["SEQUENCE"]) == ts.ical_sequence
    assert "LAST-MODIFIED" in event and "SAT" in str(event["SUMMARY"])


def test_the_shared_vtimezone_is_what_icalendar_would_add():
    """`invites.with_timezones` inserts the process's copy of a zone's VTIMEZONE: the bytes
    are those of icalendar's own `add_missing_timezones`, again and again, and a calendar
    whose events are in UTC gets none."""
    now = datetime(2026, 11, 29, 15, tzinfo=UTC)

    def calendar(zone: str) -> icalendar.Calendar:
        cal = invites.calendar("Acme; a feed, of two events", invites.REQUEST, zone, now)
        for day in (20, 27):
            event = icalendar.Event()
            event.add("uid", f"{day}@acme")
            event.add("summary", "BEGIN:VEVENT in a summary\nand a line break " + "x" * 90)
            event.add("dtstart", datetime(2027, 3, day, 16, tzinfo=ZoneInfo(zone)))
            cal.add_component(event)
        return cal

    expected = calendar("America/New_York")
    expected.add_missing_timezones(first_date=date(2025, 1, 1), last_date=date(2029, 1, 1))
    first = invites.with_timezones(calendar("America/New_York"), "America/New_York", now)
    again = invites.with_timezones(calendar("America/New_York"), "America/New_York", now)
    assert first == again == expected.to_ical()
    assert b"BEGIN:VTIMEZONE" in first and b"TZID:America/New_York" in first
    assert b"BEGIN:VTIMEZONE" not in invites.with_timezones(calendar("UTC"), "UTC", now)
