"""The Calendar through the routes, per role: the page and its htmx fragment, the
filters, refused views and days (422), whose sessions show, where they open, free times
that open Propose Session filled in, and the family's session page."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from prepbase import availability, people, scheduling
from prepbase.localtime import DAY_OUT_OF_RANGE
from prepbase.models import SessionStatus
from tests.factories import business_today
from tests.test_calendar_view import NEW_YORK, at
from tests.test_tutor_sessions import World, text

HX = {"HX-Request": "true"}
PORTALS = {"admin": "admin", "tutor": "tutor", "counselor": "tutor", "parent": "family"}


@pytest.fixture
def world(app, business, db_session) -> World:
    return World(app, business, db_session)


def propose(world: World, starts_at, *, staff=None, student=0, minutes=60):
    return world.propose(minutes, at=starts_at, staff=staff, student=student,
                         service=(staff or world.b.tutor).services[0].value)  # fmt: skip


def week_of(days: int = 10) -> date:
    return business_today(days)


def url(portal: str, **args: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/acme/{portal}/schedule" + (f"?{query}" if query else "")


def session_links(body: str) -> list[str]:
    return re.findall(r'<li class="cal-event[^"]*"[^>]*>\s*<a href="([^"]+)"', body)


def free_links(body: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'<a class="cal-free" href="([^"]+)"', body)]


# --- every portal -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(PORTALS))
def test_every_portal_has_a_calendar_in_its_navigation(client, auth, business, role):
    auth.as_role(business, role)
    home = client.get(f"/acme/{PORTALS[role]}/", follow_redirects=True)
    assert re.search(rf'<a href="/acme/{PORTALS[role]}/schedule"[^>]*>Calendar</a>', text(home))
    page = client.get(url(PORTALS[role]))
    assert page.status_code == 200
    body = text(page)
    assert "<h1>Calendar</h1>" in body
    assert 'aria-current="page">Calendar</a>' in body  # the navigation says where we are
    assert "Times in America/New York (E" in body
    assert 'id="calendar-view-week" href=' in body and 'aria-current="page">Week</a>' in body


def test_the_fragment_is_the_calendar_block_with_its_title(client, auth, business):
    auth.as_role(business, "admin")
    response = client.get(url("admin", view="week", date="2026-12-09"), headers=HX)
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith("<title>")
    assert '<div id="calendar">' in body
    assert "<title>Calendar · 7–13 Dec 2026 · PrepBase</title>" in body
    assert 'hx-swap-oob="innerHTML">Showing 7–13 Dec 2026.</div>' in body
    assert "HX-Request" in response.headers["Vary"]


def test_a_history_restore_gets_the_whole_page(client, auth, business):
    # The back button to an address htmx no longer holds a copy of: htmx 2 asks again,
    # marked HX-Request too, and puts the answer in the body, so it must be the page.
    auth.as_role(business, "admin")
    restore = client.get(
        url("admin", view="week", date="2026-12-09"),
        headers={**HX, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in text(restore) and "<h1>Calendar</h1>" in text(restore)


def test_previous_next_and_today_are_links_that_keep_the_view_and_filters(client, auth, business):
    auth.as_role(business, "admin")
    body = html.unescape(
        text(client.get(url("admin", view="day", date="2026-12-09", service="tutoring")))
    )
    links = dict(re.findall(r'<a id="calendar-(\w+)" href="([^"]+)" hx-get="\2"', body))
    assert links["previous"] == "/acme/admin/schedule?view=day&service=tutoring&date=2026-12-08"
    assert links["next"] == "/acme/admin/schedule?view=day&service=tutoring&date=2026-12-10"
    assert links["today"] == "/acme/admin/schedule?view=day&service=tutoring"
    views = dict(re.findall(r'<a id="calendar-view-(\w+)" href="([^"]+)"', body))
    assert views["month"] == "/acme/admin/schedule?view=month&service=tutoring&date=2026-12-09"
    assert 'hx-push-url="true"' in body
    month = html.unescape(text(client.get(views["month"])))
    assert '<h2 id="calendar-title">December 2026</h2>' in month
    assert 'href="/acme/admin/schedule?view=month&service=tutoring&date=2026-11-01"' in month


# --- refused input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("view=year", "Choose the day, week or month view."),
        ("view=week&date=9999-01-01", DAY_OUT_OF_RANGE),
        ("date=2026-02-30", "Not a valid date value."),
        ("date=next-tuesday", "Not a valid date value."),
        ("status=lost", "Choose a status from the list."),
        ("service=piano", "Choose Tutoring or Counseling."),
        ("staff=abc", "Choose a tutor or counselor of this business."),
        ("student=99999", "Choose one of the students listed."),
    ],
)
def test_unusable_views_days_and_filters_answer_422_with_a_message(
    client, auth, business, query, message
):
    auth.as_role(business, "admin")
    for headers in ({}, HX):
        response = client.get(f"/acme/admin/schedule?{query}", headers=headers)
        assert response.status_code == 422
        body = text(response)
        assert "These filters cannot be used:" in body and message in body
        assert 'class="cal-event' not in body


def test_another_business_s_staff_member_or_student_is_not_a_choice(
    client, auth, business, other_business
):
    auth.as_role(business, "admin")
    assert client.get(url("admin", staff=str(other_business.tutor.id))).status_code == 422
    assert client.get(url("admin", student=str(other_business.students[0].id))).status_code == 422
    # and the other business's calendar is a 404 for this business's admin
    assert client.get("/rival/admin/schedule").status_code == 404


# --- whose sessions, and where they open ----------------------------------------------------


def test_admin_filters_by_staff_student_service_and_status(client, auth, business, world):
    day = week_of()
    tara = propose(world, at(NEW_YORK, day, 9))
    carl = propose(world, at(NEW_YORK, day, 11), staff=business.counselor, student=1)
    dropped = propose(world, at(NEW_YORK, day, 14))
    with world.scope():
        scheduling.cancel_session(world.db, business.tenant, business.tutor, dropped)
        world.db.commit()
    auth.as_role(business, "admin")
    on = {"view": "week", "date": day.isoformat()}

    def shown(**filters: str) -> set[str]:
        return set(session_links(text(client.get(url("admin", **on, **filters)))))

    def link(ts) -> str:
        return f"/acme/tutor/sessions/{ts.id}"  # admins open the staff session page

    assert shown() == {link(tara), link(carl)}
    assert shown(staff=str(business.counselor.id)) == {link(carl)}
    assert shown(student=str(business.students[0].id)) == {link(tara)}
    assert shown(service="counseling") == {link(carl)}
    assert shown(status="cancelled") == {link(dropped)}
    assert shown(status="all") == {link(tara), link(carl), link(dropped)}
    body = text(client.get(url("admin", **on)))
    assert "Ada Acme" in body and "Tutoring with Tara Tutor" in body and "Pending" in body


def test_staff_see_their_own_sessions_and_families_their_students(
    client, auth, business, world, db_session
):
    day = week_of()
    tara = propose(world, at(NEW_YORK, day, 9))
    carl = propose(world, at(NEW_YORK, day, 11), staff=business.counselor, student=1)
    with world.scope():
        family = people.create_family(db_session, business.admin, name="Other family")
        olly = people.save_student(
            db_session, business.admin, None, family=family, first_name="Olly",
            last_name="Other", grade="9", school="", notes="",
        )  # fmt: skip
        db_session.commit()
        others = scheduling.propose_session(
            db_session, business.tenant, business.tutor, student=olly, staff=business.tutor,
            service="tutoring", starts_at=at(NEW_YORK, day, 13), duration_minutes=60,
        )  # fmt: skip
        db_session.commit()
    on = {"view": "week", "date": day.isoformat()}

    auth.as_role(business, "tutor")
    assert set(session_links(text(client.get(url("tutor", **on))))) == {
        f"/acme/tutor/sessions/{tara.id}",
        f"/acme/tutor/sessions/{others.id}",
    }
    # a tutor cannot filter their way to a colleague's sessions
    assert "Carl" not in text(client.get(url("tutor", **on)))
    assert client.get(url("tutor", **on, staff=str(business.counselor.id))).status_code == 200
    assert f"/sessions/{carl.id}" not in text(
        client.get(url("tutor", **on, staff=str(business.counselor.id)))
    )
    auth.logout(business)

    auth.as_role(business, "parent")
    body = text(client.get(url("family", **on)))
    assert set(session_links(body)) == {
        f"/acme/family/sessions/{tara.id}",
        f"/acme/family/sessions/{carl.id}",
    }
    assert "Olly" not in body
    assert client.get(url("family", **on, student=str(olly.id))).status_code == 422
    auth.logout(business)

    auth.as_role(business, "student")  # Ada, who sees her own sessions only
    body = text(client.get(url("family", **on)))
    assert set(session_links(body)) == {f"/acme/family/sessions/{tara.id}"}
    assert 'name="student"' not in body  # one student: nothing to filter


def test_a_family_opens_its_session_read_only_and_nobody_else_s(
    client, auth, business, world, db_session
):
    world.give("10")
    done = world.started(60)
    world.complete(done, topics="Quadratic equations")
    pending = propose(world, at(NEW_YORK, week_of(), 9))
    auth.as_role(business, "parent")
    page = text(client.get(f"/acme/family/sessions/{done.id}"))
    assert "<h1>Tutoring with Tara Tutor</h1>" in page
    assert (
        "Quadratic equations" in page
        and "Completed" in page
        and "<form" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    )
    proposal = text(client.get(f"/acme/family/sessions/{pending.id}"))
    assert "None until you accept" in proposal
    assert f'href="/acme/family/#session-{pending.id}">Accept or decline it' in proposal
    auth.logout(business)

    auth.as_role(business, "student")  # Ada's login: Ben's sessions are not hers
    ben = propose(world, at(NEW_YORK, week_of(), 11), student=1)
    assert client.get(f"/acme/family/sessions/{ben.id}").status_code == 404
    assert client.get(f"/acme/family/sessions/{pending.id}").status_code == 200


# --- shading and Propose Session -----------------------------------------------------------------


def test_a_free_time_opens_propose_session_with_day_time_and_staff(
    client, auth, business, world, db_session
):
    monday = week_of(14) - timedelta(days=week_of(14).weekday())
    with world.scope():
        availability.set_weekly_hours(
            db_session, business.tenant, business.tutor, business.tutor,
            {d: [(9 * 60, 12 * 60)] for d in range(7)},
        )  # fmt: skip
        db_session.commit()
    propose(world, at(NEW_YORK, monday, 10))
    auth.as_role(business, "tutor")
    body = text(client.get(url("tutor", view="day", date=monday.isoformat())))
    free = free_links(body)
    expected = "/acme/tutor/sessions/new?date={}&start_time={}&staff={}"
    assert free == [
        expected.format(monday.isoformat(), hour, business.tutor.id)
        for hour in ("09:00", "09:30", "11:00", "11:30")
    ]
    assert "Working 9:00 AM–12:00 PM" in body
    assert 'class="cal-band cal-working"' in body

    form = text(client.get(free[0]))
    assert re.search(rf'name="date"[^>]* value="{monday.isoformat()}"', form)
    assert re.search(r'name="start_time"[^>]* value="09:00"', form)
    assert re.search(rf'<option selected value="{business.tutor.id}">', form)
    auth.logout(business)

    # An admin filtering on the tutor gets the same, for the tutor.
    auth.as_role(business, "admin")
    body = text(
        client.get(url("admin", view="day", date=monday.isoformat(), staff=str(business.tutor.id)))
    )
    assert len(re.findall(r'class="cal-free"', body)) == 4
    form = text(client.get(free[2]))
    assert re.search(rf'<option selected value="{business.tutor.id}">', form)
    assert 'value="11:00"' in form
    # Without a staff filter nobody's hours are shaded and no free time is marked.
    assert 'class="cal-free"' not in text(client.get(url("admin", date=monday.isoformat())))


def test_propose_session_ignores_prefill_it_cannot_use(client, auth, business):
    auth.as_role(business, "tutor")
    response = client.get(
        f"/acme/tutor/sessions/new?date=2026-02-30&start_time=25:00&staff={business.counselor.id}"
    )
    assert response.status_code == 200  # shown as typed, refused when submitted
    form = text(response)
    assert re.search(rf'<option selected value="{business.tutor.id}">', form)  # themself


def test_families_see_no_shading_and_no_free_times(client, auth, business, world, db_session):
    with world.scope():
        availability.set_weekly_hours(
            db_session, business.tenant, business.tutor, business.tutor,
            {d: [(9 * 60, 17 * 60)] for d in range(7)},
        )  # fmt: skip
        db_session.commit()
    auth.as_role(business, "parent")
    body = text(client.get(url("family", date=week_of(7).isoformat())))
    assert "cal-band" not in body and "cal-free" not in body and "Propose Session" not in body
    assert "Book Session" in body


def test_the_week_the_clocks_go_back_shows_25_hours(client, auth, business, world):
    propose(world, at(NEW_YORK, date(2026, 11, 1), 1, 30, fold=1), minutes=30)
    auth.as_role(business, "admin")
    body = text(client.get(url("admin", view="week", date="2026-11-01", status="all")))
    assert "Clocks go back: a 25-hour day" in body
    assert '<div class="cal-hour">1 AM EDT</div><div class="cal-hour">1 AM EST</div>' in body
    assert "Times in America/New York (EDT, then EST)." in body
    assert '<time datetime="2026-11-01T01:30:00-05:00">1:30–2:00 AM EST</time>' in body


def test_a_month_view_lists_every_day_and_links_each_to_its_day(client, auth, business, world):
    propose(world, at(NEW_YORK, date(2027, 2, 10), 9))
    auth.as_role(business, "admin")
    body = text(client.get(url("admin", view="month", date="2027-02-01")))
    assert body.count('<section class="cal-day') == 28
    assert body.count('class="cal-blank"') == 0  # 1 Feb 2027 is a Monday
    assert 'href="/acme/admin/schedule?view=day&amp;date=2027-02-10"' in body
    assert body.count('class="cal-event status-pending"') == 1


def test_cancelled_sessions_show_with_their_status_class(client, auth, business, world):
    ts = propose(world, at(NEW_YORK, week_of(), 9))
    with world.scope():
        scheduling.cancel_session(world.db, business.tenant, business.tutor, ts)
        world.db.commit()
    auth.as_role(business, "tutor")
    body = text(client.get(url("tutor", date=week_of().isoformat(), status="all")))
    assert f'class="cal-event status-{SessionStatus.CANCELLED.value}"' in body
    assert "Cancelled" in body
