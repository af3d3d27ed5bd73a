"""Weekly series through the pages (design §10, issue 13): Book Session and Propose
Session with "Repeat weekly" and their preview step (without JavaScript, and over htmx),
Accept for a whole series, cancel or move "this and following", the waiting occurrences
on every portal, hours arriving from every place that adds them, feeds and reminders."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, time, timedelta

import icalendar
import pytest
from sqlalchemy import select

from prepbase import hours, packages, scheduling
from prepbase.localtime import local_to_utc, to_local
from prepbase.mail import sessions as session_mail
from prepbase.models import (
    OutboundEmail,
    Package,
    SessionSeries,
    SessionStatus,
    TutoringSession,
)
from prepbase.series import NewSeries, make_rule
from prepbase.tenancy import as_tenant
from tests.factories import business_today
from tests.test_tutor_sessions import StatementCounter

UPCOMING, WAITING, PENDING = SessionStatus.UPCOMING, SessionStatus.WAITING, SessionStatus.PENDING
HX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


class Acme:
    """The factory business with its scope entered for domain calls; commits them."""

    def __init__(self, app, business, db_session) -> None:
        self.app, self.b, self.db = app, business, db_session

    @contextmanager
    def scope(self):
        with self.app.app_context(), as_tenant(self.b.tenant.id):
            yield

    def give(self, hours_text="6", *, student=0, service="tutoring", name="Growth Package"):
        with self.scope():
            package = packages.assign_package(
                self.db,
                self.b.admin,
                self.b.students[student],
                name=name,
                service=service,
                package_type="one_time",
                period=None,
                minutes=hours.parse_hours(hours_text, field="hours", max_hours=2000),
                start_date=date(2020, 1, 1),
            )
            self.db.commit()
        return package

    def new(self, count=10, *, first=None, student=0, staff=None, service="tutoring"):
        return NewSeries(
            student=self.b.students[student],
            staff=staff or self.b.tutor,
            service=service,
            rule=make_rule(first_day=first or business_today(7), start=time(16, 0), count=count),
            duration_minutes=60,
        )

    def book(self, count=10, **kw) -> list[TutoringSession]:
        with self.scope():
            made = scheduling.book_series(
                self.db, self.b.tenant, self.b.parent, self.new(count, **kw)
            )
            self.db.commit()
        return made

    def propose(self, count=4, **kw) -> list[TutoringSession]:
        with self.scope():
            made = scheduling.propose_series(
                self.db, self.b.tenant, self.b.tutor, self.new(count, **kw)
            )
            self.db.commit()
        return made

    def sessions(self) -> list[TutoringSession]:
        with self.scope():
            return list(
                self.db.scalars(
                    select(TutoringSession)
                    .order_by(TutoringSession.starts_at)
                    .execution_options(populate_existing=True)
                )
            )

    def statuses(self) -> list[str]:
        return [ts.status for ts in self.sessions()]

    def outbox(self, subject_part: str) -> list[OutboundEmail]:
        with self.scope():
            return [
                m for m in self.db.scalars(select(OutboundEmail)).all() if subject_part in m.subject
            ]


@pytest.fixture
def acme(app, business, db_session) -> Acme:
    return Acme(app, business, db_session)


def series_form(business, **changes) -> dict[str, object]:
    data: dict[str, object] = {
        "student": str(business.students[0].id),
        "service": "tutoring",
        "staff": str(business.tutor.id),
        "date": business_today(7).isoformat(),
        "start_time": "16:00",
        "duration": "1",
        "repeat": "y",
        "every": "1",
        "count": "10",
    }
    data.update(changes)
    return data


def hidden_plan(body: str) -> str:
    return re.search(r'name="plan" value="([0-9a-f]+)"', body).group(1)


def weekday_name(day: date) -> str:
    return day.strftime("%a")


# --- Book Session, Repeat weekly ----------------------------------------------------------


def test_family_books_a_series_through_a_preview_without_javascript(client, auth, business, acme):
    """Plain form posts: the first shows the plan (6 booked from the package, 4 waiting
    for hours) and books nothing; the second, with the plan's fingerprint, books it."""
    package = acme.give("6")
    auth.as_role(business, "parent")
    preview = client.post("/acme/family/sessions/new", data=series_form(business))
    body = text(preview)
    assert preview.status_code == 200 and "<html" in body
    assert body.count("<strong>Booked</strong>: paid from Growth Package") == 6
    assert body.count("<strong>Waiting for hours</strong>") == 4
    assert "<strong>4</strong> waiting for hours" in body
    assert ">Book 10 sessions</button>" in body
    assert "Change the time" in body and "repeat=y" in body
    assert acme.sessions() == []

    data = {**series_form(business), "plan": hidden_plan(body)}
    done = client.post("/acme/family/sessions/new", data=data)
    assert done.status_code == 303 and done.headers["Location"].endswith("/acme/family/")
    assert acme.statuses() == [UPCOMING] * 6 + [WAITING] * 4
    acme.db.refresh(package)
    assert package.remaining_minutes == 0

    dashboard = text(client.get("/acme/family/"))
    every = f"every {weekday_name(business_today(7))}"
    assert "booked, 4 waiting for hours." in dashboard  # the flash
    assert f"1 of 10 · {every}" in dashboard and f"10 of 10 · {every}" in dashboard
    waiting = dashboard.split('id="waiting-title"')[1].split("</section>")[0]
    assert waiting.count("<strong>Waiting for hours</strong>") == 4
    assert waiting.count(">Cancel this and following<") == 4


def test_the_preview_step_over_htmx_swaps_the_form_and_confirms_with_a_redirect(
    client, auth, business, acme
):
    acme.give("20")
    auth.as_role(business, "parent")
    preview = client.post("/acme/family/sessions/new", data=series_form(business), headers=HX)
    body = text(preview)
    assert preview.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<form id="book-form"')
    confirm = client.post(
        "/acme/family/sessions/new",
        data={**series_form(business), "plan": hidden_plan(body)},
        headers=HX,
    )
    assert confirm.status_code == 204 and confirm.headers["HX-Redirect"] == "/acme/family/"
    assert acme.statuses() == [UPCOMING] * 10


def test_change_the_time_opens_the_form_with_the_series_filled_in(client, auth, business, acme):
    auth.as_role(business, "parent")
    body = text(
        client.post(
            "/acme/family/sessions/new", data=series_form(business, weekdays=["1", "3"], every="2")
        )
    )
    link = re.search(r'href="(/acme/family/sessions/new\?[^"]+)">Change the time', body).group(1)
    form = text(client.get(link.replace("&amp;", "&")))
    assert '<details class="repeat" id="repeat-fields" open>' in form
    assert '<input checked id="repeat" name="repeat" role="switch" type="checkbox"' in form
    assert '<option selected value="2">2 weeks</option>' in form
    for day in ("1", "3"):
        assert f'checked id="weekdays-{day}" name="weekdays" type="checkbox"' in form
    assert 'id="weekdays-2" name="weekdays" type="checkbox"' in form  # not checked


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": "10", "until": "2099-01-01"}, "not both"),
        ({"count": ""}, "a last day, or a number of sessions"),
        ({"count": "abc"}, "Not a valid integer value."),
        ({"count": "0"}, "Choose 1 to 366 sessions."),
        ({"count": "", "until": "2100-12-31"}, "at most a year"),
        ({"every": "5"}, "Not a valid choice."),
        ({"weekdays": "9"}, "is not a valid choice"),
    ],
)
def test_a_series_that_cannot_be_is_refused_in_the_form(
    client, auth, business, acme, changes, message
):
    auth.as_role(business, "parent")
    response = client.post("/acme/family/sessions/new", data=series_form(business, **changes))
    assert response.status_code == 422
    assert message in text(response)
    assert '<details class="repeat" id="repeat-fields" open>' in text(response)
    assert acme.sessions() == []


def test_confirming_a_plan_that_changed_shows_the_new_one_and_books_nothing(
    client, auth, business, acme
):
    acme.give("3")
    auth.as_role(business, "parent")
    seen = text(client.post("/acme/family/sessions/new", data=series_form(business, count="3")))
    # Another family takes the tutor at the second occurrence's time.
    acme.give("5", student=1)
    second = local_to_utc(business.tenant, business_today(14), time(16, 0))
    with acme.scope():
        scheduling.book_session(
            acme.db, business.tenant, business.parent, student=business.students[1],
            staff=business.tutor, service="tutoring", starts_at=second, duration_minutes=60,
        )  # fmt: skip
        acme.db.commit()
    response = client.post(
        "/acme/family/sessions/new",
        data={**series_form(business, count="3"), "plan": hidden_plan(seen)},
    )
    body = text(response)
    assert response.status_code == 422
    assert "Something changed since you looked" in body
    assert "<strong>Not free</strong>: Sorry, that time was just taken." in body
    assert ">Book 2 sessions</button>" in body
    assert [ts.student_id for ts in acme.sessions()] == [business.students[1].id]


def test_a_single_booking_is_unchanged_when_repeat_is_off(client, auth, business, acme):
    acme.give("6")
    auth.as_role(business, "parent")
    data = series_form(business)
    del data["repeat"]
    assert client.post("/acme/family/sessions/new", data=data).status_code == 303
    [ts] = acme.sessions()
    assert (ts.status, ts.series_id) == (UPCOMING, None)


# --- Propose Session, Repeat weekly; Accept the series -------------------------------------


def test_tutor_proposes_a_series_and_the_family_accepts_it_whole(
    client, auth, business, acme, mailbox
):
    acme.give("2")
    auth.as_role(business, "tutor")
    form = text(client.get("/acme/tutor/sessions/new"))
    assert "Repeat weekly" in form and 'name="weekdays"' in form
    data = series_form(business, count="4")
    preview = text(client.post("/acme/tutor/sessions/new", data=data))
    assert preview.count("<strong>Proposed</strong>") == 4
    assert ">Propose 4 sessions</button>" in preview
    done = client.post("/acme/tutor/sessions/new", data={**data, "plan": hidden_plan(preview)})
    assert done.status_code == 303
    assert acme.statuses() == [PENDING] * 4
    first = acme.sessions()[0]
    page = text(client.get(f"/acme/tutor/sessions/{first.id}"))
    assert "<dt>Weekly series</dt><dd>1 of 4 · every" in page
    auth.logout(business)

    [mail] = [m for m in mailbox.to(business.parent.email) if "weekly sessions" in m["Subject"]]
    link = re.search(r"https?://\S+/accept-series", mailbox.body(mail)).group(0)
    assert link.endswith(f"/acme/family/sessions/{first.id}/accept-series")

    auth.as_role(business, "parent")
    dashboard = text(client.get("/acme/family/"))
    assert "Review and accept the series" in dashboard
    page = client.get(f"/acme/family/sessions/{first.id}/accept-series")
    body = text(page)
    assert page.status_code == 200
    assert body.count("<strong>Booked</strong>: paid from Growth Package") == 2
    assert body.count("<strong>Waiting for hours</strong>") == 2
    accepted = client.post(
        f"/acme/family/sessions/{first.id}/accept-series", data={"plan": hidden_plan(body)}
    )
    assert accepted.status_code == 303
    assert acme.statuses() == [UPCOMING, UPCOMING, WAITING, WAITING]
    assert "Accepted 4 weekly sessions of Ada; 2 wait for hours." in text(
        client.get("/acme/family/")
    )


def test_accepting_a_series_that_changed_shows_the_new_plan(client, auth, business, acme):
    package = acme.give("2")
    made = acme.propose(2)
    auth.as_role(business, "parent")
    seen = text(client.get(f"/acme/family/sessions/{made[0].id}/accept-series"))
    with acme.scope():  # meanwhile an hour is taken off the package
        hours.adjust(acme.db, acme.db.merge(package), -60, business.admin, "Correction")
        acme.db.commit()
    response = client.post(
        f"/acme/family/sessions/{made[0].id}/accept-series",
        data={"plan": hidden_plan(seen)},
        headers=HX,
    )
    assert response.status_code == 422
    assert "Something changed since you looked" in text(response)
    assert text(response).count("<strong>Waiting for hours</strong>") == 1
    assert acme.statuses() == [PENDING, PENDING]


def test_another_familys_series_answers_404(client, auth, business, acme, other_business):
    made = acme.propose(2)
    upcoming = acme.book(1, first=business_today(30))
    client.post(f"/{other_business.tenant.slug}/login", data={
        "email": other_business.parent.email, "password": other_business.password,
    })  # fmt: skip
    for url in (
        f"/acme/family/sessions/{made[0].id}/accept-series",
        f"/rival/family/sessions/{made[0].id}/accept-series",
        f"/rival/family/sessions/{upcoming[0].id}/cancel-following",
    ):
        method = client.post if url.endswith("following") else client.get
        assert method(url).status_code == 404, url


# --- cancel and move "this and following" ----------------------------------------------------


def test_tutor_cancels_this_and_following_from_the_session_page(
    client, auth, business, acme, mailbox
):
    package = acme.give("10")
    made = acme.book(10)
    auth.as_role(business, "tutor")
    page = text(client.get(f"/acme/tutor/sessions/{made[7].id}"))
    assert '<option value="following">This and following sessions of the series</option>' in page
    response = client.post(
        f"/acme/tutor/sessions/{made[7].id}/cancel",
        data={"cancel-reason": "Moving away", "cancel-which": "following"},
    )
    assert response.status_code == 303
    assert acme.statuses() == [UPCOMING] * 7 + [SessionStatus.CANCELLED] * 3
    acme.db.refresh(package)
    assert package.remaining_minutes == 3 * 60
    told = [m for m in mailbox.to(business.parent.email) if m["Subject"].startswith("Cancelled: 3")]
    assert told and "3 hours went back" in mailbox.body(told[0])


def test_tutor_cancels_only_this_session_of_a_series(client, auth, business, acme):
    acme.give("10")
    made = acme.book(3)
    auth.as_role(business, "tutor")
    client.post(f"/acme/tutor/sessions/{made[0].id}/cancel", data={"cancel-which": "this"})
    assert acme.statuses() == [SessionStatus.CANCELLED, UPCOMING, UPCOMING]


def test_tutor_moves_this_and_following(client, auth, business, acme):
    acme.give("10")
    made = acme.book(3)
    auth.as_role(business, "tutor")
    new_day = business_today(15)  # the second occurrence's day plus one
    response = client.post(
        f"/acme/tutor/sessions/{made[1].id}/reschedule",
        data={"date": new_day.isoformat(), "start_time": "17:30", "which": "following"},
    )
    assert response.status_code == 303, text(response)
    moved = acme.sessions()
    with acme.scope():
        local = [to_local(business.tenant, ts.starts_at) for ts in moved]
        labels = [ts.series_label for ts in moved]
    assert [(t.date(), t.strftime("%H:%M")) for t in local] == [
        (business_today(7), "16:00"),
        (business_today(15), "17:30"),
        (business_today(22), "17:30"),
    ]
    every = f"every {weekday_name(business_today(15))}"
    assert labels == [
        f"1 of 1 · every {weekday_name(business_today(7))}",
        f"1 of 2 · {every}",
        f"2 of 2 · {every}",
    ]


def test_family_cancels_this_and_following_from_the_dashboard(client, auth, business, acme):
    acme.give("10")
    made = acme.book(4)
    auth.as_role(business, "parent")
    response = client.post(f"/acme/family/sessions/{made[2].id}/cancel-following", headers=HX)
    assert response.status_code == 200
    assert "Cancelled 2 of Ada&#39;s weekly sessions. 2 hours went back to the packages." in (
        text(response)
    )
    assert acme.statuses() == [UPCOMING, UPCOMING, SessionStatus.CANCELLED, SessionStatus.CANCELLED]


# --- hours arriving, from every place that adds them ----------------------------------------


def test_add_package_books_the_waiting_occurrences(client, auth, business, acme, mailbox):
    acme.give("6")
    acme.book(10)
    assert acme.statuses().count(WAITING) == 4
    auth.as_role(business, "admin")
    response = client.post(
        f"/acme/admin/students/{business.students[0].id}/packages/new",
        data={
            "offering": "custom",
            "name": "Top-up",
            "service": "tutoring",
            "package_type": "one_time",
            "hours": "10",
            "start_date": business_today().isoformat(),
        },
    )
    assert response.status_code == 303, text(response)
    assert acme.statuses() == [UPCOMING] * 10
    page = text(client.get(response.headers["Location"]))
    assert "4 sessions waiting for hours are booked now." in page
    family = [m for m in mailbox.to(business.parent.email) if "waiting sessions" in m["Subject"]]
    assert family and "from Top-up" in mailbox.body(family[0])
    assert [m for m in mailbox.to(business.tutor.email) if "hours arrived" in m["Subject"]]


def test_a_positive_adjustment_and_switching_a_package_on_book_waiting_occurrences(
    client, auth, business, acme
):
    package = acme.give("1")
    acme.book(3)
    auth.as_role(business, "admin")
    response = client.post(
        f"/acme/admin/packages/{package.id}/adjust", data={"hours": "1", "note": "Make-up hour"}
    )
    assert response.status_code == 303
    assert acme.statuses() == [UPCOMING, UPCOMING, WAITING]
    paused = acme.give("5", name="Paused")
    with acme.scope():
        packages.set_package_active(acme.db, business.admin, acme.db.merge(paused), False)
        acme.db.commit()
    response = client.post(f"/acme/admin/packages/{paused.id}/status", data={"active": "1"})
    assert response.status_code in (200, 303)
    assert acme.statuses() == [UPCOMING] * 3


def test_a_negative_adjustment_books_nothing(client, auth, business, acme):
    package = acme.give("3")
    acme.book(4)
    auth.as_role(business, "admin")
    client.post(f"/acme/admin/packages/{package.id}/adjust", data={"hours": "-0.5", "note": "x"})
    assert acme.statuses().count(WAITING) == 1


def test_the_renew_job_books_waiting_occurrences(app, business, acme):
    with acme.scope():
        packages.assign_package(
            acme.db, business.admin, business.students[0], name="Weekly", service="tutoring",
            package_type="recurring", period="weekly", minutes=60,
            start_date=business_today(-6),
        )  # fmt: skip
        acme.db.commit()
    acme.book(3)
    assert acme.statuses() == [UPCOMING, WAITING, WAITING]
    result = app.test_cli_runner().invoke(
        args=["prepbase", "renew", "--today", business_today(1).isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "1 session(s) waiting for hours booked." in result.output
    assert acme.statuses() == [UPCOMING, UPCOMING, WAITING]


# --- the portals show series and waiting occurrences ---------------------------------------


def test_tutor_dashboard_and_admin_pages_show_series_and_waiting(client, auth, business, acme):
    acme.give("2")
    acme.book(4)
    auth.as_role(business, "tutor")
    board = text(client.get("/acme/tutor/"))
    waiting = board.split('id="waiting-title"')[1].split("</section>")[0]
    assert waiting.count("Waiting for hours: none held") == 2
    assert "3 of 4 · every" in waiting and '<span class="status-waiting">' in waiting
    auth.logout(business)
    auth.as_role(business, "admin")
    tab = text(client.get(f"/acme/admin/students/{business.students[0].id}/sessions"))
    assert 'id="student-waiting"' in tab and "4 of 4 · every" in tab
    listed = text(client.get("/acme/admin/sessions?status=waiting"))
    assert listed.count('<span class="status-waiting">Waiting for hours</span>') == 2
    assert '<option value="waiting">Waiting for hours</option>' in listed or (
        'value="waiting"' in listed
    )


def test_pages_with_series_cost_a_fixed_number_of_statements(app, client, auth, business, acme):
    acme.give("3")
    acme.book(4)
    auth.as_role(business, "parent")

    def count(url: str) -> int:
        with StatementCounter(app) as counter:
            assert client.get(url).status_code == 200
        return counter.count

    few = count("/acme/family/")
    acme.book(6, first=business_today(60))
    acme.book(5, first=business_today(120), student=1)
    assert count("/acme/family/") == few
    auth.logout(business)
    auth.as_role(business, "tutor")
    few = count("/acme/tutor/")
    acme.book(4, first=business_today(200))
    assert count("/acme/tutor/") == few


# --- calendar feeds and reminders ------------------------------------------------------------


def test_the_feed_lists_each_occurrence_and_waiting_ones_as_tentative_free_time(
    client, auth, business, acme
):
    acme.give("2")
    made = acme.book(3)
    auth.as_role(business, "parent")
    made_feed = client.post("/acme/family/calendar")
    url = re.search(r'value="(http://localhost/acme/calendar/[^"]+\.ics)"', text(made_feed))
    feed = client.get(url.group(1).removeprefix("http://localhost"))
    cal = icalendar.Calendar.from_ical(feed.get_data())
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert len(events) == 3
    waiting = events[f"session-{made[2].id}@acme.prepbase"]
    assert str(waiting["status"]) == "TENTATIVE"
    assert str(waiting["transp"]) == "TRANSPARENT"
    assert str(waiting["summary"]).startswith("Waiting for hours: ")
    booked = events[f"session-{made[0].id}@acme.prepbase"]
    assert str(booked["status"]) == "CONFIRMED" and "transp" not in booked


def test_waiting_occurrences_are_not_reminded(acme, business):
    acme.give("1")
    soon = business_today(1)
    made = acme.book(2, first=soon)
    with acme.scope():
        # The second is waiting; a moment before each starts, only the booked one is due.
        for ts in made:
            tenant = acme.db.merge(business.tenant)
            tenant.reminder_hours = 48
            session_mail.send_due_reminders(acme.db, tenant, now=ts.starts_at - timedelta(hours=1))
        reminded = acme.db.scalars(
            select(TutoringSession.id).where(TutoringSession.reminder_sent_at.is_not(None))
        ).all()
    assert reminded == [made[0].id]


def test_migration_0008_down_turns_waiting_occurrences_into_cancelled_sessions(
    database_url, tmp_path
):
    """Before 0008 no status "waiting" exists: the downgrade makes a waiting occurrence a
    cancelled session (it held no hours), so the older code reads every row."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from prepbase import create_app
    from prepbase.extensions import db
    from tests.test_migrations import empty_database

    with empty_database(database_url, tmp_path) as url:
        fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with fresh.app_context():
            upgrade()  # the head: the factories write today's models
            from tests.factories import make_business

            business = make_business(db.session, "old")
            with as_tenant(business.tenant.id):
                made = scheduling.book_series(
                    db.session,
                    business.tenant,
                    business.parent,
                    NewSeries(
                        business.students[0],
                        business.tutor,
                        "tutoring",
                        make_rule(first_day=business_today(7), start=time(16, 0), count=2),
                        60,
                    ),
                )
                db.session.commit()
            assert [ts.status for ts in made] == [WAITING, WAITING]
            db.session.remove()
            downgrade(revision="0007_mail")
            with db.engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT status, cancel_reason FROM tutoring_session")
                ).all()
                assert sa.inspect(conn).has_table("session_series") is False
            assert [status for status, _reason in rows] == ["cancelled", "cancelled"]
            assert all("waiting for hours" in reason for _status, reason in rows)
            upgrade()
            db.engine.dispose()


def test_series_rows_belong_to_their_business(acme, business, other_business, db_session):
    acme.book(2)
    with as_tenant(other_business.tenant.id):
        assert db_session.scalars(select(SessionSeries)).all() == []
        assert db_session.scalars(select(Package)).all() == []
    with as_tenant(business.tenant.id):
        assert len(db_session.scalars(select(SessionSeries)).all()) == 1


def test_a_family_opens_a_waiting_occurrence_and_reads_why_it_holds_no_hours(
    client, auth, business, acme
):
    acme.give("1")
    booked, waiting = acme.book(2)
    auth.as_role(business, "parent")
    page = text(client.get(f"/acme/family/sessions/{waiting.id}"))
    assert "Waiting for hours" in page
    assert "None yet: it is booked as soon as a package covers it" in page
    paid = text(client.get(f"/acme/family/sessions/{booked.id}"))
    assert "1 hour from Growth Package" in paid
