"""Moving in (issue 20) in the browser: a 200-family file with 5 bad rows, the preview,
confirm, the families, students and balances on their pages; opening balances; the same
file again changes nothing; axe on the Import pages; the preview on a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import hours
from prepbase.models import Family, Package, Student, User
from prepbase.tenancy import as_tenant
from tests.e2e.conftest import assert_fits_viewport
from tests.e2e.test_browser import sign_in
from tests.factories import make_business

pytestmark = pytest.mark.e2e

FAMILIES = 200
BAD_ROWS = [
    ",nobody@example.com,Kid,Nobody",  # missing parent name
    "Bad Mail,not-an-email,Kid,Mail",  # malformed e-mail
    '"=HYPERLINK(""http://x"")",formula@example.com,Kid,Formula',  # formula cell
    "Parent 001,parent001@example.com,Kid001,Family001",  # duplicate of row 2
    "Long Name,long@example.com,Kid," + "L" * 100,  # student last name too long
]


def families_file(tmp_path: Path) -> Path:
    lines = ["Parent name,Parent email,Student first name,Student last name,Grade"]
    for n in range(1, FAMILIES + 1):
        lines.append(f"Parent {n:03},parent{n:03}@example.com,Kid{n:03},Family{n:03},{n % 12 + 1}")
    lines[3:3] = BAD_ROWS  # in the middle of the good rows
    path = tmp_path / "families.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
    return path


def balances_file(tmp_path: Path) -> Path:
    lines = ["Parent Email;First Name;Last Name;Package;Service;Total Hrs;Remaining Hrs"]
    for n in range(1, FAMILIES + 1):
        lines.append(f"parent{n:03}@example.com;Kid{n:03};Family{n:03};Growth;Tutoring;10;7,5")
    path = tmp_path / "balances.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def axe_serious(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("critical", "serious")
    ]


def signed_in(page: Page, slug: str, email: str) -> None:
    sign_in(page, slug, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")


def upload(page: Page, slug: str, kind: str, path: Path) -> None:
    page.goto(f"/{slug}/admin/settings/import")
    page.get_by_label("What the file holds").select_option(label=kind)
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Import: {path.name}")


def confirm(page: Page) -> None:
    page.get_by_role("button", name="Confirm the mapping and import").click()
    # The import runs within the request (Importing… shows meanwhile): a shared machine
    # may take a few seconds.
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible(timeout=30_000)


def test_import_200_families_with_5_bad_rows_then_again(new_page, tenants, in_live_app, tmp_path):
    slug = tenants.new_slug("imp")

    def build(session: Session) -> tuple[str, int]:
        business = make_business(session, slug)
        return business.admin.email, business.tenant.id

    admin_email, tenant_id = in_live_app(build)

    def counts(session: Session) -> tuple[int, int, int, int]:
        with as_tenant(tenant_id):
            return tuple(  # type: ignore[return-value]
                session.scalar(select(func.count(model.id)))
                for model in (Family, Student, User, Package)
            )

    page = new_page()
    signed_in(page, slug, admin_email)
    page.goto(f"/{slug}/admin/settings/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
    problems = axe_serious(page)

    before = in_live_app(counts)
    families = families_file(tmp_path)
    upload(page, slug, "Families and students", families)
    rows = page.locator("#import-rows + p")
    expect(rows).to_contain_text("205 rows: 200 will add something, 0 are already here")
    expect(rows).to_contain_text("5 cannot be imported")
    for number, reason in [
        (4, "Parent name is missing."),
        (5, "is not a valid e-mail address"),
        (6, "would run as a formula"),
        (7, "Duplicate of row 2"),
        (8, "Student last name is longer than 80 characters."),
    ]:
        row = page.locator(
            "tr.import-refused", has=page.get_by_role("cell", name=str(number), exact=True)
        )
        expect(row).to_contain_text(reason)
    mapping = page.get_by_role("region", name="Columns")
    expect(mapping.get_by_role("row", name="Student last name Student last name")).to_be_visible()
    problems += axe_serious(page)
    assert in_live_app(counts) == before  # the preview wrote nothing

    confirm(page)
    expect(page.get_by_role("status").first).to_contain_text(
        "Imported: 200 new, 0 already here, 5 refused."
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the refused rows (CSV)").click()
    refused = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert len(refused.splitlines()) == 6 and "'=HYPERLINK" in refused  # neutralised
    after = in_live_app(counts)
    assert after == (before[0] + 200, before[1] + 200, before[2] + 200, before[3])

    # The families and students on their pages.
    def kid123(session: Session) -> tuple[int, int]:
        with as_tenant(tenant_id):
            return tuple(  # type: ignore[return-value]
                session.execute(
                    select(Student.family_id, Student.id).where(Student.first_name == "Kid123")
                ).one()
            )

    family_id, student_id = in_live_app(kid123)
    page.goto(f"/{slug}/admin/families/{family_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Family123")
    expect(page.get_by_role("link", name="Kid123 Family123")).to_be_visible()
    expect(page.get_by_role("cell", name="parent123@example.com")).to_be_visible()

    # Opening balances: Total 10, Remaining 7.5, and the history says where they came from.
    upload(page, slug, "Opening balances", balances_file(tmp_path))
    expect(page.locator("#import-rows + p")).to_contain_text("200 will add something")
    confirm(page)
    page.goto(f"/{slug}/admin/students/{student_id}/packages")
    row = page.get_by_role("row", name=re.compile("Growth"))
    expect(row).to_contain_text("10")
    expect(row).to_contain_text("7.5")
    row.get_by_role("link", name="Growth").click()
    expect(page.get_by_text("Opening balance", exact=True).first).to_be_visible()
    expect(page.get_by_text("Used before import", exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"imported on \d{4}-\d\d-\d\d by")).first).to_be_visible()
    packages_after = in_live_app(counts)[3]
    assert packages_after == before[3] + 200

    # The same files again change nothing.
    upload(page, slug, "Families and students", families)
    expect(page.locator("#import-rows + p")).to_contain_text(
        "205 rows: 0 will add something, 200 are already here"
    )
    confirm(page)
    expect(page.get_by_role("status").first).to_contain_text(
        "Imported: 0 new, 200 already here, 5 refused."
    )
    upload(page, slug, "Opening balances", balances_file(tmp_path))
    confirm(page)
    assert in_live_app(counts) == (*after[:3], packages_after)

    # The record lists the four imports.
    page.goto(f"/{slug}/admin/settings/import")
    history = page.get_by_role("region", name="Past imports")
    expect(history.locator("tbody tr")).to_have_count(4)

    # The preview on a phone: nothing that matters needs sideways scrolling.
    phone = new_page(phone=True)
    signed_in(phone, slug, admin_email)
    upload(phone, slug, "Families and students", families)
    assert_fits_viewport(phone)

    assert in_live_app(lambda s: hours.audit(s)) == []
    assert not problems, "axe: " + "; ".join(problems)
