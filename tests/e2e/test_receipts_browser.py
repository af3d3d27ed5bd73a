"""End to end, money beside the hours (design §13): an admin adds a package with a cash
payment, and the family opens its receipt (on a phone too); axe on the new pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase.models import PackagePayment
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_no_sideways_scroll
from tests.e2e.test_browser import main_nav, phone_menu, sign_in
from tests.e2e.test_hours_browser import World, build, business_today, signed_in

pytestmark = pytest.mark.e2e


def axe_failures(page: Page, name: str) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"
    serious = [
        v for v in results.response["violations"] if v.get("impact") in ("critical", "serious")
    ]
    return [
        f"{name} ({page.url}): [{v['impact']}] {v['id']}: {v['help']} "
        + "; ".join(", ".join(n["target"]) for n in v["nodes"])
        for v in serious
    ]


def fits(page: Page) -> None:
    assert_no_sideways_scroll(page, 390)


def the_payment(in_live_app, world: World) -> tuple[int, int, int, str]:
    def read(session: Session) -> tuple[int, int, int, str]:
        with as_tenant(world.tenant_id):
            p = session.scalars(select(PackagePayment)).one()
            return p.id, p.receipt_number, p.amount_minor, p.method

    return in_live_app(read)


def test_admin_adds_a_package_with_a_cash_payment_and_the_family_opens_its_receipt(
    new_page, tenants, in_live_app
):
    world = build(in_live_app, tenants)
    failures: list[str] = []
    today = business_today()

    admin = signed_in(new_page, world, world.admin, "admin")
    admin.goto(f"/{world.slug}/admin/students/{world.student_id}/packages/new")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Add Package")
    failures += axe_failures(admin, "Add Package with payment fields")
    admin.get_by_label("Package Name").fill("Ten Hours")
    admin.get_by_label("Hours", exact=True).fill("10")
    admin.get_by_label("Price").fill("240.50")
    admin.get_by_label("Amount received").fill("100")
    admin.get_by_label("Method").select_option(label="Cash")
    expect(admin.get_by_label("Date received")).to_have_value(today.isoformat())
    admin.get_by_label("Reference").fill("Envelope 7")
    admin.get_by_role("button", name="Add Package", exact=True).click()
    expect(admin).to_have_url(re.compile(rf"/admin/students/{world.student_id}/packages$"))
    expect(admin.get_by_role("status")).to_contain_text("Payment recorded: receipt 1.")
    payment_id, number, amount, method = the_payment(in_live_app, world)
    assert (number, amount, method) == (1, 10000, "cash")

    admin.get_by_role("link", name="Ten Hours").first.click()
    expect(admin).to_have_url(re.compile(r"/admin/packages/\d+$"))
    package_url = admin.url
    payments = admin.get_by_role("region", name="Payments", exact=True)
    expect(payments).to_contain_text("Part paid")
    expect(payments).to_contain_text("$140.50 to pay")
    expect(payments.get_by_role("link", name="No. 1")).to_be_visible()
    failures += axe_failures(admin, "package page with payments")
    admin.goto(f"/{world.slug}/admin/payments")
    expect(admin.get_by_role("table", name="Payments matching the filters")).to_contain_text(
        "Envelope 7"
    )
    failures += axe_failures(admin, "Payments list")

    family = new_page(phone=True)
    sign_in(family, world.slug, world.parent)
    expect(family).to_have_url(re.compile(rf"/{world.slug}/family/$"))
    phone_menu(family)  # a phone folds the links into the Menu
    main_nav(family).get_by_role("link", name="Receipts").click()
    expect(family.get_by_role("heading", level=1)).to_have_text("Receipts")
    fits(family)
    failures += axe_failures(family, "family receipts on a phone")
    family.get_by_role("link", name="Receipt 1").click()
    expect(family).to_have_url(re.compile(rf"/family/receipts/{payment_id}$"))
    receipt = family.get_by_role("article")
    expect(receipt.get_by_role("heading", level=1)).to_have_text("Receipt No. 1")
    for words in (world.name, world.student, "Ten Hours", "$100.00", "USD", "Cash", "Envelope 7"):
        expect(receipt).to_contain_text(words)
    expect(receipt).to_contain_text(f"{today.day} {today.strftime('%B %Y')}")
    fits(family)
    failures += axe_failures(family, "receipt on a phone")
    family.emulate_media(media="print")
    expect(family.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(receipt).to_be_visible()
    family.emulate_media(media="screen")

    # The admin voids it with a note: the family's receipt then says VOID.
    admin.goto(package_url)
    admin.locator(f"#void-{payment_id} summary").click()
    admin.get_by_label("Why is it voided?").fill("Counted twice")
    admin.get_by_role("button", name="Void receipt 1").click()
    expect(admin.get_by_role("status")).to_contain_text("Receipt 1 is void.")
    family.reload()
    expect(receipt.get_by_role("heading", level=1)).to_have_text("Receipt No. 1 · VOID")
    expect(receipt).to_contain_text("Counted twice")

    assert not failures, "axe found serious accessibility problems:\n" + "\n".join(failures)
