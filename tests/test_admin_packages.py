"""Admin pages for hours (design §2, §4): the Packages tab and its Status toggle,
＋ Add Package, a package's ledger and adjustments, offerings, and the running-low list."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from prepbase import hours, packages, reports, scheduling
from prepbase.models import (
    EntryKind,
    InactiveReason,
    LedgerEntry,
    Offering,
    Package,
    Service,
    TutoringSession,
    utcnow,
)
from prepbase.reports import ReportFilters, Window
from prepbase.tenancy import as_tenant
from tests.factories import business_today

TAB_HEADERS = [
    "Package Name",
    "Package Type",
    "Start Date",
    "Total Hrs",
    "Remaining Hrs",
    "Package Service",
    "Status",
]
LAST_MONTH = business_today(-30)


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin(client, auth, business):
    auth.as_role(business, "admin")
    return client


class Make:
    """Rows made through the domain, as ＋ Add Package or a family would, and committed.

    Each call enters the business's scope only for itself: an app context held across
    requests would be shared by them (Flask reuses a pushed one)."""

    def __init__(self, app, db_session, business):
        self.app, self.db, self.business = app, db_session, business

    @contextmanager
    def scope(self, business=None):
        with self.app.app_context(), as_tenant((business or self.business).tenant.id):
            yield

    def package(self, hours_text="24", *, business=None, student=0, **kw) -> Package:
        business = business or self.business
        with self.scope(business):
            package = packages.assign_package(
                self.db,
                business.admin,
                business.students[student],
                name=kw.pop("name", "Growth Package"),
                service=kw.pop("service", "tutoring"),
                package_type=kw.pop("package_type", "one_time"),
                period=kw.pop("period", None),
                minutes=hours.parse_hours(hours_text, field="hours", max_hours=2000),
                start_date=kw.pop("start_date", LAST_MONTH),
                **kw,
            )
            self.db.commit()
        return package

    def session(self, minutes, *, days=1, student=0) -> TutoringSession:
        """A family booking: its hours are debited at once."""
        with self.scope():
            ts = scheduling.book_session(
                self.db,
                self.business.tenant,
                self.business.parent,
                student=self.business.students[student],
                staff=self.business.tutor,
                service="tutoring",
                starts_at=utcnow().replace(microsecond=0) + timedelta(days=days),
                duration_minutes=minutes,
            )
            self.db.commit()
        return ts

    def offering(self, name="Growth Package", *, business=None, **kw) -> Offering:
        business = business or self.business
        with self.scope(business):
            offering = packages.save_offering(
                self.db,
                business.admin,
                None,
                name=name,
                service=kw.pop("service", "tutoring"),
                package_type=kw.pop("package_type", "one_time"),
                period=kw.pop("period", None),
                minutes=kw.pop("minutes", 24 * 60),
                rollover=kw.pop("rollover", False),
            )
            self.db.commit()
        return offering

    def call(self, function, *args, **kw):
        """Any domain function with the test's session, committed."""
        with self.scope():
            result = function(self.db, *args, **kw)
            self.db.commit()
        return result


@pytest.fixture
def make(app, db_session, business) -> Make:
    return Make(app, db_session, business)


def count(db_session, business, model) -> int:
    with as_tenant(business.tenant.id):
        return db_session.scalar(select(func.count(model.id)))


def cells(row_html: str) -> list[str]:
    """The visible text of each <td> of one table row."""
    found = re.findall(r"<td[^>]*>(.*?)</td>", row_html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in found]


def row(body: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}">(.*?)</tr>', body, flags=re.S)
    assert match, f"no row {row_id}"
    return match.group(1)


# --- the Packages tab -------------------------------------------------------------------


def test_packages_tab_columns_in_order_with_hours(admin, business, db_session, make):
    package = make.package("24")
    make.session(210)  # a 3.5-hour session holds its hours
    body = text(admin.get(f"/acme/admin/students/{business.students[0].id}/packages"))
    assert "{% include" not in body and 'aria-current="page">Packages' in body
    thead = body[body.index("<thead>") : body.index("</thead>")]
    headers = [" ".join(h.split()) for h in re.findall(r'<th scope="col">(.*?)</th>', thead)]
    assert headers == TAB_HEADERS
    assert cells(row(body, f"package-{package.id}")) == [
        "Growth Package",
        "One-Time",
        LAST_MONTH.strftime("%-d %b %Y"),
        "24",
        "20.5",
        "Tutoring",
        "Active : Growth Package",
    ]
    assert f'href="/acme/admin/packages/{package.id}"' in body
    assert "Add Package" in body


def test_packages_tab_lists_inactive_and_recurring_packages(admin, business, db_session, make):
    monthly = make.package(
        "8",
        name="Monthly Coaching",
        service="counseling",
        package_type="recurring",
        period="monthly",
    )
    old = make.package("5", name="Summer Block")
    make.call(packages.set_package_active, business.admin, old, False)
    body = text(admin.get(f"/acme/admin/students/{business.students[0].id}/packages"))
    assert cells(row(body, f"package-{monthly.id}"))[1] == "Recurring (Monthly)"
    assert cells(row(body, f"package-{monthly.id}"))[5] == "Counseling"
    status = cells(row(body, f"package-{old.id}"))[6]
    assert status.startswith("Inactive") and "Paused" in status


def test_packages_tab_over_htmx_is_the_tab_fragment(admin, business, db_session, make):
    make.package()
    response = admin.get(
        f"/acme/admin/students/{business.students[0].id}/packages", headers={"HX-Request": "true"}
    )
    body = text(response)
    assert body.lstrip().startswith('<nav aria-label="Student profile"')
    assert "<html" not in body and "Growth Package" in body


def test_empty_packages_tab(admin, business):
    body = text(admin.get(f"/acme/admin/students/{business.students[1].id}/packages"))
    assert "No packages are assigned to Ben." in body


# --- the Status toggle --------------------------------------------------------------------


def test_status_toggle_switches_in_place_over_htmx(admin, business, db_session, make):
    package = make.package()
    response = admin.post(
        f"/acme/admin/packages/{package.id}/status",
        data={"active": "0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith(f'<div id="package-status-{package.id}"')
    assert "<html" not in body and "<table" not in body
    assert 'aria-checked="false"' in body and "Inactive" in body and "Paused" in body
    assert 'name="active" value="1"' in body  # the button now asks for Active
    db_session.refresh(package)
    assert (package.active, package.inactive_reason) == (False, InactiveReason.PAUSED)

    # An inactive package cannot be booked against; the family is told why.
    with pytest.raises(scheduling.NotEnoughHours), make.scope(), db_session.begin_nested():
        scheduling.book_session(
            db_session,
            business.tenant,
            business.parent,
            student=business.students[0],
            staff=business.tutor,
            service="tutoring",
            starts_at=utcnow() + timedelta(days=1),
            duration_minutes=60,
        )

    response = admin.post(
        f"/acme/admin/packages/{package.id}/status",
        data={"active": "1"},
        headers={"HX-Request": "true"},
    )
    assert 'aria-checked="true"' in text(response) and "Paused" not in text(response)
    db_session.refresh(package)
    assert package.active and package.inactive_reason is None
    make.session(60)
    db_session.refresh(package)
    assert package.remaining_minutes == 23 * 60


def test_status_toggle_without_javascript_redirects_back(admin, business, db_session, make):
    package = make.package()
    response = admin.post(f"/acme/admin/packages/{package.id}/status", data={"active": "0"})
    assert response.status_code == 303
    assert (
        response.headers["Location"] == f"/acme/admin/students/{business.students[0].id}/packages"
    )
    assert "Growth Package is Inactive." in text(admin.get(response.headers["Location"]))
    response = admin.post(
        f"/acme/admin/packages/{package.id}/status", data={"active": "1", "back": "package"}
    )
    assert response.headers["Location"] == f"/acme/admin/packages/{package.id}"
    db_session.refresh(package)
    assert package.active


def test_double_submitted_toggle_does_not_flip_back(admin, business, db_session, make):
    package = make.package()
    for _ in range(2):
        admin.post(
            f"/acme/admin/packages/{package.id}/status",
            data={"active": "0"},
            headers={"HX-Request": "true"},
        )
    db_session.refresh(package)
    assert package.active is False


def test_toggle_without_a_status_changes_nothing(admin, business, db_session, make):
    package = make.package()
    response = admin.post(
        f"/acme/admin/packages/{package.id}/status", headers={"HX-Request": "true"}
    )
    assert response.status_code == 422 and "Choose Active or Inactive." in text(response)
    db_session.refresh(package)
    assert package.active


def test_expired_package_cannot_be_switched_back_on(admin, business, db_session, make):
    package = make.package(
        start_date=business_today(-60),
        expires_on=business_today(-2),
    )
    make.call(packages.renew_due, business_today())
    db_session.refresh(package)
    assert package.inactive_reason == InactiveReason.EXPIRED
    body = text(admin.get(f"/acme/admin/students/{business.students[0].id}/packages"))
    assert "Expired" in cells(row(body, f"package-{package.id}"))[6]
    response = admin.post(
        f"/acme/admin/packages/{package.id}/status",
        data={"active": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "has expired" in text(response) and "Inactive" in text(response)
    db_session.refresh(package)
    assert package.active is False and package.inactive_reason == InactiveReason.EXPIRED


def test_package_past_its_expiry_reads_inactive_expired_before_renew_runs(
    admin, business, db_session, make
):
    package = make.package(start_date=business_today(-60), expires_on=business_today(-1))
    current = make.package(name="Current Package", expires_on=business_today())  # last day
    tab = text(admin.get(f"/acme/admin/students/{business.students[0].id}/packages"))
    status = cells(row(tab, f"package-{package.id}"))[6]
    assert status == "Inactive : Growth Package · Expired"
    assert 'aria-checked="false"' in row(tab, f"package-{package.id}")
    assert 'name="active" value="1"' in row(tab, f"package-{package.id}")  # asks for Active
    assert cells(row(tab, f"package-{current.id}"))[6] == "Active : Current Package"
    page = text(admin.get(f"/acme/admin/packages/{package.id}"))
    assert re.search(r'aria-checked="false"[^>]*>Inactive<.*?· </span>Expired', page, re.S)
    db_session.refresh(package)
    assert package.active is True and package.inactive_reason is None  # renew has not run

    # Switching it back on is refused with the reason; nothing changes.
    response = admin.post(
        f"/acme/admin/packages/{package.id}/status",
        data={"active": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "This package has expired" in text(response) and "Expired" in text(response)
    db_session.refresh(package)
    assert package.active is True and package.inactive_reason is None

    # The renewal job still switches the row off (data hygiene); the page reads the same.
    make.call(packages.renew_due, business_today())
    db_session.refresh(package)
    assert (package.active, package.inactive_reason) == (False, InactiveReason.EXPIRED)
    tab = text(admin.get(f"/acme/admin/students/{business.students[0].id}/packages"))
    assert cells(row(tab, f"package-{package.id}"))[6] == "Inactive : Growth Package · Expired"


def test_package_past_its_expiry_is_used_nowhere_before_renew_runs(
    client, auth, business, db_session, make
):
    # Started first, so rule 5 would take its hours first if it were usable.
    old = make.package(
        "1", name="Old Package", start_date=business_today(-60), expires_on=business_today(-1)
    )
    growth = make.package("24", start_date=business_today(-30))
    ts = make.session(60)
    assert (ts.package_id, ts.charged_minutes) == (growth.id, 60)  # not bookable
    with make.scope():
        proposal = scheduling.propose_session(
            db_session,
            business.tenant,
            business.tutor,
            student=business.students[0],
            staff=business.tutor,
            service="tutoring",
            starts_at=utcnow().replace(microsecond=0) + timedelta(days=3),
            duration_minutes=60,
        )
        db_session.commit()
    db_session.refresh(old)
    assert old.active is True and old.remaining_minutes == 60  # renew has not run

    auth.as_role(business, "parent")
    assert "Old Package" not in text(client.get("/acme/family/"))
    assert client.get(f"/acme/family/packages/{old.id}").status_code == 404

    auth.as_role(business, "tutor")
    page = text(client.get(f"/acme/tutor/sessions/{ts.id}"))
    assert "Growth Package" in page and "Old Package" not in page  # Ada's active packages
    board = text(client.get("/acme/tutor/"))
    pending = board[board.index('id="pending-title"') :]
    assert f"/acme/tutor/sessions/{proposal.id}" in pending
    assert "23<small" in pending  # hours left on Active packages: Growth's 23, not 24

    auth.as_role(business, "admin")
    dashboard = text(client.get("/acme/admin/"))
    low = dashboard[
        dashboard.index("Running low") : dashboard.index("Invitations not yet accepted")
    ]
    assert "Old Package" not in low  # 1 hour left, but expired: not "running low"
    student_tab = text(client.get(f"/acme/admin/students/{business.students[0].id}/sessions"))
    assert "23<small" in student_tab

    today = business_today()
    filters = ReportFilters(date_from=today - timedelta(days=30), date_to=today)
    with make.scope():
        figures = reports.student_figures(
            db_session, filters, Window.of(business.tenant.timezone, filters, utcnow())
        )
    [ada] = [f for f in figures.items if f.name == "Ada Acme"]
    assert ada.remaining == 23 * 60  # Remaining: Growth's hours only


def test_add_package_with_a_past_expiry_reads_inactive_expired(admin, business, db_session):
    response = admin.post(
        new_url(business),
        data={
            "offering": "custom",
            "name": "Late Entry",
            "package_type": "one_time",
            "period": "",
            "service": "tutoring",
            "hours": "5",
            "start_date": business_today(-30).isoformat(),
            "expires_on": business_today(-1).isoformat(),
        },
    )
    assert response.status_code == 303, text(response)
    with as_tenant(business.tenant.id):
        package = db_session.scalar(select(Package).where(Package.name == "Late Entry"))
    assert package.remaining_minutes == 300
    tab = text(admin.get(response.headers["Location"]))
    assert "Its expiry date has passed, so it is Inactive · Expired." in tab
    assert cells(row(tab, f"package-{package.id}"))[6] == "Inactive : Late Entry · Expired"
    response = admin.post(f"/acme/admin/packages/{package.id}/status", data={"active": "1"})
    assert response.status_code == 303
    assert "This package has expired" in text(admin.get(response.headers["Location"]))


# --- ＋ Add Package -------------------------------------------------------------------------


def new_url(business, student=0) -> str:
    return f"/acme/admin/students/{business.students[student].id}/packages/new"


def test_add_package_from_an_offering(admin, business, db_session, make):
    offering = make.offering(
        "Monthly Tutoring",
        package_type="recurring",
        period="monthly",
        minutes=600,
        rollover=True,
    )
    page = text(admin.get(new_url(business)))
    assert f'value="{offering.id}"' in page and "Custom package" in page
    today = business_today().isoformat()
    assert f'value="{today}"' in page  # Start Date defaults to today

    # Choosing the offering (htmx) shows its terms in the form, not editable.
    chosen = admin.get(
        new_url(business) + f"?offering={offering.id}&start_date=2026-09-01",
        headers={"HX-Request": "true"},
    )
    body = text(chosen)
    assert body.lstrip().startswith('<form id="package-form"')
    assert 'value="Monthly Tutoring"' in body and 'value="10"' in body
    assert "<fieldset disabled" in body and 'value="2026-09-01"' in body

    response = admin.post(
        new_url(business), data={"offering": str(offering.id), "start_date": "2026-09-01"}
    )
    assert response.status_code == 303, text(response)
    assert (
        response.headers["Location"] == f"/acme/admin/students/{business.students[0].id}/packages"
    )
    with as_tenant(business.tenant.id):
        package = db_session.scalar(select(Package).where(Package.offering_id == offering.id))
        entries = db_session.scalars(
            select(LedgerEntry).where(LedgerEntry.package_id == package.id)
        ).all()
    assert package.name == "Monthly Tutoring" and package.student_id == business.students[0].id
    assert (package.package_type, package.period, package.rollover) == (
        "recurring",
        "monthly",
        True,
    )
    assert (package.total_minutes, package.remaining_minutes) == (600, 600)
    assert package.start_date == date(2026, 9, 1) and package.active
    assert [(e.kind, e.minutes, e.actor_id) for e in entries] == [
        (EntryKind.GRANT, 600, business.admin.id)
    ]
    tab = text(admin.get(response.headers["Location"]))
    assert "Monthly Tutoring is assigned to Ada Acme: 10 hours." in tab


def test_add_custom_package(admin, business, db_session):
    response = admin.post(
        new_url(business, student=1),
        data={
            "offering": "custom",
            "name": "  SAT Sprint ",
            "package_type": "one_time",
            "period": "",
            "service": "tutoring",
            "hours": "12.25",
            "start_date": "2026-10-05",
            "expires_on": "2026-12-31",
            "rollover": "y",
        },
    )
    assert response.status_code == 303, text(response)
    with as_tenant(business.tenant.id):
        package = db_session.scalar(select(Package).where(Package.name == "SAT Sprint"))
    assert package.student_id == business.students[1].id and package.offering_id is None
    assert (package.total_minutes, package.remaining_minutes) == (735, 735)
    assert package.service == Service.TUTORING and package.package_type == "one_time"
    assert package.rollover is False  # rollover is for recurring packages only
    assert package.expires_on == date(2026, 12, 31)


def test_add_custom_recurring_package(admin, business, db_session):
    response = admin.post(
        new_url(business),
        data={
            "offering": "custom",
            "name": "Weekly Counseling",
            "package_type": "recurring",
            "period": "weekly",
            "service": "counseling",
            "hours": "1.5",
            "start_date": "2026-10-05",
            "rollover": "y",
        },
    )
    assert response.status_code == 303, text(response)
    with as_tenant(business.tenant.id):
        package = db_session.scalar(select(Package).where(Package.name == "Weekly Counseling"))
    assert (package.period, package.rollover, package.period_minutes) == ("weekly", True, 90)
    assert package.current_period_start == date(2026, 10, 5)


GOOD = {
    "offering": "custom",
    "name": "SAT Sprint",
    "package_type": "one_time",
    "period": "",
    "service": "tutoring",
    "hours": "10",
    "start_date": "2026-10-05",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hours": "0"}, "more than zero"),
        ({"hours": "-3"}, "cannot be negative"),
        ({"hours": "1.001"}, "whole minutes"),
        ({"hours": "ten"}, "as a number"),
        ({"hours": ""}, "as a number"),
        ({"hours": "2001"}, "more than 2000 hours"),
        ({"expires_on": "2026-10-04"}, "on or after the start date"),
        ({"package_type": "recurring"}, "how often a recurring package renews"),
        ({"name": "x" * 121}, "120 characters"),
        ({"name": "   "}, "Give the package a name"),
        ({"start_date": ""}, "Choose a start date"),
        ({"start_date": "2026-02-30"}, "Not a valid date"),
        ({"service": "cooking"}, "Not a valid choice"),
        ({"package_type": "forever"}, "Not a valid choice"),
        ({"offering": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_package_input_is_422_and_writes_nothing(admin, business, db_session, changes, message):
    before = (count(db_session, business, Package), count(db_session, business, LedgerEntry))
    response = admin.post(new_url(business), data={**GOOD, **changes})
    assert response.status_code == 422
    assert message in text(response)
    assert 'id="package-form"' in text(response)
    after = (count(db_session, business, Package), count(db_session, business, LedgerEntry))
    assert after == before


def test_bad_package_input_over_htmx_swaps_the_form(admin, business):
    response = admin.post(
        new_url(business), data={**GOOD, "hours": "0"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<form id="package-form"') and "<html" not in body
    assert 'aria-invalid="true"' in body


def test_archived_offerings_are_not_offered(admin, business, db_session, make):
    kept = make.offering("Kept Package")
    gone = make.offering("Old Package")
    make.call(packages.set_offering_archived, business.admin, gone, True)
    page = text(admin.get(new_url(business)))
    assert "Kept Package" in page and "Old Package" not in page
    response = admin.post(
        new_url(business), data={"offering": str(gone.id), "start_date": "2026-10-05"}
    )
    assert response.status_code == 422 and "Not a valid choice" in text(response)
    assert count(db_session, business, Package) == 0
    assert kept.id


# --- the package page: ledger and adjustments ---------------------------------------------


def test_package_page_shows_facts_and_ledger(admin, business, db_session, make):
    package = make.package("24", expires_on=business_today(90))
    first = make.session(210)
    second = make.session(60, days=2)
    make.call(scheduling.cancel_session, business.tenant, business.parent, second)
    make.call(hours.adjust, package, 30, business.admin, "Make-up for a late start")

    body = text(admin.get(f"/acme/admin/packages/{package.id}"))
    facts = body[body.index('<dl class="facts">') : body.index("</dl>")]
    for fact in ("Ada Acme", "Tutoring", "One-Time", "Total Hrs", "24.5", "Remaining Hrs", "21"):
        assert fact in facts
    assert (business_today(90)).strftime("%-d %b %Y") in facts
    assert f'id="package-status-{package.id}"' in facts

    tbody = body[body.index("<tbody>", body.index("History")) :]
    rows = [cells(r) for r in re.findall(r"<tr>(.*?)</tr>", tbody, flags=re.S)]
    kinds = [(r[1], r[2], r[3]) for r in rows]
    assert kinds == [  # newest first: the first balance is the Remaining Hrs
        ("Adjustment", "+0.5", "21"),
        ("Refund", "+1", "20.5"),
        ("Debit", "-1", "19.5"),
        ("Debit", "-3.5", "20.5"),
        ("Grant", "+24", "24"),
    ]
    with admin.application.test_request_context():
        from prepbase.localtime import format_when

        first_when = format_when(business.tenant.timezone, first.starts_at)
    assert rows[3][4] == f"{first_when} with Tara Tutor"
    assert rows[3][5] == "Pat Parent"
    assert rows[4][4] == "—" and rows[4][5] == "Acme Owner"
    assert rows[0][6] == "Make-up for a late start"
    assert 'aria-label="Pages of the history"' not in body  # one page: no pager


def test_adjust_hours_with_a_note(admin, business, db_session, make):
    package = make.package("24")
    response = admin.post(
        f"/acme/admin/packages/{package.id}/adjust",
        data={"hours": "-1.5", "note": "Session billed outside PrepBase"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/acme/admin/packages/{package.id}"
    db_session.refresh(package)
    assert (package.total_minutes, package.remaining_minutes) == (1440, 1350)
    response = admin.post(
        f"/acme/admin/packages/{package.id}/adjust", data={"hours": "2", "note": "Bonus hours"}
    )
    db_session.refresh(package)
    assert (package.total_minutes, package.remaining_minutes) == (1560, 1470)
    with as_tenant(business.tenant.id):
        last = db_session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.package_id == package.id)
            .order_by(LedgerEntry.id.desc())
        ).first()
    assert (last.kind, last.minutes, last.note, last.actor_id) == (
        EntryKind.ADJUSTMENT,
        120,
        "Bonus hours",
        business.admin.id,
    )
    page = text(admin.get(response.headers["Location"]))
    assert "Growth Package: +2 hours; 24.5 remaining." in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hours": "-1", "note": ""}, "the note is required"),
        ({"hours": "-1", "note": "   "}, "the note is required"),
        ({"hours": "-25", "note": "Too much"}, "cannot go below zero"),
        ({"hours": "0", "note": "Nothing"}, "more than zero"),
        ({"hours": "0.001", "note": "Tiny"}, "whole minutes"),
        ({"hours": "", "note": "Empty"}, "as a number"),
        ({"hours": "-3000", "note": "Huge"}, "more than 2000 hours"),
    ],
)
def test_bad_adjustment_is_422_and_writes_nothing(admin, business, db_session, make, data, message):
    package = make.package("24")
    entries = count(db_session, business, LedgerEntry)
    response = admin.post(f"/acme/admin/packages/{package.id}/adjust", data=data)
    assert response.status_code == 422
    assert message in text(response)
    assert count(db_session, business, LedgerEntry) == entries
    db_session.refresh(package)
    assert package.remaining_minutes == 1440


def test_bad_adjustment_over_htmx_swaps_the_form(admin, business, db_session, make):
    package = make.package("2")
    response = admin.post(
        f"/acme/admin/packages/{package.id}/adjust",
        data={"hours": "-3", "note": "Oops"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<form id="adjust-form"') and "<html" not in body
    assert "Only 2 hours are left" in body


# --- offerings ---------------------------------------------------------------------------


def test_offerings_create_edit_archive_restore(admin, business, db_session):
    assert "No offerings yet" in text(admin.get("/acme/admin/offerings"))
    response = admin.post(
        "/acme/admin/offerings/new",
        data={
            "name": "Growth Package",
            "service": "tutoring",
            "package_type": "one_time",
            "period": "",
            "hours": "24",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/acme/admin/offerings"
    with as_tenant(business.tenant.id):
        offering = db_session.scalar(select(Offering))
    assert (offering.name, offering.minutes, offering.archived) == ("Growth Package", 1440, False)
    listing = text(admin.get("/acme/admin/offerings"))
    assert "Growth Package" in listing and "One-Time" in listing

    edit_url = f"/acme/admin/offerings/{offering.id}/edit"
    form = text(admin.get(edit_url))
    assert 'value="Growth Package"' in form and 'value="24"' in form
    response = admin.post(
        edit_url,
        data={
            "name": "Growth Plan",
            "service": "counseling",
            "package_type": "recurring",
            "period": "monthly",
            "hours": "6",
            "rollover": "y",
        },
    )
    assert response.status_code == 303
    db_session.refresh(offering)
    assert (offering.name, offering.service, offering.period, offering.minutes) == (
        "Growth Plan",
        "counseling",
        "monthly",
        360,
    )
    assert offering.rollover is True

    admin.post(f"/acme/admin/offerings/{offering.id}/archive")
    db_session.refresh(offering)
    assert offering.archived
    listing = text(admin.get("/acme/admin/offerings"))
    current = listing[listing.index('id="current-title"') : listing.index('id="archived-title"')]
    assert "Growth Plan" not in current and "No offerings yet" in current
    assert "Growth Plan" in listing[listing.index('id="archived-title"') :]
    assert "Growth Plan" not in text(admin.get(new_url(business)))

    admin.post(f"/acme/admin/offerings/{offering.id}/restore")
    db_session.refresh(offering)
    assert not offering.archived
    assert "Growth Plan" in text(admin.get(new_url(business)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hours": "0"}, "more than zero"),
        ({"hours": "2.0001"}, "whole minutes"),
        ({"name": ""}, "Give the package a name"),
        ({"package_type": "recurring", "period": ""}, "how often a recurring package renews"),
        ({"period": "daily"}, "Not a valid choice"),
    ],
)
def test_bad_offering_input_is_422_and_writes_nothing(
    admin, business, db_session, changes, message
):
    data = {"name": "Growth", "service": "tutoring", "package_type": "one_time", "hours": "24"}
    response = admin.post("/acme/admin/offerings/new", data={**data, **changes})
    assert response.status_code == 422
    assert message in text(response)
    assert count(db_session, business, Offering) == 0


# --- running low -------------------------------------------------------------------------


def test_dashboard_lists_packages_running_low(admin, business, db_session, make):
    low = make.package("24", name="Growth Package")
    make.session(12 * 60)
    make.session(10 * 60, days=2)  # 2 hours left: at the default threshold
    make.package("3", name="Plenty Package", student=1)
    paused = make.package("1", name="Paused Package", student=1)
    make.call(packages.set_package_active, business.admin, paused, False)

    body = text(admin.get("/acme/admin/"))
    section = body[body.index("Running low") : body.index("Invitations not yet accepted")]
    assert "Growth Package" in section and "Ada Acme" in section
    assert f'href="/acme/admin/packages/{low.id}"' in section
    assert cells(re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)[1]) == [
        "Ada Acme",
        "Growth Package",
        "Tutoring",
        "2",
    ]
    assert "Plenty Package" not in section and "Paused Package" not in section


def test_dashboard_says_when_nothing_runs_low(admin, business):
    assert "No active package is running low." in text(admin.get("/acme/admin/"))


# --- who may, and whose rows ---------------------------------------------------------------


def routes(business, package_id, offering_id, student_id):
    gets = [
        f"/students/{student_id}/packages",
        f"/students/{student_id}/packages/new",
        f"/packages/{package_id}",
        "/offerings",
        "/offerings/new",
        f"/offerings/{offering_id}/edit",
    ]
    posts = [
        f"/students/{student_id}/packages/new",
        f"/packages/{package_id}/adjust",
        f"/packages/{package_id}/status",
        "/offerings/new",
        f"/offerings/{offering_id}/edit",
        f"/offerings/{offering_id}/archive",
        f"/offerings/{offering_id}/restore",
    ]
    return [("GET", p) for p in gets] + [("POST", p) for p in posts]


@pytest.mark.parametrize("role", ["tutor", "counselor", "parent", "student"])
def test_other_roles_get_403(client, auth, business, db_session, make, role):
    package = make.package()
    offering = make.offering()
    auth.as_role(business, role)
    for method, path in routes(business, package.id, offering.id, business.students[0].id):
        response = client.open(f"/acme/admin{path}", method=method, data={"active": "0"})
        assert response.status_code == 403, (method, path)
    db_session.refresh(package)
    assert package.active


def test_another_business_rows_answer_404(admin, business, other_business, db_session, make):
    theirs = make.package(business=other_business)
    their_offering = make.offering(business=other_business)
    for method, path in routes(
        other_business, theirs.id, their_offering.id, other_business.students[0].id
    ):
        if "/offerings/new" in path or path == "/offerings":
            continue  # no row in the URL
        response = admin.open(
            f"/acme/admin{path}",
            method=method,
            data={"active": "0", "hours": "5", "note": "x", "start_date": "2026-10-05"},
        )
        assert response.status_code == 404, (method, path)
    db_session.refresh(theirs)
    assert theirs.active and theirs.remaining_minutes == 1440
    # Their offering is not offered here either.
    assert "Growth Package" not in text(admin.get(new_url(business)))
