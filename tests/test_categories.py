"""Session categories, locations and subjects (issue 14, design §11): the models and
migration 0009, the colour contrast rule, and the domain verbs behind Settings."""

from __future__ import annotations

from datetime import datetime, time

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import select

from prepbase import categories, create_app, scheduling
from prepbase.colour import check_category_colour, contrast_ratio
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.localtime import local_to_utc
from prepbase.models import LocationType, SessionCategory, TutoringSession
from prepbase.tenancy import as_tenant
from tests.factories import business_today
from tests.test_migrations import empty_database
from tests.test_series_pages import Acme

# --- the colour rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#777777", "#ffffff", 4.48)],
)
def test_contrast_ratio_follows_wcag(first, second, ratio):
    assert contrast_ratio(first, second) == pytest.approx(ratio, abs=0.01)
    assert contrast_ratio(second, first) == pytest.approx(ratio, abs=0.01)


def test_a_dark_colour_is_accepted_in_lower_case():
    assert check_category_colour(" #1D4ED8 ") == "#1d4ed8"
    assert check_category_colour("#767676") == "#767676"  # 4.54:1, just enough


@pytest.mark.parametrize("colour", ["#ffcc00", "#777777", "#ffffff"])
def test_a_colour_white_text_cannot_be_read_on_is_refused_with_its_ratio(colour):
    with pytest.raises(DomainError) as refused:
        check_category_colour(colour)
    assert refused.value.field == "colour"
    assert ":1" in refused.value.message and "4.5:1" in refused.value.message


@pytest.mark.parametrize("colour", ["", "red", "#12345", "#1234567", "#ggg000", "1d4ed8"])
def test_a_colour_that_is_not_hex_is_refused(colour):
    with pytest.raises(DomainError, match="six hex digits"):
        check_category_colour(colour)


# --- a business's categories ------------------------------------------------------------


@pytest.fixture
def acme(app, business, db_session) -> Acme:
    return Acme(app, business, db_session)


def category_values(**changes) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "Online",
        "colour": "#6d28d9",
        "location_type": "virtual",
        "location": None,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "reminder_hours": None,
        "link_lead_minutes": 30,
        "capacity": 1,
        "families_may_join": False,
    }
    return values | changes


def test_a_new_business_starts_with_one_session_category(acme):
    with acme.scope():
        only = acme.db.scalars(select(SessionCategory)).all()
        assert [(c.name, c.active, c.capacity, c.families_may_join) for c in only] == [
            ("Session", True, 1, False)
        ]
        assert categories.default_category(acme.db) is only[0]


def test_sessions_get_the_default_category_when_none_is_chosen(acme):
    acme.give("4")
    made = acme.book(2)
    with acme.scope():
        default = categories.default_category(acme.db)
        assert {ts.category_id for ts in made} == {default.id}
        assert made[0].series.category_id == default.id
        assert made[0].subject_id is None


def test_a_subject_must_belong_to_the_category_and_be_taught_by_the_staff_member(acme):
    acme.give("4")
    b = acme.b
    with acme.scope():
        prep = categories.save_category(acme.db, None, **category_values(name="Test Prep"))
        sat = categories.save_subject(acme.db, None, name="SAT", category=prep)
        other = categories.save_subject(
            acme.db, None, name="Algebra", category=categories.default_category(acme.db)
        )
        starts = local_to_utc(b.tenant, business_today(3), time(16))

        def propose(category, subject):
            return scheduling.propose_session(
                acme.db, b.tenant, b.tutor, student=b.students[0], staff=b.tutor,
                service="tutoring", starts_at=starts, duration_minutes=60,
                category=category, subject=subject,
            )  # fmt: skip

        with pytest.raises(DomainError, match="not a Test Prep subject"):
            propose(prep, other)
        with pytest.raises(DomainError, match="does not teach SAT"):
            propose(prep, sat)
        categories.set_staff_subjects(acme.db, b.tutor, [sat.id])
        ts = propose(None, sat)  # the subject names its category
        assert (ts.category_id, ts.subject_id) == (prep.id, sat.id)
        acme.db.rollback()


def test_an_inactive_category_or_subject_cannot_be_chosen(acme):
    with acme.scope():
        prep = categories.save_category(acme.db, None, **category_values(name="Test Prep"))
        sat = categories.save_subject(acme.db, None, name="SAT", category=prep)
        categories.set_subject_active(acme.db, sat, False)
        with pytest.raises(DomainError, match="no longer offered"):
            categories.check_choice(acme.db, prep, sat)
        categories.set_category_active(acme.db, prep, False)
        with pytest.raises(DomainError, match="no longer offered"):
            categories.check_choice(acme.db, prep, None)
        assert categories.active_categories(acme.db) == [categories.default_category(acme.db)]
        acme.db.rollback()


def test_the_last_active_category_cannot_be_turned_off(acme):
    with acme.scope():
        only = categories.default_category(acme.db)
        with pytest.raises(DomainError, match="only active category"):
            categories.set_category_active(acme.db, only, False)
        online = categories.save_category(acme.db, None, **category_values())
        categories.set_category_active(acme.db, only, False)
        assert categories.default_category(acme.db) is online
        acme.db.rollback()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "session"}, "name"),  # the starter's name, any case
        ({"colour": "#fde68a"}, "colour"),
        ({"location_type": "moon"}, "location_type"),
        ({"buffer_before_minutes": -5}, "buffer_before_minutes"),
        ({"buffer_after_minutes": 241}, "buffer_after_minutes"),
        ({"reminder_hours": 169}, "reminder_hours"),
        ({"capacity": 0}, "capacity"),
        ({"link_lead_minutes": -1}, "link_lead_minutes"),
    ],
)
def test_a_category_that_cannot_be_is_refused_by_field(acme, changes, field):
    with acme.scope(), pytest.raises(DomainError) as refused:
        categories.save_category(acme.db, None, **category_values(**changes))
    assert refused.value.field == field


def test_a_center_category_keeps_its_location_and_others_drop_it(acme):
    with acme.scope():
        center = categories.save_location(acme.db, None, name="Main St", address="1 Main St")
        held = categories.save_category(
            acme.db, None, **category_values(name="In center", location_type="center",
                                             location=center)
        )  # fmt: skip
        online = categories.save_category(
            acme.db, None, **category_values(name="Online 2", location=center)
        )
        assert (held.location_id, online.location_id) == (center.id, None)
        with pytest.raises(DomainError, match="In center takes place at Main St"):
            categories.set_location_active(acme.db, center, False)
        assert held.location_type_label == "Center" and online.is_virtual
        acme.db.rollback()


def test_staff_subjects_are_replaced_as_a_whole(acme):
    b = acme.b
    with acme.scope():
        default = categories.default_category(acme.db)
        a, c = (categories.save_subject(acme.db, None, name=n, category=default) for n in "AC")
        categories.set_staff_subjects(acme.db, b.tutor, [a.id, c.id])
        categories.set_staff_subjects(acme.db, b.tutor, [c.id])
        assert [s.name for s in categories.subjects_of(acme.db, b.tutor)] == ["C"]
        assert categories.staff_teaching(acme.db, c.id) == {b.tutor.id}
        with pytest.raises(DomainError, match="from the list"):
            categories.set_staff_subjects(acme.db, b.tutor, [c.id, 999_999])
        with pytest.raises(DomainError, match="Only staff"):
            categories.set_staff_subjects(acme.db, b.parent, [c.id])
        acme.db.rollback()


def test_category_rows_belong_to_their_business(acme, other_business, db_session):
    with acme.scope():
        mine = categories.default_category(acme.db).id
    with as_tenant(other_business.tenant.id):
        assert db_session.get(SessionCategory, mine) is None
        assert [c.id for c in db_session.scalars(select(SessionCategory))] != [mine]


# --- migration 0009 ----------------------------------------------------------------------

NOW = "2026-01-05 12:00:00"


def _old_business(conn, tenant_id: int) -> None:
    """A business as 0008 left it: a tutor, a student with a package and its ledger, a
    series with an upcoming session that paid, and a cancelled one that was refunded."""
    base = tenant_id * 100
    conn.execute(
        sa.text(
            "INSERT INTO tenant (id, name, slug, timezone, low_balance_minutes,"
            " booking_notice_minutes, booking_horizon_days, slot_step_minutes, reminder_hours,"
            " created_at, currency, stripe_charges_enabled, online_payments)"
            " VALUES (:t, :name, :slug, 'UTC', 120, 1440, 60, 30, 24, :now, 'usd', :no, :no)"
        ),
        {"t": tenant_id, "name": f"Old {tenant_id}", "slug": f"old{tenant_id}", "now": NOW}
        | {"no": False},
    )
    rows = [
        "INSERT INTO user_account (id, tenant_id, email, name, role, active, session_nonce,"
        " created_at) VALUES (:b + 1, :t, 'tutor@x.example.com', 'T', 'tutor', :yes, 'n', :now)",
        "INSERT INTO family (id, tenant_id, name, created_at) VALUES (:b + 2, :t, 'F', :now)",
        "INSERT INTO student (id, tenant_id, family_id, first_name, last_name, grade, school,"
        " notes, created_at) VALUES (:b + 3, :t, :b + 2, 'Ada', 'Old', '', '', '', :now)",
        "INSERT INTO package (id, tenant_id, student_id, name, service, package_type,"
        " period_minutes, rollover, start_date, active, total_minutes, remaining_minutes,"
        " renewals_stopped, created_at) VALUES (:b + 4, :t, :b + 3, 'P', 'tutoring',"
        " 'one_time', 0, :no, '2026-01-01', :yes, 600, 540, :no, :now)",
        "INSERT INTO session_series (id, tenant_id, student_id, staff_id, service, every_weeks,"
        " weekdays, start_minute, duration_minutes, first_day, occurrences, booked_by_family,"
        " created_at) VALUES (:b + 5, :t, :b + 3, :b + 1, 'tutoring', 1, 1, 960, 60,"
        " '2026-02-02', 2, :yes, :now)",
        "INSERT INTO tutoring_session (id, tenant_id, student_id, staff_id, service, starts_at,"
        " ends_at, duration_minutes, status, booked_by_family, charged_minutes, created_at,"
        " package_id, series_id, series_position) VALUES (:b + 6, :t, :b + 3, :b + 1,"
        " 'tutoring', '2026-02-02 16:00:00', '2026-02-02 17:00:00', 60, 'upcoming', :yes, 60,"
        " :now, :b + 4, :b + 5, 1)",
        "INSERT INTO tutoring_session (id, tenant_id, student_id, staff_id, service, starts_at,"
        " ends_at, duration_minutes, status, booked_by_family, charged_minutes, created_at)"
        " VALUES (:b + 7, :t, :b + 3, :b + 1, 'tutoring', '2026-02-09 16:00:00',"
        " '2026-02-09 17:00:00', 60, 'cancelled', :yes, 0, :now)",
        "INSERT INTO ledger_entry (id, tenant_id, package_id, minutes, kind, balance_after,"
        " note, created_at, session_id) VALUES (:b + 8, :t, :b + 4, 600, 'grant', 600, '',"
        " :now, NULL), (:b + 9, :t, :b + 4, -60, 'debit', 540, '', :now, :b + 6),"
        " (:b + 10, :t, :b + 4, -60, 'debit', 480, '', :now, :b + 7),"
        " (:b + 11, :t, :b + 4, 60, 'refund', 540, '', :now, :b + 7)",
    ]
    for statement in rows:
        conn.execute(
            sa.text(statement), {"b": base, "t": tenant_id, "now": NOW, "yes": True, "no": False}
        )


def test_migration_0009_gives_each_business_a_category_and_leaves_the_ledger(
    database_url, tmp_path
):
    """0008 → 0009 with existing data: one "Session" category per business, every session
    and series of the business in it, addresses and links empty, no ledger entry changed."""
    with empty_database(database_url, tmp_path) as url:
        fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with fresh.app_context():
            upgrade(revision="0008_series")
            with db.engine.begin() as conn:
                _old_business(conn, 1)
                _old_business(conn, 2)
            ledger = "SELECT * FROM ledger_entry ORDER BY id"
            with db.engine.connect() as conn:
                before = conn.execute(sa.text(ledger)).all()
            upgrade()
            with db.engine.connect() as conn:
                assert conn.execute(sa.text(ledger)).all() == before
                cats = conn.execute(
                    sa.text(
                        "SELECT tenant_id, id, name, location_type, capacity, families_may_join,"
                        " active FROM session_category ORDER BY tenant_id"
                    )
                ).all()
                assert [(t, n, lt, cap, bool(j), bool(a)) for t, _i, n, lt, cap, j, a in cats] == [
                    (1, "Session", LocationType.CENTER, 1, False, True),
                    (2, "Session", LocationType.CENTER, 1, False, True),
                ]
                of_tenant = {t: i for t, i, *_ in cats}
                for table in ("tutoring_session", "session_series"):
                    rows = conn.execute(
                        sa.text(f"SELECT tenant_id, category_id, subject_id FROM {table}")
                    ).all()
                    assert rows and all(c == of_tenant[t] and s is None for t, c, s in rows)
                assert (
                    conn.scalar(
                        sa.text(
                            "SELECT count(*) FROM tutoring_session WHERE ical_sequence <> 0"
                            " OR meeting_link IS NOT NULL OR custom_address IS NOT NULL"
                        )
                    )
                    == 0
                )
            # The migrated rows work with the models: the session reads its category.
            with as_tenant(1):
                ts = db.session.get(TutoringSession, 106)
                assert ts.category.name == "Session" and ts.series.category.name == "Session"
                assert ts.starts_at == datetime(2026, 2, 2, 16, tzinfo=ts.starts_at.tzinfo)
            db.session.remove()
            db.engine.dispose()


def test_the_demo_business_has_its_session_category(app, db_session):
    from prepbase.demo import seed_demo

    seed_demo(db_session)
    with as_tenant(db_session.scalar(sa.text("SELECT id FROM tenant WHERE slug = 'demo'"))):
        names = db_session.scalars(select(SessionCategory.name).order_by(SessionCategory.id))
        # its starter category, and the small group it proposes (issue 14, group sessions)
        assert names.all() == ["Session", "Small group"]
        assert (
            db_session.scalar(
                select(sa.func.count())
                .select_from(TutoringSession)
                .where(TutoringSession.category_id.is_(None))
            )
            == 0
        )
    db_session.rollback()
