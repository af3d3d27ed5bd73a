"""Admin → Reports: every figure against a hand-computed data set (prepbase/reports.py
defines them), filters, bad input, tenant isolation, CSV, and a fixed statement count."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from prepbase import hours, people, reports, scheduling
from prepbase.csv_export import BOM
from prepbase.models import LedgerEntry, utcnow
from prepbase.reports import ReportFilters, Window
from tests.test_tutor_sessions import World, local_at, local_day, statements

ZONE = ZoneInfo("America/New_York")
URL = "/acme/admin/reports"


def text(response) -> str:
    return response.get_data(as_text=True)


def csv_rows(response) -> list[list[str]]:
    body = text(response)
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.removeprefix(BOM))))


def monday(moment: datetime) -> date:
    day = moment.astimezone(ZONE).date()
    return day - timedelta(days=day.weekday())


@pytest.fixture
def world(app, business, db_session) -> World:
    return World(app, business, db_session)


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


def attend(world: World, ts, attendance: str, plan: bool = True) -> None:
    with world.scope():
        scheduling.take_attendance(world.db, world.b.tenant, ts.staff, ts, attendance)
        if plan:
            scheduling.submit_action_plan(
                world.db, world.b.tenant, ts.staff, ts, topics="Essays", goals="", next_steps=""
            )
        world.db.commit()


def cancel(world: World, ts) -> None:
    with world.scope():
        scheduling.cancel_session(world.db, world.b.tenant, world.b.parent, ts)
        world.db.commit()


class Data:
    """The hand-computed business (all times relative to now):

    Ada: Tutoring 20 h (1200 min). Sessions with Tara: 120 min 40 days ago (present,
    completed), 60 min 10 days ago (present, completed), 90 min 5 days ago (absent,
    completed), 60 min 3 days ago (present, NO action plan: upcoming, overdue), 60 min
    booked in 2 days (upcoming), 60 min in 3 days cancelled (refunded).
      used (12-week range) = 120+60+90+60 = 330;  used in last 30 days = 210
      completed 30 d = 2, 90 d = 3;  attendance 3 of 4 = 75%;  no-shows 1
      days since last session = 3;  remaining = 1200 − 330 − 60 = 810
      run-out = today + 810·30 // 210 = today + 115 days;  beyond = 0
      at risk: 1 action plan overdue.
    Ben: Tutoring 2 h, Counseling 5 h (no sessions); a 3 h tutoring proposal in 4 days.
      remaining 420; beyond = 180 − 120 = 60;  not idle (something is booked).
      With the Counseling filter: remaining 300, nothing booked → idle.
    Cleo (a new student): Tutoring 10 h, two sessions cancelled → 2 cancellations in
      30 days and idle (hours left, nothing booked, never had a session).
    Tara: delivered 330, completed 3; plan delays ≈ 40 d − 2 h, 10 d − 1 h, 5 d − 1.5 h.
    """

    def __init__(self, world: World, app) -> None:
        now = utcnow()
        self.now = now
        self.ada_pkg = world.give("20")
        world.give("2", student=1)
        world.give("5", student=1, service="counseling", name="College Counseling")
        s40 = world.started(120, at=now - timedelta(days=40))
        s10 = world.started(60, at=now - timedelta(days=10))
        s5 = world.started(90, at=now - timedelta(days=5))
        s3 = world.started(60, at=now - timedelta(days=3))
        attend(world, s40, "present")
        attend(world, s10, "present")
        attend(world, s5, "absent")
        attend(world, s3, "present", plan=False)
        self.ended = [s40.ends_at, s10.ends_at, s5.ends_at]
        world.book(60, at=local_at(local_day(2), 10))
        cancel(world, world.book(60, at=local_at(local_day(3), 10)))
        world.propose(180, at=local_at(local_day(4), 10), student=1)
        with world.scope():
            cleo = people.save_student(
                world.db,
                world.b.admin,
                None,
                family=world.b.family,
                first_name="Cleo",
                last_name="Acme",
                grade="9",
                school="",
                notes="",
            )
            world.db.commit()
        world.b.students.append(cleo)
        self.cleo = cleo
        world.give("10", student=2)
        cancel(world, world.book(60, at=local_at(local_day(5), 10), student=2))
        cancel(world, world.book(60, at=local_at(local_day(6), 10), student=2))
        self.today = now.astimezone(ZONE).date()


@pytest.fixture
def data(world, app) -> Data:
    return Data(world, app)


def figures(world: World, **filters) -> dict[str, reports.StudentFigures]:
    now = utcnow()
    today = now.astimezone(ZONE).date()
    f = ReportFilters(date_from=today - timedelta(days=83), date_to=today, **filters)
    window = Window.of("America/New_York", f, now)
    with world.scope():
        page = reports.student_figures(world.db, f, window)
    return {s.name: s for s in page.items}


def test_a_report_page_past_the_end_is_the_last_page(world, data):
    now = utcnow()
    today = now.astimezone(ZONE).date()
    f = ReportFilters(date_from=today - timedelta(days=83), date_to=today)
    window = Window.of("America/New_York", f, now)
    with world.scope():
        every = reports.student_figures(world.db, f, window, per_page=None)
        past = reports.student_figures(world.db, f, window, page=99, per_page=2)
    assert every.total > 2
    assert (past.number, past.pages, past.total) == (-(-every.total // 2),) * 2 + (every.total,)
    assert [s.name for s in past.items] == [s.name for s in every.items][(past.number - 1) * 2 :]


def test_student_figures_match_the_hand_computed_data(world, data):
    rows = figures(world)
    ada = rows["Ada Acme"]
    assert (ada.used, ada.used_30) == (330, 210)
    assert (ada.completed_30, ada.completed_90) == (2, 3)
    assert (ada.attended, ada.attendance_taken, ada.attendance_rate) == (3, 4, 0.75)
    assert ada.no_shows == 1
    assert ada.days_since_last == 3
    assert ada.remaining == 810
    assert ada.runout == data.today + timedelta(days=115)
    assert ada.beyond == 0
    assert ada.risks == ["1 action plan overdue"]
    ben = rows["Ben Acme"]
    assert (ben.used, ben.remaining, ben.beyond, ben.runout) == (0, 420, 60, None)
    assert ben.attendance_rate is None and ben.days_since_last is None
    assert ben.risks == []
    cleo = rows["Cleo Acme"]
    assert (cleo.remaining, cleo.cancelled_30) == (600, 2)
    assert cleo.risks == [
        "Hours left, nothing booked, no session for 14+ days",
        "2 cancellations in the last 30 days",
    ]
    assert list(rows) == ["Ada Acme", "Ben Acme", "Cleo Acme"]  # most hours used first


def test_service_and_staff_filters_narrow_the_figures(world, data, business):
    counseling = figures(world, service="counseling")
    assert list(counseling) == ["Ben Acme"]  # the only one with counseling hours
    assert counseling["Ben Acme"].remaining == 300
    assert counseling["Ben Acme"].idle is True
    by_carl = figures(world, staff_id=business.counselor.id)
    assert by_carl == {}  # nobody had a session with Carl
    by_tara = figures(world, staff_id=business.tutor.id)
    assert set(by_tara) == {"Ada Acme", "Ben Acme", "Cleo Acme"}
    assert by_tara["Ada Acme"].used == 330


def test_projected_runout_rule():
    today = date(2026, 1, 1)
    assert reports.projected_runout(600, 300, today) == date(2026, 3, 2)  # 60 days
    assert reports.projected_runout(90, 3000, today) == today  # less than a day left
    assert reports.projected_runout(600, 0, today) is None
    assert reports.projected_runout(0, 300, today) is None


def test_staff_figures(world, data, business):
    today = data.today
    f = ReportFilters(date_from=today - timedelta(days=83), date_to=today)
    window = Window.of("America/New_York", f, utcnow())
    with world.scope():
        staff = {m.name: m for m in reports.staff_figures(world.db, f, window)}
    tara = staff["Tara Tutor"]
    assert (tara.delivered, tara.completed, tara.plans) == (330, 3, 3)
    expected = sum((window.now - end).total_seconds() for end in data.ended) / 3
    assert tara.plan_delay_seconds == pytest.approx(expected, abs=120)
    assert staff["Acme Owner"].delivered == 0 and staff["Acme Owner"].plan_delay_seconds is None
    assert staff["Carl Counselor"].completed == 0
    assert next(iter(staff)) == "Tara Tutor"
    with world.scope():
        counseling = reports.staff_figures(
            world.db, ReportFilters(f.date_from, f.date_to, service="counseling"), window
        )
    assert [m.name for m in counseling] == ["Carl Counselor"]


def test_hours_over_time_buckets_sold_used_refunded_remaining(world, data):
    now = data.now
    f = ReportFilters(date_from=data.today - timedelta(days=83), date_to=data.today)
    window = Window.of("America/New_York", f, now)
    with world.scope():
        points = {p.start: p for p in reports.hours_over_time(world.db, f, window)}
    assert len(points) in (12, 13)
    this_week = points[monday(now)]
    assert this_week.sold == (20 + 2 + 5 + 10) * 60  # every grant was made now
    assert this_week.refunded == 3 * 60  # three cancelled one-hour sessions
    assert this_week.remaining == 810 + 120 + 300 + 600
    used = {start: p.used for start, p in points.items() if p.used}
    expected: dict[date, int] = {}
    for days, minutes in ((40, 120), (10, 60), (5, 90), (3, 60)):
        week = monday(now - timedelta(days=days))
        expected[week] = expected.get(week, 0) + minutes
    assert used == expected
    earlier = [p for start, p in points.items() if start < monday(now)]
    assert all(p.remaining == 0 and p.sold == 0 for p in earlier)


def backdate(world: World, entry_id: int, moment: datetime) -> None:
    with world.scope():
        world.db.execute(
            update(LedgerEntry).where(LedgerEntry.id == entry_id).values(created_at=moment)
        )
        world.db.commit()


def grant_entry(world: World, package) -> int:
    with world.scope():
        return world.db.scalar(
            LedgerEntry.__table__.select()
            .with_only_columns(LedgerEntry.id)
            .where(LedgerEntry.package_id == package.id)
            .order_by(LedgerEntry.id)
            .limit(1)
        )


def test_remaining_is_the_running_balance_at_each_bucket_end(world):
    now = utcnow()
    package = world.give("10")
    with world.scope():
        change = hours.adjust(world.db, package, -120, world.b.admin, "correction")
        world.db.commit()
        adjustment_id = change.entry.id
    backdate(world, grant_entry(world, package), now - timedelta(weeks=5))
    backdate(world, adjustment_id, now - timedelta(weeks=2))
    today = now.astimezone(ZONE).date()
    f = ReportFilters(date_from=today - timedelta(weeks=8), date_to=today)
    window = Window.of("America/New_York", f, now)
    with world.scope():
        points = reports.hours_over_time(world.db, f, window)
    granted, adjusted = monday(now - timedelta(weeks=5)), monday(now - timedelta(weeks=2))
    for p in points:
        expected = 0 if p.start < granted else 600 if p.start < adjusted else 480
        assert p.remaining == expected, p
        assert p.sold == (600 if p.start == granted else 0)
    # a range that ends before the grant sees nothing; one that starts after it sees 10 h
    early = ReportFilters(date_from=today - timedelta(weeks=12), date_to=today - timedelta(weeks=7))
    with world.scope():
        assert {
            p.remaining
            for p in reports.hours_over_time(
                world.db, early, Window.of("America/New_York", early, now)
            )
        } == {0}
    late = ReportFilters(date_from=today - timedelta(weeks=4), date_to=today - timedelta(weeks=3))
    with world.scope():
        assert {
            p.remaining
            for p in reports.hours_over_time(
                world.db, late, Window.of("America/New_York", late, now)
            )
        } == {600}


def test_buckets_follow_the_business_clock_across_dst(world):
    """Week and month buckets are local: 23:30 EST on a Sunday belongs to that week, 00:30
    EDT on a Monday to the new one, whichever offset is in force that day."""
    instants = {
        # Sun 2 Nov 2025 23:30 EST (UTC−5, after the change): week of Mon 27 Oct
        "fall": (datetime(2025, 11, 3, 4, 30, tzinfo=UTC), 60),
        # Mon 7 Jul 2025 00:30 EDT (UTC−4): week of Mon 7 Jul (UTC−5 would say 30 Jun)
        "summer": (datetime(2025, 7, 7, 4, 30, tzinfo=UTC), 120),
        # Thu 31 Jul 2025 23:30 EDT: July, though it is already August in UTC
        "month_end": (datetime(2025, 8, 1, 3, 30, tzinfo=UTC), 180),
    }
    for name, (moment, minutes) in instants.items():
        package = world.give(hours.format_hours(minutes), name=name)
        backdate(world, grant_entry(world, package), moment)
    now = utcnow()
    weekly = ReportFilters(date_from=date(2025, 6, 1), date_to=date(2025, 12, 31))
    monthly = ReportFilters(date_from=date(2025, 6, 1), date_to=date(2025, 12, 31), bucket="month")
    with world.scope():
        weeks = reports.hours_over_time(
            world.db, weekly, Window.of("America/New_York", weekly, now)
        )
        months = reports.hours_over_time(
            world.db, monthly, Window.of("America/New_York", monthly, now)
        )
    sold_weeks = {p.start: p.sold for p in weeks if p.sold}
    assert sold_weeks == {date(2025, 10, 27): 60, date(2025, 7, 7): 120, date(2025, 7, 28): 180}
    sold_months = {p.start: p.sold for p in months if p.sold}
    assert sold_months == {date(2025, 11, 1): 60, date(2025, 7, 1): 120 + 180}
    assert [p.start for p in months][:2] == [date(2025, 6, 1), date(2025, 7, 1)]
    assert months[-1].remaining == 360


# --- the page ------------------------------------------------------------------------------


def test_reports_page_shows_charts_and_tables(admin, world, data, business):
    response = admin.get(URL)
    assert response.status_code == 200
    body = text(response)
    assert 'id="chart-hours-flow"' in body and 'id="chart-hours-remaining"' in body
    assert '<title id="chart-hours-flow-title">Hours sold, used and refunded per week' in body
    row = re.search(rf'<tr id="student-row-{business.students[0].id}">(.*?)</tr>', body, re.S)
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    runout = data.today + timedelta(days=115)
    assert cells == [
        "5.5",
        "2",
        "3",
        "75%",
        "1",
        "0",  # late cancellations
        "3",
        "13.5",
        f"{runout.day} {runout.strftime('%b %Y')}",
        "—",
    ]
    risk = re.search(r'<table id="at-risk">(.*?)</table>', body, re.S).group(1)
    assert "Cleo Acme" in risk and "Ada Acme" in risk and "Ben Acme" not in risk
    staff = re.search(rf'<tr id="staff-row-{business.tutor.id}">(.*?)</tr>', body, re.S)
    assert re.findall(r"<td>(.*?)</td>", staff.group(1))[:2] == ["5.5", "3"]


def test_htmx_filter_returns_only_the_results(admin, world, data):
    response = admin.get(URL + "?service=counseling", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="report-results">')
    assert "<form" not in body and "Ada Acme" not in body and "Ben Acme" in body
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2026-05-01&date_to=2026-01-01", "The end date is before the start date."),
        ("date_from=1990-01-01&date_to=1990-02-01", "Choose a date from 1 Jan 2000 on."),
        ("date_from=2010-01-01&date_to=2020-01-01", "A report covers at most 3 years"),
        ("date_to=2099-01-01", "Choose an end date at most a year from today."),
        ("date_from=2026-02-31", "Not a valid date value."),
        ("staff=999999", "Choose a tutor or counselor of this business."),
        ("staff=abc", "Choose a tutor or counselor of this business."),
        ("service=cooking", "Choose Tutoring or Counseling."),
        ("bucket=year", "Group by week or by month."),
    ],
)
def test_bad_filters_answer_422_with_a_message(admin, business, query, message):
    response = admin.get(f"{URL}?{query}")
    assert response.status_code == 422
    assert message in text(response)
    assert admin.get(f"{URL}/students.csv?{query}").status_code == 422


def test_another_business_staff_is_an_unknown_filter(admin, other_business):
    response = admin.get(f"{URL}?staff={other_business.tutor.id}")
    assert response.status_code == 422


def test_reports_never_count_another_business(app, admin, world, data, other_business, db_session):
    rival = World(app, other_business, db_session)
    rival.give("100")
    done = rival.started(300, at=utcnow() - timedelta(days=2))
    rival.complete(done)
    body = text(admin.get(URL))
    assert "Rival" not in body
    hours_rows = csv_rows(admin.get(f"{URL}/hours.csv"))
    assert hours_rows[-1][1] == "37"  # acme's 37 hours sold this week, none of rival's 100
    assert hours_rows[-1][4] == "30.5"
    student_rows = csv_rows(admin.get(f"{URL}/students.csv"))
    assert [r[0] for r in student_rows[1:]] == ["Ada Acme", "Ben Acme", "Cleo Acme"]


def test_csv_exports_every_table(admin, world, data, business):
    students = admin.get(f"{URL}/students.csv")
    assert students.headers["Content-Disposition"].startswith(
        'attachment; filename="acme-students-'
    )
    rows = csv_rows(students)
    runout = data.today + timedelta(days=115)
    assert rows[0][0] == "Student" and rows[1] == [
        "Ada Acme",
        "5.5",
        "2",
        "3",
        "75",
        "1",
        "0",  # late cancellations
        "3",
        "13.5",
        runout.isoformat(),
        "0",
    ]
    risky = csv_rows(admin.get(f"{URL}/at-risk.csv"))
    assert [r[0] for r in risky[1:]] == ["Cleo Acme", "Ada Acme"]  # never had a session first
    assert risky[2][1] == "1 action plan overdue"
    staff = csv_rows(admin.get(f"{URL}/staff.csv"))
    assert staff[1][:3] == ["Tara Tutor", "5.5", "3"]
    # The page shows the first rows of late cancellations and no-shows; the CSV has them all.
    strikes = csv_rows(admin.get(f"{URL}/strikes.csv"))
    assert strikes[0] == ["Month starting", "Student", "Late cancellations", "No-shows"]
    assert [(r[1], r[2], r[3]) for r in strikes[1:]] == [("Ada Acme", "0", "1")]
    hours_csv = csv_rows(admin.get(f"{URL}/hours.csv?bucket=month&date_from=2026-01-01"))
    assert hours_csv[0] == ["Month starting", "Sold", "Used", "Refunded", "Remaining"]


def test_csv_neutralises_names_that_look_like_formulas(admin, world, business):
    with world.scope():
        evil = people.save_student(
            world.db,
            business.admin,
            None,
            family=business.family,
            first_name="=cmd|' /C calc'!A0",
            last_name="X",
            grade="",
            school="",
            notes="",
        )
        world.db.commit()
    world.b.students.append(evil)
    world.give("3", student=2)
    rows = csv_rows(admin.get(f"{URL}/students.csv"))
    assert [r[0] for r in rows[1:] if "calc" in r[0]] == ["'=cmd|' /C calc'!A0 X"]


def test_reports_are_for_admins_only(client, auth, business):
    for role in ("tutor", "parent", "student"):
        auth.as_role(business, role)
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}/students.csv").status_code == 403
        auth.logout(business)


def test_reports_page_costs_a_fixed_number_of_statements(app, admin, world, business):
    from tests.test_query_counts import grow

    grow(world, 1)
    few = statements(app, admin, URL)
    few_risk = statements(app, admin, f"{URL}?service=tutoring&staff={business.tutor.id}")
    grow(world, 4, offset=1)
    assert statements(app, admin, URL) == few
    assert statements(app, admin, f"{URL}?service=tutoring&staff={business.tutor.id}") == few_risk
    # tenant + user, staff choices, category and subject choices, 2 for hours over time,
    # students, at risk, staff
    assert few <= 9, few


def test_results_are_kept_for_a_short_while_per_business(
    app, client, auth, world, business, other_business, monkeypatch
):
    from prepbase.admin import reports as report_views
    from prepbase.cache import TimedCache

    monkeypatch.setitem(app.config, "REPORTS_CACHE_SECONDS", 60)
    monkeypatch.setattr(report_views, "results_cache", TimedCache())
    world.give("10")
    auth.as_role(business, "admin")
    first = text(client.get(URL))
    assert "refreshed every 60 seconds" in first and ">10</td>" in first
    world.give("5", student=1)
    assert text(client.get(URL)).count("Ben Acme") == first.count("Ben Acme")  # kept
    assert "Ben Acme" in text(client.get(URL + "?service=tutoring"))  # other filters: fresh
    from tests.test_tutor_sessions import StatementCounter

    with StatementCounter(app) as counter:
        assert client.get(URL).status_code == 200
    assert counter.count == 1  # the business and the user; results and staff are kept
    auth.logout(business)
    auth.as_role(other_business, "admin")
    rival = text(client.get("/rival/admin/reports"))
    assert "Ada Acme" not in rival  # never another business's results
    # nor its staff in the filter (both tutors are called Tara Tutor: look at the ids)
    assert f'<option value="{business.tutor.id}">' not in rival
    assert f'<option value="{other_business.tutor.id}">' in rival
