"""Settings → Import (issue 20): every refusal, the preview writes nothing, confirm writes
once, idempotency, all or nothing, opening balances in the ledger, tenancy, hostile files."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prepbase import importing
from prepbase.csv_export import BOM
from prepbase.models import (
    EntryKind,
    Family,
    ImportKind,
    ImportRun,
    LedgerEntry,
    OutboundEmail,
    Package,
    Student,
    User,
)
from prepbase.tenancy import as_tenant
from tests.test_races import in_tenant, load, run_threads

FAMILIES = (
    "Family name,Parent name,Parent email,Student first name,Student last name,Grade,School\r\n"
    "Rivera,Ana Rivera,ana@example.com,Leo,Rivera,8,Lincoln\r\n"
    "Rivera,Ana Rivera,ana@example.com,Mia,Rivera,5,Lincoln\r\n"
    ",Bo Chen,bo@example.com,Kai,Chen,,\r\n"
)
BALANCES = (
    "Parent email,Student first name,Student last name,Package name,Service,Total hours,"
    "Remaining hours\r\n"
    "ana@example.com,Leo,Rivera,Growth Package,Tutoring,24,20.5\r\n"
    "bo@example.com,Kai,Chen,,Counseling,10,\r\n"
)


def upload(client, business, kind: str, text: str | bytes, name: str = "people.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        business.url("/admin/settings/import"),
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def run_id_of(response) -> int:
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    return int(re.search(r"/settings/import/(\d+)", response.headers["Location"]).group(1))


def confirm(client, business, run_id: int, all_or_nothing: bool = False):
    data = {"all_or_nothing": "y"} if all_or_nothing else {}
    return client.post(business.url(f"/admin/settings/import/{run_id}/confirm"), data=data)


def do_import(client, business, kind: str, text: str) -> int:
    run_id = run_id_of(upload(client, business, kind, text))
    assert confirm(client, business, run_id).status_code in (302, 303)
    return run_id


def preview_text(client, business, kind: str, text: str | bytes) -> str:
    response = upload(client, business, kind, text)
    page = client.get(business.url(f"/admin/settings/import/{run_id_of(response)}"))
    assert page.status_code == 200
    return page.get_data(as_text=True)


def counts(db_session, business) -> tuple[int, int, int, int]:
    db_session.expire_all()
    with as_tenant(business.tenant.id):
        return (
            db_session.scalar(select(func.count(Family.id))),
            db_session.scalar(select(func.count(Student.id))),
            db_session.scalar(select(func.count(User.id))),
            db_session.scalar(select(func.count(Package.id))),
        )


@pytest.fixture
def admin(auth, business):
    auth.as_role(business, "admin")
    return business


# --- reading the file --------------------------------------------------------------------


def test_preview_writes_nothing_and_confirm_imports_families(client, admin, db_session):
    before = counts(db_session, admin)
    page = preview_text(client, admin, "families", FAMILIES)
    assert "New family Rivera" in page and "New student Leo Rivera" in page
    assert "Family of ana@example.com (earlier in this file)" in page
    assert counts(db_session, admin) == before
    do_import(client, admin, "families", FAMILIES)
    families, students, users, _ = counts(db_session, admin)
    assert (families, students, users) == (before[0] + 2, before[1] + 3, before[2] + 2)
    with as_tenant(admin.tenant.id):
        ana = db_session.scalar(select(User).where(User.email == "ana@example.com"))
        assert ana.role == "parent" and ana.password_hash is None
        assert sorted(s.first_name for s in ana.family.students) == ["Leo", "Mia"]
    # The import sends no invitation.
    with as_tenant(admin.tenant.id):
        assert not db_session.scalars(
            select(OutboundEmail).where(OutboundEmail.to_addr == "ana@example.com")
        ).all()


def test_same_file_twice_changes_nothing(client, admin, db_session):
    do_import(client, admin, "families", FAMILIES)
    do_import(client, admin, "balances", BALANCES)
    after_first = counts(db_session, admin)
    page = preview_text(client, admin, "families", FAMILIES)
    assert "Already here" in page and "Existing family Rivera" in page
    second = do_import(client, admin, "families", FAMILIES)
    do_import(client, admin, "balances", BALANCES)
    assert counts(db_session, admin) == after_first
    with as_tenant(admin.tenant.id):
        run = db_session.get(ImportRun, second)
        db_session.refresh(run)
        assert (run.rows_created, run.rows_unchanged, run.rows_refused) == (0, 3, 0)


def test_semicolon_and_bom_and_header_variants(client, admin, db_session):
    text = "\ufeffE-mail;Guardian;First Name;Last Name\r\nzoe@example.com;Zoe Park;Ian;Park\r\n"
    page = preview_text(client, admin, "families", text.encode("utf-8"))
    assert "New student Ian Park" in page
    assert "<td>E-mail</td><td>Parent email</td>" in page


def test_opening_balance_total_and_remaining_and_its_ledger(client, admin, db_session):
    do_import(client, admin, "families", FAMILIES)
    do_import(client, admin, "balances", BALANCES)
    with as_tenant(admin.tenant.id):
        growth = db_session.scalar(select(Package).where(Package.name == "Growth Package"))
        assert (growth.total_minutes, growth.remaining_minutes) == (24 * 60, 20 * 60 + 30)
        entries = db_session.scalars(
            select(LedgerEntry).where(LedgerEntry.package_id == growth.id).order_by(LedgerEntry.id)
        ).all()
        assert [(e.kind, e.minutes) for e in entries] == [
            (EntryKind.OPENING_BALANCE, 1440),
            (EntryKind.USED_BEFORE_IMPORT, -210),
        ]
        assert entries[0].note.startswith("imported on ")
        assert entries[0].note.endswith(f"by {admin.admin.name}")
        assert EntryKind(entries[0].kind).label == "Opening balance"
        counseling = db_session.scalar(select(Package).where(Package.name == "Counseling hours"))
        assert counseling.total_minutes == counseling.remaining_minutes == 600
    # The package page shows the kinds by name.
    page = client.get(admin.url(f"/admin/packages/{growth.id}")).get_data(as_text=True)
    assert "Opening balance" in page and "Used before import" in page


# --- refusals, one per rule ----------------------------------------------------------------

HEAD = "Parent name,Parent email,Student first name,Student last name\r\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",x@example.com,Al,X", "Parent name is missing."),
        ("Al X,not-an-email,Al,X", "is not a valid e-mail address"),
        ("=HYPERLINK(1),x@example.com,Al,X", "which a spreadsheet would run as a formula"),
        ("@SUM(A1),x@example.com,Al,X", "would run as a formula"),
        ("Al X,x@example.com,Al," + "Y" * 200, "Student last name is longer than 80"),
        ("Al X,owner@acme.example.com,Al,X", "already signs in here as admin"),
    ],
)
def test_family_row_refusals(client, admin, db_session, row, message):
    before = counts(db_session, admin)
    page = preview_text(client, admin, "families", HEAD + row + "\r\n")
    assert "Refused" in page and message in page.replace("&#34;", '"')
    run_id = do_import(client, admin, "families", HEAD + row + "\r\n")
    assert counts(db_session, admin) == before
    csv_page = client.get(admin.url(f"/admin/settings/import/{run_id}/refused.csv"))
    rows = list(csv.reader(io.StringIO(csv_page.get_data(as_text=True).lstrip(BOM))))
    assert rows[1][0] == "2" and message in rows[1][1]


def test_duplicate_within_the_file_is_refused(client, admin):
    page = preview_text(
        client, admin, "families", HEAD + "Al X,x@example.com,Al,X\r\nAl X,X@example.com,al,x\r\n"
    )
    assert "Duplicate of row 2" in page


@pytest.mark.parametrize(
    ("service", "total", "remaining", "message"),
    [
        ("Piano", "10", "", "Unknown service “Piano”"),
        ("Tutoring", "1.01", "", "Use whole minutes"),
        ("Tutoring", "10", "12", "Remaining hours are more than Total hours."),
        ("Tutoring", "-3", "", "would run as a formula"),
        ("Tutoring", "", "", "Total hours is missing."),
    ],
)
def test_balance_row_refusals(client, admin, db_session, service, total, remaining, message):
    do_import(client, admin, "families", FAMILIES)
    text = (
        "Parent email,Student first name,Student last name,Service,Total hours,Remaining hours\r\n"
        f"ana@example.com,Leo,Rivera,{service},{total},{remaining}\r\n"
    )
    page = preview_text(client, admin, "balances", text)
    assert message in page


def test_balance_for_an_unknown_family_or_student_is_refused(client, admin):
    do_import(client, admin, "families", FAMILIES)
    text = (
        "Parent email,Student first name,Student last name,Service,Total hours\r\n"
        "nobody@example.com,Leo,Rivera,Tutoring,5\r\n"
        "ana@example.com,Zed,Rivera,Tutoring,5\r\n"
    )
    page = preview_text(client, admin, "balances", text)
    assert "No family here has the parent e-mail nobody@example.com" in page
    assert "has no student Zed Rivera" in page


def test_staff_import_and_refusals(client, admin, db_session):
    text = (
        "Name,Email,Role,Services\r\n"
        "Sam Lee,sam@example.com,Tutor,Tutoring; Counseling\r\n"
        "Pat Poe,pat@example.com,Wizard,\r\n"
        "Kim Ko,kim@example.com,Tutor,Piano\r\n"
        "Tara Tutor,tara.tutor@acme.example.com,Tutor,Tutoring\r\n"
    )
    page = preview_text(client, admin, "staff", text)
    assert "Unknown role “Wizard”" in page and "Unknown service “Piano”" in page
    assert "Tara Tutor is already on your staff" in page
    do_import(client, admin, "staff", text)
    with as_tenant(admin.tenant.id):
        sam = db_session.scalar(select(User).where(User.email == "sam@example.com"))
        assert sam.role == "tutor" and [s.value for s in sam.services] == [
            "tutoring",
            "counseling",
        ]


def test_html_in_names_is_stored_as_text_and_escaped(client, admin, db_session):
    do_import(client, admin, "families", HEAD + "<b>Bad</b> X,x@example.com,<i>Al</i>,X\r\n")
    with as_tenant(admin.tenant.id):
        parent = db_session.scalar(select(User).where(User.email == "x@example.com"))
        assert parent.name == "<b>Bad</b> X"
        family_id = parent.family_id
    page = client.get(admin.url(f"/admin/families/{family_id}")).get_data(as_text=True)
    assert "&lt;b&gt;Bad&lt;/b&gt; X" in page and "<b>Bad</b>" not in page


# --- hostile files: a clear file-level message, never a 500, nothing written ----------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Parent name,Parent email\r\nA\x00,a@example.com\r\n", "NUL bytes"),
        (
            "Parent name,Parent email\r\nJosé,j@example.com\r\n".encode("cp1252"),
            "not saved as UTF-8",
        ),
        ("Parent name,Parent email\r\n".encode("utf-16"), "not saved as UTF-8"),
        (b"", "empty"),
        (b"Name only\r\nA\r\n", "no column for Parent name, Parent email"),
        (
            b"Parent name,Parent email\r\n" + b"x" * (1024 * 1024) + b",a@example.com\r\n",
            "cannot be read as CSV",
        ),
        (
            b"Parent name,Parent email\r\n" + b"A,a@example.com\r\n" * 10_001,
            "more than 10,000 rows",
        ),
    ],
)
def test_hostile_files_are_refused_whole(client, admin, db_session, data, message):
    before = counts(db_session, admin)
    response = upload(client, admin, "families", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(db_session, admin) == before
    with as_tenant(admin.tenant.id):
        assert db_session.scalar(select(func.count(ImportRun.id))) == 0


def test_a_file_over_5_mb_is_refused(client, admin):
    data = b"Parent name,Parent email\r\n" + b"A,a@example.com," + b"x" * (5 * 1024 * 1024)
    response = upload(client, admin, "families", data)
    assert response.status_code == 422
    assert "larger than 5 MB" in response.get_data(as_text=True)


def test_a_body_far_over_the_limit_is_a_413_page(client, admin):
    data = b"x" * (6 * 1024 * 1024)
    response = upload(client, admin, "families", data)
    assert response.status_code == 413
    assert "larger than 5 MB" in response.get_data(as_text=True)


def test_other_views_keep_the_small_body_limit(client, admin):
    response = client.post(admin.url("/admin/settings"), data={"name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


# --- confirm: once, all or nothing ----------------------------------------------------------


def test_confirm_twice_imports_once(client, admin, db_session):
    run_id = run_id_of(upload(client, admin, "families", FAMILIES))
    confirm(client, admin, run_id)
    after = counts(db_session, admin)
    response = confirm(client, admin, run_id)
    assert response.status_code in (302, 303)
    assert counts(db_session, admin) == after
    page = client.get(admin.url(f"/admin/settings/import/{run_id}")).get_data(as_text=True)
    assert "This file was imported already" in page


def test_all_or_nothing_writes_nothing_when_a_row_is_refused(client, admin, db_session):
    before = counts(db_session, admin)
    text = FAMILIES + "Bad,,x@example.com,Al,X\r\n"
    run_id = run_id_of(upload(client, admin, "families", text))
    confirm(client, admin, run_id, all_or_nothing=True)
    assert counts(db_session, admin) == before
    page = client.get(admin.url(f"/admin/settings/import/{run_id}")).get_data(as_text=True)
    assert "you chose all or nothing: nothing was imported" in page
    # Still a preview: the good rows alone can be imported after all.
    confirm(client, admin, run_id)
    assert counts(db_session, admin)[1] == before[1] + 3


# --- tenancy -------------------------------------------------------------------------------


def test_another_business_import_record_is_404(client, admin, other_business, auth):
    run_id = run_id_of(upload(client, admin, "families", FAMILIES))
    auth.logout(admin)
    auth.as_role(other_business, "admin")
    for path in (f"/{run_id}", f"/{run_id}/refused.csv"):
        response = client.get(other_business.url(f"/admin/settings/import{path}"))
        assert response.status_code == 404
    assert confirm(client, other_business, run_id).status_code == 404


def test_another_business_emails_are_new_here(client, admin, other_business, db_session):
    # The rival's parent e-mail: imported as a new family of this business, and the
    # rival's family is neither named nor touched.
    text = HEAD + f"Someone,{other_business.parent.email},Al,X\r\n"
    page = preview_text(client, admin, "families", text)
    assert "New family" in page and other_business.family.name not in page
    do_import(client, admin, "families", text)
    with as_tenant(other_business.tenant.id):
        assert db_session.scalar(select(func.count(Student.id))) == len(other_business.students)


def test_only_admins_import(client, auth, business):
    auth.as_role(business, "tutor")
    assert client.get(business.url("/admin/settings/import")).status_code in (403, 404)


# --- invitations ----------------------------------------------------------------------------


def test_send_invitations_to_imported_people_at_once(client, admin, db_session):
    do_import(client, admin, "families", FAMILIES)
    page = client.get(admin.url("/admin/settings/import")).get_data(as_text=True)
    assert "2 people added by an import have not been invited yet" in page
    client.post(admin.url("/admin/settings/import/invite"))
    with as_tenant(admin.tenant.id):
        sent = db_session.scalars(select(OutboundEmail.to_addr)).all()
    assert {"ana@example.com", "bo@example.com"} <= set(sent)
    page = client.get(admin.url("/admin/settings/import")).get_data(as_text=True)
    assert "Everyone imported has been invited." in page


def test_templates_download_and_read_back(client, admin):
    for kind in ImportKind:
        response = client.get(admin.url(f"/admin/settings/import/template.csv?kind={kind.value}"))
        assert response.status_code == 200
        header = next(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip(BOM))))
        mapping = importing.map_columns(kind, header)
        assert not mapping.missing(kind)
    assert client.get(admin.url("/admin/settings/import/template.csv?kind=x")).status_code == 404


# --- a race: two confirms of one preview at the same moment --------------------------------


def test_two_confirms_at_once_import_once(app, engine, committed):
    with app.app_context(), as_tenant(committed.tenant.id), Session(engine) as session:
        admin = load(session, User, committed.admin.id)
        tenant = session.get(type(committed.tenant), committed.tenant.id)
        run, _ = importing.preview_import(
            session, tenant, admin, ImportKind.FAMILIES, "f.csv", FAMILIES.encode()
        )
        session.commit()
        run_id = run.id

    def confirm_once(_i: int) -> str:
        def act(session: Session) -> str:
            tenant = session.get(type(committed.tenant), committed.tenant.id)
            importing.apply_import(
                session,
                tenant,
                load(session, User, committed.admin.id),
                load(session, ImportRun, run_id),
                all_or_nothing=False,
            )
            return "imported"

        with app.app_context():
            return in_tenant(engine, committed, act)

    results = run_threads(4, confirm_once)
    assert (
        sorted(results)
        == ["imported"]
        + ["refused: This file was imported already; nothing was imported again."] * 3
    ), results
    with as_tenant(committed.tenant.id), Session(engine) as session:
        assert (
            session.scalar(select(func.count(User.id)).where(User.email == "ana@example.com")) == 1
        )


def test_imported_people_read_not_invited_yet_until_invited(client, admin, db_session):
    do_import(client, admin, "families", FAMILIES)
    dashboard = client.get(admin.url("/admin/")).get_data(as_text=True)
    assert "2 people added by an import have not been invited yet" in dashboard
    assert "ana@example.com" not in dashboard  # not listed as invitations not accepted
    with as_tenant(admin.tenant.id):
        ana = db_session.scalar(select(User).where(User.email == "ana@example.com"))
    family = client.get(admin.url(f"/admin/families/{ana.family_id}")).get_data(as_text=True)
    assert "Not invited yet" in family and "Send invitation" in family
    client.post(admin.url(f"/admin/people/{ana.id}/resend-invite"))
    family = client.get(admin.url(f"/admin/families/{ana.family_id}")).get_data(as_text=True)
    assert "Not invited yet" not in family and "Resend invitation" in family


def test_htmx_upload_refusal_swaps_the_form_only(client, admin):
    response = client.post(
        admin.url("/admin/settings/import"),
        data={"kind": "families", "file": (io.BytesIO(b"\x00\x01"), "x.csv")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert body.lstrip().startswith('<form id="import-form"') and "NUL bytes" in body


def test_excel_sep_line_and_a_hostile_file_name(client, admin, db_session):
    text = "sep=;\r\nParent name;Parent email\r\nAl X;al@example.com\r\n"
    response = upload(client, admin, "families", text, name="a\x01<b>.csv")
    run_id = run_id_of(response)
    page = client.get(admin.url(f"/admin/settings/import/{run_id}")).get_data(as_text=True)
    assert "New parent Al X &lt;al@example.com&gt;" in page
    assert "Import: a&lt;b&gt;.csv" in page
