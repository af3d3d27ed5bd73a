"""Category colour and subject in the calendar and session lists, and category and
subject filters on admin Sessions, the calendars and Reports (issue 14, part E)."""

from __future__ import annotations

from datetime import time

import pytest

from prepbase import categories, scheduling
from prepbase.localtime import local_to_utc
from tests.factories import business_today
from tests.test_category_booking import online
from tests.test_series_pages import Acme


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def acme(app, business, db_session) -> Acme:
    return Acme(app, business, db_session)


@pytest.fixture
def two_kinds(acme):
    """A booked Test Prep SAT session (2 h) and a plain one (1 h), next week."""
    b = acme.b
    acme.give("10")
    with acme.scope():
        prep = online(acme.db, name="Test Prep", colour="#6d28d9")
        sat = categories.save_subject(acme.db, None, name="SAT", category=prep)
        categories.set_staff_subjects(acme.db, b.tutor, [sat.id])
        day = business_today(7)
        for hour, minutes, subject in ((15, 120, sat), (18, 60, None)):
            scheduling.book_session(
                acme.db, b.tenant, b.parent, student=b.students[0], staff=b.tutor,
                service="tutoring", starts_at=local_to_utc(b.tenant, day, time(hour)),
                duration_minutes=minutes, subject=subject,
            )  # fmt: skip
        acme.db.commit()
        return prep.id, sat.id, day


def test_the_calendar_shows_each_sessions_category_colour_and_subject(
    client, auth, business, two_kinds
):
    prep_id, sat_id, day = two_kinds
    auth.as_role(business, "admin")
    page = text(client.get(f"/acme/admin/schedule?date={day.isoformat()}"))
    assert "--category-colour: #6d28d9" in page and "Test Prep</span> SAT" in page
    assert page.count("cal-kind") == 1  # the plain "Session" one shows no chip
    only = text(client.get(f"/acme/admin/schedule?date={day.isoformat()}&category={prep_id}"))
    assert "#6d28d9" in only.split('class="cal-events"')[1] and only.count("cal-event ") == 1
    by_subject = text(client.get(f"/acme/admin/schedule?date={day.isoformat()}&subject={sat_id}"))
    assert by_subject.count("cal-event ") == 1
    bad = client.get(f"/acme/admin/schedule?date={day.isoformat()}&category=999999")
    assert bad.status_code == 422
    auth.logout(business)
    auth.as_role(business, "parent")
    family = text(client.get(f"/acme/family/schedule?date={day.isoformat()}"))
    assert "Test Prep</span> SAT" in family


def test_admin_sessions_filter_by_category_and_subject(client, auth, business, two_kinds):
    prep_id, sat_id, _day = two_kinds
    auth.as_role(business, "admin")
    page = text(client.get("/acme/admin/sessions"))
    assert 'name="category"' in page and "Test Prep → SAT" in page
    assert page.count("category-chip") == 1  # the plain session shows none
    assert text(client.get(f"/acme/admin/sessions?subject={sat_id}")).count("category-chip") == 1
    assert text(client.get(f"/acme/admin/sessions?category={prep_id}")).count("category-chip") == 1


def test_a_business_with_one_category_sees_no_category_filters(client, auth, business):
    auth.as_role(business, "admin")
    assert 'name="category"' not in text(client.get("/acme/admin/sessions"))
    assert 'name="category"' not in text(client.get("/acme/admin/schedule"))
    assert 'name="category"' not in text(client.get("/acme/admin/reports"))


def test_reports_narrow_session_figures_by_category_and_subject(
    client, auth, business, two_kinds, app
):
    prep_id, sat_id, day = two_kinds
    app.config["REPORTS_CACHE_SECONDS"] = 0
    auth.as_role(business, "admin")
    span = f"date_from={business_today().isoformat()}&date_to={day.isoformat()}"
    page = text(client.get(f"/acme/admin/reports?{span}"))
    assert 'name="category"' in page and "Test Prep → SAT" in page
    for query in (f"category={prep_id}", f"subject={sat_id}"):
        response = client.get(f"/acme/admin/reports?{span}&{query}")
        assert response.status_code == 200
    assert client.get(f"/acme/admin/reports?{span}&subject=999999").status_code == 422
