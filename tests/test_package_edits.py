"""Issue 15, correcting packages: an admin edits a package's name, start date and expiry
date; the "usable on day D" rule reads the new dates at once; every edit is recorded and
shown on the package page; hours never change here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from prepbase import packages, scheduling
from prepbase.errors import DomainError
from prepbase.models import InactiveReason, LedgerEntry, PackageEdit
from prepbase.tenancy import as_tenant
from tests.factories import business_today
from tests.test_hours_rules import give


@pytest.fixture
def world(app, business, db_session):
    with app.app_context(), as_tenant(business.tenant.id):
        yield business


def entries(db_session) -> int:
    return db_session.scalar(select(func.count(LedgerEntry.id)))


def test_edits_are_recorded_and_move_no_hours(world, db_session):
    today = business_today()
    package = give(db_session, world, "10", start=today - timedelta(days=10))
    before = entries(db_session)
    edits = packages.edit_package(
        db_session,
        world.admin,
        package,
        name=" SAT Intensive ",
        start_date=today - timedelta(days=3),
        expires_on=today + timedelta(days=30),
        today=today,
    )
    assert [(e.field, e.before, e.after) for e in edits] == [
        ("name", "Growth Package", "SAT Intensive"),
        (
            "start_date",
            (today - timedelta(days=10)).isoformat(),
            (today - timedelta(days=3)).isoformat(),
        ),
        ("expires_on", "", (today + timedelta(days=30)).isoformat()),
    ]
    assert all(e.actor_id == world.admin.id for e in edits)
    assert entries(db_session) == before
    assert package.remaining_minutes == 600
    again = packages.edit_package(
        db_session,
        world.admin,
        package,
        name="SAT Intensive",
        start_date=package.start_date,
        expires_on=package.expires_on,
        today=today,
    )
    assert again == []  # nothing changed, nothing recorded
    assert [e.field for e in packages.package_edits(db_session, package)] == [
        "expires_on",
        "start_date",
        "name",
    ]


def test_moving_the_expiry_reactivates_an_expired_package(world, db_session):
    today = business_today()
    package = give(
        db_session,
        world,
        "5",
        start=today - timedelta(days=40),
        expires_on=today - timedelta(days=1),
    )
    packages.renew_due(db_session, today)  # the job switches it off as Expired
    db_session.refresh(package)
    assert (package.active, package.inactive_reason) == (False, InactiveReason.EXPIRED)
    assert not package.usable_on(today)
    packages.edit_package(
        db_session,
        world.admin,
        package,
        name=package.name,
        start_date=package.start_date,
        expires_on=today + timedelta(days=14),
        today=today,
    )
    assert package.active and package.inactive_reason is None and package.usable_on(today)
    assert scheduling.hours_left(db_session, world.students[0].id, "tutoring", today) == 300


def test_a_later_start_date_applies_at_once(world, db_session):
    today = business_today()
    package = give(db_session, world, "5", start=today - timedelta(days=5))
    assert scheduling.hours_left(db_session, world.students[0].id, "tutoring", today) == 300
    packages.edit_package(
        db_session,
        world.admin,
        package,
        name=package.name,
        start_date=today + timedelta(days=7),
        expires_on=None,
        today=today,
    )
    assert scheduling.hours_left(db_session, world.students[0].id, "tutoring", today) == 0
    assert (
        scheduling.hours_left(
            db_session, world.students[0].id, "tutoring", today + timedelta(days=7)
        )
        == 300
    )


def test_bad_corrections_are_refused(world, db_session):
    today = business_today()
    package = give(db_session, world, "5", start=today)
    with pytest.raises(DomainError, match="on or after the start"):
        packages.edit_package(
            db_session, world.admin, package, name="X", start_date=today,
            expires_on=today - timedelta(days=1), today=today,
        )  # fmt: skip
    with pytest.raises(DomainError, match="name"):
        packages.edit_package(
            db_session, world.admin, package, name="  ", start_date=today, expires_on=None,
            today=today,
        )  # fmt: skip


def test_admin_corrects_a_package_on_its_page(client, auth, business, db_session, app):
    today = business_today()
    with app.app_context(), as_tenant(business.tenant.id):
        package = give(db_session, business, "5", start=today)
        db_session.commit()
    auth.as_role(business, "admin")
    url = f"/acme/admin/packages/{package.id}"
    refused = client.post(
        f"{url}/edit",
        data={
            "edit-name": "Growth",
            "edit-start_date": today.isoformat(),
            "edit-expires_on": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "The expiry date must be on or after the start date." in refused.get_data(as_text=True)
    done = client.post(
        f"{url}/edit",
        data={
            "edit-name": "SAT Intensive",
            "edit-start_date": today.isoformat(),
            "edit-expires_on": (today + timedelta(days=60)).isoformat(),
        },
    )
    assert done.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert 'id="package-edits"' in page and "SAT Intensive" in page and "Growth Package" in page
    with as_tenant(business.tenant.id):
        assert db_session.scalar(select(func.count(PackageEdit.id))) == 2
