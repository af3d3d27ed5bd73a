"""Moving in: families and students, staff, or opening balances from a spreadsheet.

Three steps, each a plain function: `read_upload` turns the uploaded bytes into rows (or
refuses the whole file with a message), `plan` says for every row what it will do or
why it will not, and `apply_import` writes the good rows in the caller's transaction —
or none of them when the admin chose "all or nothing". Between preview and confirm the
file waits as text on its `ImportRun` (server-side); confirming moves that record from
"previewed" to "imported" in one conditional UPDATE, so a replayed or doubled confirm
imports nothing a second time. The plan is made again at confirm time, against what the
business holds then.

Idempotent: people are matched by e-mail, students by name within their family, opening
balances by student, package name and service; what already exists is left unchanged.
E-mails are only ever compared within this business (tenant scoping): an address used
by another business is simply new here, and nothing of theirs is read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from charset_normalizer import from_bytes
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from prepbase import hours, packages, people
from prepbase.errors import DomainError
from prepbase.localtime import business_today
from prepbase.models import (
    STAFF_ROLES,
    EntryKind,
    Family,
    ImportKind,
    ImportRun,
    ImportStatus,
    LedgerEntry,
    Package,
    Role,
    Service,
    Student,
    Tenant,
    User,
    utcnow,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
# No cell of these files needs more (names are 120, e-mails 254); a longer one is refused
# with its row. The csv module's own limit (128 kB) stops a 1 MB cell first: file-level.
MAX_CELL = 1_000
# Text a spreadsheet would run as a formula when the file is opened again (OWASP's
# list; `csv_export` neutralises the same starts on the way out). A cell of the upload
# that starts so is refused, with its row: no name or e-mail starts that way.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What spreadsheets write for "nothing here".
BLANKS = frozenset({"", "-", "--", "n/a", "na"})


class ImportFileError(DomainError):
    """The whole file is refused (size, encoding, NUL bytes, rows, columns)."""


# --- columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a kind's template: its name in the template, the other names it is
    known by in other systems' exports, and whether every row needs it."""

    key: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int = 120


COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.FAMILIES: (
        Column("family_name", "Family name", aliases=("family", "household", "account name")),
        Column(
            "parent_name",
            "Parent name",
            True,
            ("parent", "guardian", "guardian name", "contact name", "parent full name"),
        ),
        Column(
            "parent_email",
            "Parent email",
            True,
            (
                "email",
                "e-mail",
                "parent e-mail",
                "guardian email",
                "contact email",
                "email address",
            ),
            254,
        ),
        Column(
            "student_first_name",
            "Student first name",
            aliases=("first name", "student first"),
            max_length=80,
        ),
        Column(
            "student_last_name",
            "Student last name",
            aliases=("last name", "student last"),
            max_length=80,
        ),
        Column("grade", "Grade", aliases=("year", "grade level", "class"), max_length=40),
        Column("school", "School", aliases=("school name",)),
    ),
    ImportKind.STAFF: (
        Column("name", "Name", True, ("full name", "staff name", "tutor name", "tutor")),
        Column("email", "Email", True, ("e-mail", "email address", "staff email"), 254),
        Column("role", "Role", aliases=("position", "type"), max_length=40),
        Column("services", "Services", aliases=("service", "subjects"), max_length=200),
    ),
    ImportKind.BALANCES: (
        Column(
            "parent_email",
            "Parent email",
            True,
            ("email", "e-mail", "parent e-mail", "guardian email", "contact email", "family email"),
            254,
        ),
        Column(
            "student_first_name", "Student first name", True, ("first name", "student first"), 80
        ),
        Column("student_last_name", "Student last name", True, ("last name", "student last"), 80),
        Column("package_name", "Package name", aliases=("package", "plan", "product")),
        Column("service", "Service", True, ("service type", "lesson type"), 40),
        Column(
            "total_hours",
            "Total hours",
            True,
            ("total hrs", "hours", "hours purchased", "purchased hours", "total"),
            20,
        ),
        Column(
            "remaining_hours",
            "Remaining hours",
            aliases=("remaining hrs", "hours remaining", "balance", "hours left", "remaining"),
            max_length=20,
        ),
        Column("start_date", "Start date", aliases=("start", "purchase date"), max_length=20),
        Column(
            "expires_on", "Expires on", aliases=("expiry", "expiry date", "expires"), max_length=20
        ),
    ),
}

EXAMPLES: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.FAMILIES: (
        "Rivera",
        "Ana Rivera",
        "ana.rivera@example.com",
        "Leo",
        "Rivera",
        "8",
        "Lincoln Middle",
    ),
    ImportKind.STAFF: ("Sam Lee", "sam.lee@example.com", "Tutor", "Tutoring"),
    ImportKind.BALANCES: (
        "ana.rivera@example.com",
        "Leo",
        "Rivera",
        "Growth Package",
        "Tutoring",
        "24",
        "20.5",
        "2026-09-01",
        "",
    ),
}


def _header_key(text: str) -> str:
    # "Parent E-mail", "parent_email" and "PARENT EMAIL" are one name.
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("e-mail", "email")).strip()


def template_csv(kind: ImportKind) -> tuple[list[str], list[str]]:
    """The header and one example row of a kind's downloadable template."""
    return [c.label for c in COLUMNS[kind]], list(EXAMPLES[kind])


@dataclass(frozen=True)
class Mapping:
    """Which column of the file feeds which of ours: what the admin confirms."""

    header: list[str]
    index: dict[str, int]  # our column key → position in the file
    matched: list[tuple[str, str | None]]  # each header of the file → our label, or None

    def missing(self, kind: ImportKind) -> list[str]:
        return [c.label for c in COLUMNS[kind] if c.required and c.key not in self.index]


def map_columns(kind: ImportKind, header: Sequence[str]) -> Mapping:
    """Match the file's column names (and their common variants) to the kind's columns;
    the first column matching a name wins, the others are ignored."""
    by_name: dict[str, Column] = {}
    for column in COLUMNS[kind]:
        for name in (column.label, column.key, *column.aliases):
            by_name.setdefault(_header_key(name), column)
    index: dict[str, int] = {}
    matched: list[tuple[str, str | None]] = []
    for position, name in enumerate(header):
        ours = by_name.get(_header_key(name))
        if ours is not None and ours.key not in index:
            index[ours.key] = position
            matched.append((name, ours.label))
        else:
            matched.append((name, None))
    return Mapping(list(header), index, matched)


# --- reading the file ---------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: UTF-8, with or without a byte-order mark, as spreadsheets export
    it. Anything else is refused with the encoding it looks like and how to fix it —
    guessing would put wrong letters in people's names."""
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            "This file contains NUL bytes, so it is not a CSV text file. Export the sheet "
            "again as CSV (UTF-8)."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:65536]).best()
    seen = f" (it looks like {best.encoding})" if best is not None else ""
    raise ImportFileError(
        f"This file is not saved as UTF-8{seen}. In Excel choose File → Save As → "
        "“CSV UTF-8 (comma delimited)”; in Google Sheets or LibreOffice, export as CSV "
        "with the UTF-8 character set."
    )


def _delimiter(text: str) -> str:
    # Comma or semicolon (Excel in many European locales). The Sniffer reads the first
    # lines; when it cannot tell, the header decides.
    first = text[:8192]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;").delimiter
    except csv.Error:
        header = first.splitlines()[0] if first else ""
        return ";" if header.count(";") > header.count(",") else ","


def read_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows (blank lines skipped), or a file-level refusal."""
    # Excel may write the separator on a line of its own first: "sep=;".
    first, _, rest = text.partition("\n")
    if first.strip().lower() in ("sep=;", "sep=,"):
        delimiter, text = first.strip()[-1], rest
    else:
        delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFileError("This file is empty: the first line should name the columns.")
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise ImportFileError(
                    f"This file has more than {MAX_ROWS:,} rows. Split it into files of "
                    f"{MAX_ROWS:,} rows or fewer and import them one after another."
                )
    except csv.Error as exc:
        raise ImportFileError(
            f"Line {reader.line_num} of this file cannot be read as CSV ({exc}). A cell may "
            "be far too long, or a quote left open."
        ) from exc
    return [cell.strip() for cell in header], rows


def read_upload(data: bytes) -> str:
    """Check an upload's size and encoding; its text."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            "This file is larger than 5 MB. Split it into smaller files and import them "
            "one after another."
        )
    if not data.strip():
        raise ImportFileError("This file is empty.")
    return decode(data)


# --- the plan: what each row will do -----------------------------------------------------


# What a row does (plain strings: the page's words and classes).
OUTCOME_NEW = "new"
OUTCOME_UNCHANGED = "unchanged"
OUTCOME_REFUSED = "refused"


@dataclass
class RowPlan:
    """One row of the file: its number as a spreadsheet shows it (the header is row 1),
    its cells by our column key, and what it will do or why it will not."""

    number: int
    raw: list[str]
    cells: dict[str, str]
    outcome: str = OUTCOME_NEW
    actions: list[str] = field(default_factory=list)
    refusal: str = ""
    # What apply_import needs, filled by the planner of the kind.
    target: dict[str, object] = field(default_factory=dict)

    def refuse(self, message: str) -> None:
        self.outcome = OUTCOME_REFUSED
        self.refusal = message


@dataclass
class Plan:
    """The preview: the mapping, every row's plan, and the counts."""

    kind: ImportKind
    mapping: Mapping
    rows: list[RowPlan]

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def refused(self) -> list[RowPlan]:
        return [row for row in self.rows if row.outcome == OUTCOME_REFUSED]


def _cells(kind: ImportKind, mapping: Mapping, number: int, raw: list[str]) -> RowPlan:
    cells: dict[str, str] = {}
    row = RowPlan(number, raw, cells)
    for column in COLUMNS[kind]:
        position = mapping.index.get(column.key)
        value = raw[position].strip() if position is not None and position < len(raw) else ""
        if value.lower() in BLANKS:
            value = ""
        cells[column.key] = value
        if row.refusal:
            continue
        if len(value) > min(column.max_length, MAX_CELL):
            row.refuse(f"{column.label} is longer than {column.max_length} characters.")
        elif value.startswith(FORMULA_STARTS):
            row.refuse(
                f"{column.label} starts with “{value[0]}”, which a spreadsheet would run as "
                "a formula. Remove that character."
            )
        elif _CONTROL.search(value):
            row.refuse(f"{column.label} contains line breaks or control characters.")
        elif column.required and not value:
            row.refuse(f"{column.label} is missing.")
    return row


# A plain ASCII address, checked quickly (a file holds thousands); anything else goes
# through email_validator, as the forms' Email() check does.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _email(row: RowPlan, key: str, label: str) -> str:
    text = row.cells[key]
    try:
        if not _PLAIN_EMAIL.fullmatch(text):
            validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        row.refuse(f"{label} “{text}” is not a valid e-mail address.")
        return ""
    return text.lower()


def _last_word(name: str) -> str:
    return name.split()[-1] if name.split() else name


def _duplicate(row: RowPlan, seen: dict[object, int], key: object, what: str) -> bool:
    first = seen.setdefault(key, row.number)
    if first != row.number:
        row.refuse(f"Duplicate of row {first}: the same {what} appears twice in this file.")
        return True
    return False


@dataclass(frozen=True)
class Person:
    """Who already signs in with an e-mail of the file (this business only)."""

    id: int
    email: str
    name: str
    role: str
    family_id: int | None
    family_name: str | None


def _people_by_email(session: Session, emails: set[str]) -> dict[str, Person]:
    # Everyone of this business (scoped like every query) in one statement of columns,
    # then a dict: faster than asking for thousands of addresses by name, and a business
    # has at most some tens of thousands of people.
    found: dict[str, Person] = {}
    for row in session.execute(
        select(User.id, User.email, User.name, User.role, User.family_id, Family.name).outerjoin(
            Family, Family.id == User.family_id
        )
    ):
        email = row[1].lower()
        if email in emails:
            found[email] = Person(*row)
    return found


def _students_by_family(
    session: Session, family_ids: set[int]
) -> dict[int, dict[tuple[str, str], tuple[int, str]]]:
    # Each family's students by name (see _student_key): their id and full name. One
    # statement for the business, as above.
    found: dict[int, dict[tuple[str, str], tuple[int, str]]] = {}
    for student_id, family_id, first, last in session.execute(
        select(Student.id, Student.family_id, Student.first_name, Student.last_name)
    ):
        if family_id in family_ids:
            found.setdefault(family_id, {})[_student_key(first, last)] = (
                student_id,
                f"{first} {last}".strip(),
            )
    return found


def _student_key(first: str, last: str) -> tuple[str, str]:
    return first.casefold(), last.casefold()


def _plan_families(session: Session, rows: list[RowPlan]) -> None:
    for row in rows:
        if not row.refusal:
            row.cells["parent_email"] = _email(row, "parent_email", "Parent email")
    users = _people_by_email(session, {r.cells["parent_email"] for r in rows if not r.refusal})
    families = {u.family_id for u in users.values() if u.role == Role.PARENT and u.family_id}
    students = _students_by_family(session, families)
    seen: dict[object, int] = {}
    seen_parents: set[str] = set()
    for row in rows:
        if row.refusal:
            continue
        cells = row.cells
        email = cells["parent_email"]
        first, last = cells["student_first_name"], cells["student_last_name"]
        if last and not first:
            row.refuse("Student first name is missing (a last name is given).")
            continue
        last = last or _last_word(cells["parent_name"])[:80]
        # As on Add Student: a new family is named after its student's last name.
        family_name = (
            cells["family_name"]
            or (cells["student_last_name"] and last)
            or (_last_word(cells["parent_name"]))
        )
        if _duplicate(row, seen, (email, *_student_key(first, last)), "parent and student"):
            continue
        user = users.get(email)
        existing, row_family = False, 0
        if user is not None:
            if user.role != Role.PARENT or user.family_id is None:
                row.refuse(
                    f"{email} already signs in here as {Role(user.role).label.lower()}; "
                    "a parent needs an e-mail of their own."
                )
                continue
            row.outcome = OUTCOME_UNCHANGED
            row.actions.append(f"Existing family {user.family_name} (matched by parent e-mail)")
            row.target["family_id"] = row_family = user.family_id
            existing = True
        elif email not in seen_parents:
            row.actions.append(f"New family {family_name}")
            row.actions.append(f"New parent {cells['parent_name']} <{email}>")
        else:
            row.outcome = OUTCOME_NEW
            row.actions.append(f"Family of {email} (earlier in this file)")
        seen_parents.add(email)
        row.target["family_name"] = family_name
        row.target["student_last_name"] = last
        if not first:
            continue
        if existing and _student_key(first, last) in students.get(row_family, {}):
            row.actions.append(f"Student {first} {last} already there")
        else:
            row.outcome = OUTCOME_NEW
            row.actions.append(f"New student {first} {last}")
            row.target["new_student"] = True


def _role(text: str) -> Role | None:
    wanted = text.strip().casefold() or "tutor"
    for role in (Role.TUTOR, Role.COUNSELOR, Role.ADMIN):
        if wanted in (role.value, role.label.casefold()) or (
            role is Role.COUNSELOR and wanted == "counsellor"
        ):
            return role
    return None


def _service(text: str) -> Service | None:
    wanted = text.strip().casefold().replace("counselling", "counseling")
    for service in Service:
        if wanted in (service.value, service.label.casefold()):
            return service
    return None


def _services(row: RowPlan, text: str, role: Role) -> list[Service] | None:
    names = [n for n in re.split(r"\s*(?:[;,/&]|\band\b)\s*", text) if n.strip()]
    services: list[Service] = []
    for name in names:
        service = _service(name)
        if service is None:
            row.refuse(f"Unknown service “{name}”: use Tutoring or Counseling.")
            return None
        services.append(service)
    if not services and role is not Role.ADMIN:
        services = [Service.COUNSELING if role is Role.COUNSELOR else Service.TUTORING]
    return services


def _plan_staff(session: Session, rows: list[RowPlan]) -> None:
    for row in rows:
        if not row.refusal:
            row.cells["email"] = _email(row, "email", "Email")
    users = _people_by_email(session, {r.cells["email"] for r in rows if not r.refusal})
    seen: dict[object, int] = {}
    for row in rows:
        if row.refusal:
            continue
        email = row.cells["email"]
        role = _role(row.cells["role"])
        if role is None:
            row.refuse(f"Unknown role “{row.cells['role']}”: use Tutor, Counselor or Admin.")
            continue
        services = _services(row, row.cells["services"], role)
        if services is None or _duplicate(row, seen, email, "e-mail"):
            continue
        user = users.get(email)
        if user is not None:
            if user.role not in STAFF_ROLES:
                row.refuse(f"{email} already signs in here as a family member.")
                continue
            row.outcome = OUTCOME_UNCHANGED
            row.actions.append(f"{user.name} is already on your staff")
            continue
        listed = ", ".join(s.label for s in services) or "no services"
        row.actions.append(f"New {role.label.lower()} {row.cells['name']} <{email}> ({listed})")
        row.target.update(role=role, services=services)


def _day(row: RowPlan, key: str, label: str) -> date | None:
    text = row.cells[key]
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        row.refuse(f"{label} “{text}” is not a date like 2026-09-01.")
        return None


def _plan_balances(session: Session, rows: list[RowPlan], today: date) -> None:
    for row in rows:
        if not row.refusal:
            row.cells["parent_email"] = _email(row, "parent_email", "Parent email")
    users = _people_by_email(session, {r.cells["parent_email"] for r in rows if not r.refusal})
    families = {u.family_id for u in users.values() if u.role == Role.PARENT and u.family_id}
    students = _students_by_family(session, families)
    # What earlier imports opened: (student, package name, service).
    opened = {
        (student_id, name.casefold(), service)
        for student_id, name, service in session.execute(
            select(Package.student_id, Package.name, Package.service).where(
                select(LedgerEntry.id)
                .where(
                    LedgerEntry.package_id == Package.id,
                    LedgerEntry.kind == EntryKind.OPENING_BALANCE,
                )
                .exists()
            )
        )
    }
    seen: dict[object, int] = {}
    for row in rows:
        if row.refusal:
            continue
        cells = row.cells
        service = _service(cells["service"])
        if service is None:
            row.refuse(f"Unknown service “{cells['service']}”: use Tutoring or Counseling.")
            continue
        try:
            total = hours.parse_hours(
                cells["total_hours"], field="total_hours", max_hours=hours.MAX_PACKAGE_HOURS
            )
            remaining = total
            if cells["remaining_hours"] and cells["remaining_hours"] not in ("0", "0.0", "0,0"):
                remaining = hours.parse_hours(
                    cells["remaining_hours"],
                    field="remaining_hours",
                    max_hours=hours.MAX_PACKAGE_HOURS,
                )
            elif cells["remaining_hours"]:
                remaining = 0
        except DomainError as exc:
            label = "Total hours" if exc.field == "total_hours" else "Remaining hours"
            row.refuse(f"{label}: {exc.message}")
            continue
        if remaining > total:
            row.refuse("Remaining hours are more than Total hours.")
            continue
        start_date = _day(row, "start_date", "Start date") or today
        expires_on = _day(row, "expires_on", "Expires on")
        if row.refusal:
            continue
        if expires_on is not None and expires_on < start_date:
            row.refuse("Expires on is before the start date.")
            continue
        user = users.get(cells["parent_email"])
        if user is None or user.role != Role.PARENT or user.family_id is None:
            row.refuse(
                f"No family here has the parent e-mail {cells['parent_email']}: import the "
                "families first."
            )
            continue
        key = _student_key(cells["student_first_name"], cells["student_last_name"])
        found = students.get(user.family_id, {}).get(key)
        if found is None:
            row.refuse(
                f"{user.family_name or 'That family'} has no student "
                f"{cells['student_first_name']} {cells['student_last_name']}."
            )
            continue
        student_id, student_name = found
        name = cells["package_name"] or f"{service.label} hours"
        if _duplicate(row, seen, (student_id, name.casefold(), service), "student and package"):
            continue
        if (student_id, name.casefold(), service.value) in opened:
            row.outcome = OUTCOME_UNCHANGED
            row.actions.append(f"{student_name} already has {name} from an import")
            continue
        used = total - remaining
        shown = f"{hours.format_hours(remaining)} of {hours.hours_phrase(total)} left"
        row.actions.append(f"New package {name} for {student_name}: {shown}")
        row.target["balance"] = packages.Imported(
            student_id=student_id,
            name=name,
            service=service,
            total_minutes=total,
            used_minutes=used,
            start_date=start_date,
            expires_on=expires_on,
        )


def plan(session: Session, tenant: Tenant, kind: ImportKind, text: str) -> Plan:
    """What importing `text` would do now, row by row; nothing is written."""
    header, raw_rows = read_rows(text)
    mapping = map_columns(kind, header)
    missing = mapping.missing(kind)
    if missing:
        raise ImportFileError(
            "This file has no column for "
            + ", ".join(missing)
            + ". Name the columns as in the template (download it below)."
        )
    rows = [_cells(kind, mapping, number, raw) for number, raw in enumerate(raw_rows, start=2)]
    if kind is ImportKind.FAMILIES:
        _plan_families(session, rows)
    elif kind is ImportKind.STAFF:
        _plan_staff(session, rows)
    else:
        _plan_balances(session, rows, business_today(tenant))
    return Plan(kind, mapping, rows)


# --- the two steps ------------------------------------------------------------------------


def preview_import(
    session: Session, tenant: Tenant, actor: User, kind: ImportKind, file_name: str, data: bytes
) -> tuple[ImportRun, Plan]:
    """Upload: read the file and plan it; keep it on a "previewed" record for confirm."""
    text = read_upload(data)
    result = plan(session, tenant, kind, text)
    run = ImportRun(
        kind=kind,
        status=ImportStatus.PREVIEWED,
        file_name=(_CONTROL.sub("", file_name) or "upload.csv")[:255],
        file_text=text,
        created_by_id=actor.id,
        rows_total=len(result.rows),
        rows_created=result.count(OUTCOME_NEW),
        rows_unchanged=result.count(OUTCOME_UNCHANGED),
        rows_refused=result.count(OUTCOME_REFUSED),
    )
    session.add(run)
    session.flush()
    return run, result


def refused_rows_csv(result: Plan) -> str:
    """The refused rows as the file had them, with the row number and the reason, as raw
    CSV text (the download neutralises formula cells: `csv_export`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Row", "Why it was not imported", *result.mapping.header])
    for row in result.refused:
        writer.writerow([row.number, row.refusal, *row.raw])
    return buffer.getvalue()


def apply_import(
    session: Session, tenant: Tenant, actor: User, run: ImportRun, *, all_or_nothing: bool
) -> Plan:
    """Confirm: write every good row (or none, with "all or nothing" and a refused row)
    in the caller's transaction, once. Raises DomainError when there is nothing to do."""
    updated = session.execute(
        update(ImportRun)
        .where(ImportRun.id == run.id, ImportRun.status == ImportStatus.PREVIEWED)
        .values(status=ImportStatus.IMPORTED, imported_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult[Any], updated).rowcount
    if claimed != 1:
        raise DomainError("This file was imported already; nothing was imported again.")
    session.refresh(run)
    kind = ImportKind(run.kind)
    result = plan(session, tenant, kind, run.file_text)
    refused = result.refused
    if all_or_nothing and refused:
        raise DomainError(
            f"{len(refused)} row{'s' if len(refused) != 1 else ''} cannot be imported, and you "
            "chose all or nothing: nothing was imported. Fix those rows, or import the "
            "good rows only."
        )
    today = business_today(tenant)
    note = f"imported on {today.isoformat()} by {actor.name}"
    if kind is ImportKind.FAMILIES:
        _write_families(session, result)
    elif kind is ImportKind.STAFF:
        _write_staff(session, result)
    else:
        packages.open_imported_packages(
            session,
            actor,
            [row.target["balance"] for row in result.rows if row.outcome == OUTCOME_NEW],  # type: ignore[misc]
            note,
        )
    run.rows_total = len(result.rows)
    run.rows_created = result.count(OUTCOME_NEW)
    run.rows_unchanged = result.count(OUTCOME_UNCHANGED)
    run.rows_refused = len(refused)
    run.refused_csv = refused_rows_csv(result) if refused else ""
    run.file_text = ""
    session.flush()
    return result


def _write_families(session: Session, result: Plan) -> None:
    rows = [row for row in result.rows if row.outcome == OUTCOME_NEW]
    # New families first (one per new parent e-mail, in file order), then every new
    # student with its family's id.
    households: dict[str, people.NewHousehold] = {}
    for row in rows:
        email = row.cells["parent_email"]
        if "family_id" not in row.target and email not in households:
            households[email] = people.NewHousehold(
                str(row.target["family_name"]), row.cells["parent_name"], email
            )
    family_ids = dict(
        zip(households, people.add_households(session, list(households.values())), strict=True)
    )
    people.add_students(
        session,
        [
            people.NewStudent(
                family_id=int(row.target.get("family_id") or family_ids[row.cells["parent_email"]]),  # type: ignore[call-overload]
                first_name=row.cells["student_first_name"],
                last_name=str(row.target["student_last_name"]),
                grade=row.cells["grade"],
                school=row.cells["school"],
            )
            for row in rows
            if row.target.get("new_student")
        ],
    )


def _write_staff(session: Session, result: Plan) -> None:
    for row in result.rows:
        if row.outcome == OUTCOME_NEW:
            session.add(
                people.new_account(
                    name=row.cells["name"],
                    email=row.cells["email"],
                    role=row.target["role"],  # type: ignore[arg-type]
                    services=row.target["services"],  # type: ignore[arg-type]
                )
            )
    session.flush()


def import_runs(session: Session) -> list[ImportRun]:
    """The business's imports, newest first: the record under Settings → Import."""
    return list(session.scalars(select(ImportRun).order_by(ImportRun.id.desc())))
