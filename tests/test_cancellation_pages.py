"""Design §12 through the pages: the family sees the cost before confirming, staff choose
refund all or the policy, admins waive and set the policy. The clock is pinned at NOW
(noon in the factories' New York business)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from prepbase import cancellation, hours, scheduling
from prepbase.models import EntryKind, LedgerEntry, OutboundEmail
from prepbase.tenancy import as_tenant
from tests.test_family_portal import HX, World, text

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


@pytest.fixture
def world(app, db_session, business):
    with time_machine.travel(NOW, tick=False):
        w = World(app, db_session, business)
        with w.scope():
            cancellation.update_policy(
                db_session,
                business.tenant,
                window_hours=24,
                keep_percent=50,
                free_per_month=None,
                no_show_uses_hours=True,
                text="We hold this time for you.",
                proposal_expiry_hours=72,
            )
        yield w


@pytest.fixture
def parent(client, auth, business, world):
    auth.as_role(business, "parent")
    return client


def late_session(world, hours_ahead=3, minutes=60):
    return world.book(minutes, starts_at=NOW + timedelta(hours=hours_ahead), now=NOW)


def kinds(world, ts):
    with as_tenant(world.b.tenant.id):
        return [
            (e.kind, e.minutes)
            for e in world.db.scalars(
                select(LedgerEntry).where(LedgerEntry.session_id == ts.id).order_by(LedgerEntry.id)
            )
        ]


def test_family_sees_the_cost_before_confirming(parent, world):
    package = world.package("5")
    ts = late_session(world)
    far = world.book(60, starts_at=NOW + timedelta(days=3), now=NOW)
    dashboard = text(parent.get("/acme/family/"))
    row = dashboard.split(f'<tr id="session-{ts.id}">', 1)[1].split("</tr>", 1)[0]
    assert f'href="/acme/family/sessions/{ts.id}/cancel"' in row  # a link, not a post
    far_row = dashboard.split(f'<tr id="session-{far.id}">', 1)[1].split("</tr>", 1)[0]
    assert "hx-confirm" in far_row  # outside the window: the one-click cancel as before
    page = parent.get(f"/acme/family/sessions/{ts.id}/cancel")
    assert page.status_code == 200
    body = text(page)
    assert (
        "Cancelling now keeps 0.5 of this session&#39;s 1 hour, per Acme Tutoring&#39;s "
        "24-hour policy, and returns 0.5 hours to the package." in body
    )
    assert "We hold this time for you." in body
    assert 'name="kept" value="30"' in body
    world.reload(ts, package)
    assert ts.status == "upcoming"  # looking costs nothing
    response = parent.post(f"/acme/family/sessions/{ts.id}/cancel", data={"kept": "30"})
    assert response.status_code == 303
    world.reload(ts, package)
    assert ts.status == "cancelled" and ts.charged_minutes == 30
    assert package.remaining_minutes == 300 - 60 - 30
    assert kinds(world, ts)[-1] == (EntryKind.LATE_CANCELLATION, -30)
    followed = text(parent.get("/acme/family/"))
    assert "cancellation policy kept 0.5 hours" in followed


def test_a_cancel_that_was_shown_no_cost_is_sent_to_the_cost(parent, world):
    package = world.package("5")
    ts = late_session(world)
    response = parent.post(f"/acme/family/sessions/{ts.id}/cancel", headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/acme/family/sessions/{ts.id}/cancel"
    world.reload(ts, package)
    assert ts.status == "upcoming" and package.remaining_minutes == 240


def test_a_changed_cost_is_shown_again_not_applied(parent, world):
    package = world.package("5")
    ts = late_session(world)
    response = parent.post(f"/acme/family/sessions/{ts.id}/cancel", data={"kept": "0"})
    assert response.status_code == 409
    assert "The cost of cancelling has changed" in text(response)
    assert 'name="kept" value="30"' in text(response)
    world.reload(ts, package)
    assert ts.status == "upcoming" and package.remaining_minutes == 240


def test_forced_cancel_after_the_start_is_refused_with_a_message(parent, world):
    world.package("5")
    ts = world.book(60, starts_at=NOW - timedelta(minutes=2), now=NOW - timedelta(hours=1))
    response = parent.post(f"/acme/family/sessions/{ts.id}/cancel", data={"kept": "60"})
    assert response.status_code == 422
    assert "This session has started, so it can no longer be cancelled." in text(response)
    page = text(parent.get(f"/acme/family/sessions/{ts.id}/cancel"))
    assert "can no longer be cancelled here" in page and 'name="kept"' not in page
    world.reload(ts)
    assert ts.status == "upcoming"


def test_staff_cancel_refunds_all_or_applies_the_policy(client, auth, business, world):
    world.package("5")
    refund_all = late_session(world, 2)
    apply = late_session(world, 4)
    auth.as_role(business, "tutor")
    page = text(client.get(f"/acme/tutor/sessions/{refund_all.id}"))
    assert "Apply the cancellation policy" in page and "24-hour cancellation window" in page
    response = client.post(
        f"/acme/tutor/sessions/{refund_all.id}/cancel", data={"cancel-hours": "refund"}
    )
    assert response.status_code in (200, 303)
    assert kinds(world, refund_all)[-1] == (EntryKind.REFUND, 60)
    response = client.post(
        f"/acme/tutor/sessions/{apply.id}/cancel", data={"cancel-hours": "policy"}
    )
    assert response.status_code in (200, 303)
    assert kinds(world, apply)[-1] == (EntryKind.LATE_CANCELLATION, -30)
    with as_tenant(world.b.tenant.id):
        told = world.db.scalars(
            select(OutboundEmail.body).where(
                OutboundEmail.to_addr == business.parent.email,
                OutboundEmail.subject.startswith("Cancelled"),
            )
        ).all()
    assert any(
        "0.5 hours kept under Acme Tutoring's cancellation policy." in body
        and "0.5 hours went back to the package." in body
        for body in told
    ), told
    assert any("1 hour went back to the package." in body for body in told), told


def test_admin_waives_from_the_package_page(client, auth, business, world):
    package = world.package("5")
    ts = late_session(world)
    with world.scope():
        scheduling.cancel_session(world.db, world.b.tenant, world.b.parent, ts, now=NOW)
    auth.as_role(business, "admin")
    page = text(client.get(f"/acme/admin/packages/{package.id}"))
    assert "Late cancellation" in page and "Late-cancellation charges" in page
    refused = client.post(
        f"/acme/admin/packages/{package.id}/sessions/{ts.id}/waive",
        data={f"waive-{ts.id}-note": ""},
    )
    assert refused.status_code == 422 and "the note is required" in text(refused)
    done = client.post(
        f"/acme/admin/packages/{package.id}/sessions/{ts.id}/waive",
        data={f"waive-{ts.id}-note": "Snow day"},
    )
    assert done.status_code == 303
    world.reload(package)
    assert package.remaining_minutes == 300
    assert kinds(world, ts)[-2:] == [(EntryKind.LATE_CANCELLATION, -30), (EntryKind.WAIVER, 30)]
    page = text(client.get(f"/acme/admin/packages/{package.id}"))
    assert "Late-cancellation charges" not in page and "Snow day" in page
    with as_tenant(world.b.tenant.id):
        assert hours.audit(world.db) == []


def test_admin_sets_the_cancellation_policy(client, auth, business, world):
    auth.as_role(business, "admin")
    page = text(client.get("/acme/admin/settings"))
    assert "Cancellation Policy" in page and 'id="policy-form"' in page
    fields = {
        "policy-window_hours": "12",
        "policy-charge": "percent",
        "policy-percent": "",
        "policy-free_per_month": "2",
        "policy-no_show": "no",
        "policy-text": "Thanks!",
        "policy-proposal_expiry_hours": "48",
    }
    refused = client.post("/acme/admin/settings/cancellation-policy", data=fields, headers=HX)
    assert refused.status_code == 422
    assert "Enter a percentage from 1 to 99." in text(refused)
    saved = client.post(
        "/acme/admin/settings/cancellation-policy", data=fields | {"policy-percent": "25"}
    )
    assert saved.status_code == 303
    world.reload(business.tenant)
    policy = cancellation.policy_for(business.tenant)
    assert (policy.window_hours, policy.keep_percent, policy.free_per_month) == (12, 25, 2)
    assert not policy.no_show_uses_hours and business.tenant.proposal_expiry_hours == 48
    page = text(client.get("/acme/admin/settings"))
    assert re.search(r'name="policy-percent"[^>]*value="25"', page)


@pytest.mark.parametrize("kept", ["", "-30", "٣٠", "3e1", "1234567"])
def test_a_kept_value_the_page_never_sends_is_refused(parent, world, kept):
    world.package("5")
    ts = late_session(world)
    response = parent.post(f"/acme/family/sessions/{ts.id}/cancel", data={"kept": kept})
    assert response.status_code == 400
    world.reload(ts)
    assert ts.status == "upcoming"
