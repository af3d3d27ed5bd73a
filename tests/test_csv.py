"""CSV downloads: UTF-8 with BOM, csv-module quoting, formula injection neutralised."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from prepbase import hours, packages
from prepbase.csv_export import BOM, csv_text, safe_cell
from prepbase.tenancy import as_tenant


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("Ada Acme", "Ada Acme"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-1.5, -1.5),
        (-3, -3),
        (Decimal("-0.5"), Decimal("-0.5")),
        (date(2026, 1, 5), "2026-01-05"),
        (True, "yes"),
    ],
)
def test_safe_cell_neutralises_formulas_but_keeps_numbers(value, expected):
    assert safe_cell(value) == expected


def read(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text.removeprefix(BOM))))


def test_csv_quotes_commas_quotes_and_newlines():
    text = csv_text(["Name", "Note"], [['Smith, "Jo"', "line 1\nline 2"], ["=x", Decimal("-1")]])
    assert read(text) == [
        ["Name", "Note"],
        ['Smith, "Jo"', "line 1\nline 2"],
        ["'=x", "-1"],
    ]
    assert '"Smith, ""Jo"""' in text


def test_package_ledger_csv_is_an_attachment_with_neutralised_notes(
    app, client, auth, business, db_session
):
    with app.app_context(), as_tenant(business.tenant.id):
        package = packages.assign_package(
            db_session,
            business.admin,
            business.students[0],
            name="=Growth",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=600,
            start_date=date(2020, 1, 1),
        )
        hours.adjust(db_session, package, -90, business.admin, '=HYPERLINK("http://x","y")')
        hours.adjust(db_session, package, 30, business.admin, "@bonus, thanks")
        db_session.commit()
    auth.as_role(business, "admin")
    response = client.get(f"/acme/admin/packages/{package.id}/ledger.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="acme-package-{package.id}-ledger.csv"'
    )
    rows = read(response.get_data(as_text=True))
    assert rows[0] == ["When", "Change", "Hours", "Balance after", "Session", "By", "Note"]
    assert [r[1:4] for r in rows[1:]] == [
        ["Grant", "10", "10"],
        ["Adjustment", "-1.5", "8.5"],  # a negative number stays a number
        ["Adjustment", "0.5", "9"],
    ]
    assert rows[2][6] == '\'=HYPERLINK("http://x","y")'
    assert rows[3][6] == "'@bonus, thanks"
    assert rows[1][5] == "Acme Owner"


def test_ledger_csv_is_admin_only(client, auth, business):
    auth.as_role(business, "parent")
    assert client.get("/acme/admin/packages/1/ledger.csv").status_code == 403
    auth.logout(business)
    auth.as_role(business, "admin")
    assert client.get("/acme/admin/packages/999999/ledger.csv").status_code == 404
