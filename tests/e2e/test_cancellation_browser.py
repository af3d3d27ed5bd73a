"""Design §12 in the browser: a family cancelling inside the business's window sees what
it keeps before confirming, on a phone, and the page passes axe.

Times are relative to now (a session three hours ahead is inside a 24-hour window at
any hour of the day), so the test does not depend on the wall clock's hour.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from prepbase import cancellation
from prepbase.models import utcnow
from tests.e2e.conftest import assert_fits_viewport
from tests.e2e.test_hours_browser import (
    build,
    expect_hours,
    family_books,
    give_growth_package,
    only_package_id,
    package_minutes,
    package_row,
    region,
    signed_in,
    when,
)
from tests.factories import Business

pytestmark = pytest.mark.e2e


def test_family_sees_the_late_cancellation_cost_before_confirming(new_page, tenants, in_live_app):
    def setup(session: Session, b: Business) -> dict[str, object]:
        cancellation.update_policy(
            session,
            b.tenant,
            window_hours=24,
            keep_percent=50,
            free_per_month=None,
            no_show_uses_hours=True,
            text="We keep this time free for you.",
            proposal_expiry_hours=72,
        )
        give_growth_package(session, b)
        starts_at = utcnow().replace(second=0, microsecond=0) + timedelta(hours=3)
        family_books(session, b, starts_at, 60)
        return {"starts_at": starts_at}

    world = build(in_live_app, tenants, setup)
    package_id = only_package_id(in_live_app, world)
    starts = when(world.extra["starts_at"])  # type: ignore[arg-type]
    assert package_minutes(in_live_app, world, package_id) == (1440, 1380, True)

    parent = signed_in(lambda: new_page(phone=True), world, world.parent, "family")
    upcoming = region(parent, "Upcoming Sessions").get_by_role("row", name=re.compile(starts))
    upcoming.get_by_role("button", name=re.compile(r"^Cancel Session\b")).click()

    expect(parent.get_by_role("heading", level=1)).to_have_text(f"Cancel {world.first}'s session?")
    expect(parent.locator("#cancel-cost")).to_have_text(
        f"Cancelling now keeps 0.5 of this session's 1 hour, per {world.name}'s 24-hour "
        "policy, and returns 0.5 hours to the package."
    )
    expect(parent.get_by_text("We keep this time free for you.")).to_be_visible()
    # Nothing moved by looking; the phone page does not scroll sideways.
    assert package_minutes(in_live_app, world, package_id) == (1440, 1380, True)
    assert_fits_viewport(parent)
    results = Axe().run(parent)
    serious = [
        v["id"]
        for v in results.response["violations"]
        if v.get("impact") in ("critical", "serious")
    ]
    assert serious == []

    parent.get_by_role("button", name="Cancel the session").click()
    expect(parent).to_have_url(re.compile(rf"/{world.slug}/family/$"))
    expect(parent.get_by_role("status").first).to_contain_text(
        f"{world.name}'s cancellation policy kept 0.5 hours. "
        "0.5 hours went back to Growth Package (23.5 left)."
    )
    expect_hours(package_row(parent, world), "24", "23.5")
    assert package_minutes(in_live_app, world, package_id) == (1440, 1410, True)
