"""CSV downloads of report tables and package ledgers.

UTF-8 with a byte-order mark, so that Excel opens names with accents correctly (other
spreadsheets and the csv module ignore it); quoting by the csv module; and text cells that
a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage
return) get a leading single quote, as OWASP recommends. Numbers (int, float, Decimal)
are written as they are: a number cannot be a formula, and "-1.5" must stay a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response

from prepbase.hours import format_hours
from prepbase.importing import FORMULA_STARTS

BOM = "\ufeff"


def safe_cell(value: object) -> object:
    """One cell, neutralised against formula injection when it is text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def hours_cell(minutes: int) -> Decimal:
    """Minutes as a number of hours for a spreadsheet: 90 → 1.5."""
    return Decimal(format_hours(minutes))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file as text, BOM first."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A download: text/csv, UTF-8, Content-Disposition attachment."""
    response = Response(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    safe_name = "".join(c if c.isalnum() or c in "-_." else "-" for c in filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return response
